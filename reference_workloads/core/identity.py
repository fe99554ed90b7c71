"""What names a stage's work: the recipe fields it reads, seen through a view that refuses the rest.

A stage declares the recipe fields it reads (``"simulation"`` for a whole section,
``"train.seed"`` for one field, ``"*"`` for everything). Its key hashes exactly those values,
so the key is complete only if the stage reads nothing else: the stage function is handed a
``RecipeView`` that raises ``UndeclaredRead`` on any other field, which turns a forgotten
declaration into an error at the first run instead of a silently reused result.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator
from typing import Any

from .recipes import StageResources, recipe_dict

WHOLE_RECIPE = "*"


class UndeclaredRead(AttributeError):
    """A stage read a recipe field it did not declare, so its cache key would not cover it."""


def _covers(declared: str, path: str) -> bool:
    """True when reading ``path`` is allowed by the declared path (itself or a parent)."""
    return declared == WHOLE_RECIPE or path == declared or path.startswith(declared + ".")


def _leads_to(declared: str, path: str) -> bool:
    """True when ``path`` is a section on the way to a declared field."""
    return declared.startswith(path + ".")


class RecipeView:
    """Attribute access to the declared part of a recipe; anything else raises ``UndeclaredRead``."""

    __slots__ = ("_value", "_reads", "_prefix", "_stage")

    def __init__(self, value: Any, reads: Iterable[str], *, stage: str, prefix: str = "") -> None:
        self._value = value
        self._reads = tuple(reads)
        self._prefix = prefix
        self._stage = stage

    def __getattr__(self, name: str) -> Any:
        path = f"{self._prefix}{name}"
        if any(_covers(d, path) for d in self._reads):
            return getattr(self._value, name)
        if any(_leads_to(d, path) for d in self._reads):
            return RecipeView(getattr(self._value, name), self._reads, stage=self._stage, prefix=path + ".")
        raise UndeclaredRead(
            f"stage {self._stage!r} read recipe field {path!r}, which it does not declare: "
            f"add it to the stage's reads ({', '.join(self._reads) or 'none'})"
        )

    def whole(self) -> Any:
        """The recipe itself, for a stage that declares it reads all of it (``*``)."""
        if WHOLE_RECIPE not in self._reads or self._prefix:
            raise UndeclaredRead(f"stage {self._stage!r} asked for the whole recipe, which it does not declare ('*')")
        return self._value

    def declared(self) -> dict[str, Any]:
        """The declared fields as plain data: what a stage hands to a subprocess."""
        if self._prefix:
            raise UndeclaredRead(f"stage {self._stage!r}: declared() is only offered on the recipe's root")
        return project(self._value, self._reads)

    def __repr__(self) -> str:
        return f"RecipeView({self._stage}: {', '.join(self._reads)})"


def project(recipe: Any, reads: Iterable[str]) -> dict[str, Any]:
    """The declared fields of ``recipe`` as nested plain data: what the stage's key hashes."""
    reads = tuple(reads)
    if WHOLE_RECIPE in reads:
        return recipe_dict(recipe)
    out: dict[str, Any] = {}
    for path in sorted(set(reads)):
        value: Any = recipe
        node = out
        parts = path.split(".")
        for part in parts[:-1]:
            value = getattr(value, part)
            node = node.setdefault(part, {})
        value = getattr(value, parts[-1])
        node[parts[-1]] = recipe_dict(value) if dataclasses.is_dataclass(value) else value
    return out


def leaf_fields(recipe: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """Every leaf field of a recipe tree as (dotted path, value), for property tests."""
    for field in dataclasses.fields(recipe):
        value = getattr(recipe, field.name)
        path = f"{prefix}{field.name}"
        if dataclasses.is_dataclass(value):
            yield from leaf_fields(value, path + ".")
        else:
            yield path, value


def sizing_fields(recipe: Any) -> set[str]:
    """Leaf paths under a ``StageResources``: pod sizes, which no stage key hashes."""
    found: set[str] = set()

    def walk(node: Any, prefix: str, inside: bool) -> None:
        for field in dataclasses.fields(node):
            value, path = getattr(node, field.name), f"{prefix}{field.name}"
            if dataclasses.is_dataclass(value):
                walk(value, path + ".", inside or isinstance(value, StageResources))
            elif inside:
                found.add(path)

    walk(recipe, "", False)
    return found


def reads_field(reads: Iterable[str], path: str) -> bool:
    """Whether a stage that declares ``reads`` depends on the leaf field ``path``."""
    return any(_covers(d, path) for d in reads)
