import dataclasses
from typing import Literal

import pytest

from reference_workloads.core.recipes import (
    RecipeBook,
    RecipeError,
    apply_overrides,
    config_hash,
    require,
)


@dataclasses.dataclass(kw_only=True, frozen=True, slots=True)
class Inner:
    size: int = 4
    rate: float = 0.5
    flag: bool = False
    mode: Literal["a", "b"] = "a"

    def __post_init__(self) -> None:
        require(self.size > 0, "size", "an integer > 0", self.size)


@dataclasses.dataclass(kw_only=True, frozen=True, slots=True)
class Outer:
    inner: Inner = Inner()
    name: str = "x"


def test_overrides_are_typed_and_nested():
    recipe = apply_overrides(Outer(), ["inner.size=8", "inner.rate=0.25", "inner.flag=true", "inner.mode=b", "name=y"])
    assert recipe == Outer(inner=Inner(size=8, rate=0.25, flag=True, mode="b"), name="y")


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("inner.size=-1", "inner.size=-1 is invalid: expected an integer > 0"),
        ("inner.size=abc", "inner.size='abc' is invalid: expected a number of type int"),
        ("inner.mode=c", "inner.mode='c' is invalid: expected one of a, b"),
        ("inner.nope=1", "unknown field 'inner.nope': valid fields here are size, rate, flag, mode"),
        ("bogus=1", "unknown field 'bogus': valid fields here are inner, name"),
        ("inner=3", "'inner' is a section"),
        ("no-equals", "expected the form field.path=value"),
    ],
)
def test_bad_overrides_fail_with_one_line_naming_the_field(override, message):
    with pytest.raises(RecipeError) as error:
        apply_overrides(Outer(), [override])
    assert message in str(error.value)
    assert "\n" not in str(error.value)


def test_config_hash_is_stable_and_sensitive():
    assert config_hash(Outer()) == config_hash(Outer())
    assert config_hash(Outer()) != config_hash(apply_overrides(Outer(), ["inner.size=5"]))


def test_recipe_book_lists_names_on_unknown_recipe():
    book = RecipeBook("demo")

    @book.register
    def small() -> Outer:
        """Small."""
        return Outer()

    assert book.get("small", ["name=z"]).name == "z"
    assert book.describe() == {"small": "Small."}
    with pytest.raises(RecipeError, match="recipe='huge' is invalid: expected one of small"):
        book.get("huge")
