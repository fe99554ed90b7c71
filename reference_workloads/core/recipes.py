"""Recipes: frozen dataclasses, validated on construction, overridable from the CLI."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
import types
import typing
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

R = TypeVar("R")


class RecipeError(ValueError):
    """A recipe or override names an unknown field or carries a value outside its range."""


def require(condition: bool, field: str, allowed: str, value: Any) -> None:
    """Raise a one-line RecipeError naming ``field`` and what it accepts unless ``condition``."""
    if not condition:
        raise RecipeError(f"{field}={value!r} is invalid: expected {allowed}")


def recipe_dict(recipe: Any) -> dict[str, Any]:
    """The recipe as plain JSON-ready data (nested dataclasses become dicts).

    Pod sizes (``StageResources``) are left out: they say where a stage runs on a cluster,
    never what it computes, so neither the config hash, a stage key nor a manifest's
    recipe changes with them (and crates written before they existed still rebuild)."""
    return _plain(recipe)


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)
                if not isinstance(getattr(value, f.name), StageResources)}
    if isinstance(value, (list, tuple)):
        return type(value)(_plain(v) for v in value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def config_hash(recipe: Any) -> str:
    """sha256 of the recipe's canonical JSON: equal recipes give equal hashes."""
    blob = json.dumps(recipe_dict(recipe), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()


def _field_names(obj: Any) -> list[str]:
    return [f.name for f in dataclasses.fields(obj)]


def _coerce(text: str, annotation: Any, field: str) -> Any:
    """Turn the text of an override into a value of the field's declared type."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(annotation) if a is not type(None)]
        if text.lower() in ("none", "null"):
            return None
        return _coerce(text, options[0], field)
    if origin is typing.Literal:
        choices = typing.get_args(annotation)
        require(text in choices, field, f"one of {', '.join(map(str, choices))}", text)
        return text
    if origin in (tuple, list):
        inner = typing.get_args(annotation)[0] if typing.get_args(annotation) else str
        items = [p for p in text.strip("()[]").split(",") if p.strip()]
        return tuple(_coerce(p.strip(), inner, field) for p in items)
    if annotation is bool:
        lowered = text.lower()
        require(lowered in ("true", "false", "1", "0"), field, "true or false", text)
        return lowered in ("true", "1")
    if annotation in (int, float):
        try:
            return annotation(text)
        except ValueError:
            raise RecipeError(
                f"{field}={text!r} is invalid: expected a number of type {annotation.__name__}"
            ) from None
    return text


def _replace_path(obj: Any, path: list[str], text: str, full: str) -> Any:
    names = _field_names(obj)
    head = path[0]
    if head not in names:
        raise RecipeError(
            f"unknown field {full!r}: valid fields here are {', '.join(names)}"
        )
    hints = typing.get_type_hints(type(obj))
    current = getattr(obj, head)
    if len(path) == 1:
        if dataclasses.is_dataclass(current):
            raise RecipeError(f"{full!r} is a section; set one of its fields, e.g. {full}.{_field_names(current)[0]}=...")
        value = _coerce(text, hints[head], full)
    else:
        if not dataclasses.is_dataclass(current):
            raise RecipeError(f"unknown field {full!r}: {'.'.join(path[:1])} has no sub-fields")
        value = _replace_path(current, path[1:], text, full)
        return dataclasses.replace(obj, **{head: value})
    try:
        return dataclasses.replace(obj, **{head: value})
    except RecipeError as error:
        raise RecipeError(_qualify(str(error), full[: -len(head)], names)) from None


def _qualify(message: str, prefix: str, names: list[str]) -> str:
    """Prefix a field named at the start of ``message`` with its section, e.g. ``simulation.``."""
    first = message.split("=", 1)[0]
    return prefix + message if prefix and first in names else message


def apply_overrides(recipe: R, overrides: Iterable[str]) -> R:
    """Apply ``section.field=value`` overrides; the result is validated like any recipe."""
    for item in overrides:
        if "=" not in item:
            raise RecipeError(f"override {item!r} is invalid: expected the form field.path=value")
        key, text = item.split("=", 1)
        recipe = _replace_path(recipe, key.strip().split("."), text.strip(), key.strip())
    return recipe


class RecipeBook:
    """The named recipes of one workload; names say the hardware they were sized for."""

    def __init__(self, workload: str) -> None:
        self.workload = workload
        self._makers: dict[str, Callable[[], Any]] = {}

    def register(self, maker: Callable[[], R]) -> Callable[[], R]:
        self._makers[maker.__name__] = maker
        return maker

    def names(self) -> list[str]:
        return sorted(self._makers)

    def describe(self) -> dict[str, str]:
        return {name: (self._makers[name].__doc__ or "").strip().splitlines()[0] for name in self.names()}

    def get(self, name: str, overrides: Iterable[str] = ()) -> Any:
        if name not in self._makers:
            raise RecipeError(
                f"recipe={name!r} is invalid: expected one of {', '.join(self.names())} "
                f"for workload {self.workload}"
            )
        return apply_overrides(self._makers[name](), overrides)


@dataclasses.dataclass(kw_only=True, frozen=True, slots=True)
class RepeatConfig:
    """Seeded repetitions of training and evaluation, so headlines come with intervals."""

    seeds: int = 5
    """Independent training seeds (>= 1); the first is the recipe's own seed."""
    margin: float = 0.0
    """Minimum relative improvement over the baseline that a 'beats' claim needs (in [0, 1))."""

    def __post_init__(self) -> None:
        require(isinstance(self.seeds, int) and 1 <= self.seeds <= 1000, "repeats.seeds",
                "an integer in [1, 1000]", self.seeds)
        require(0.0 <= self.margin < 1.0, "repeats.margin", "a number in [0, 1)", self.margin)


def repetition_seeds(base: int, n: int) -> list[int]:
    """``n`` distinct seeds derived from ``base``: the first is ``base`` itself.

    Derived by hashing (base, index), so the seeds of two repetitions never coincide by
    arithmetic accident, and a recipe's seeds are a function of its own seed alone.
    """
    seeds = [base]
    index = 1
    while len(seeds) < n:
        digest = hashlib.sha256(f"ai4s-repeat:{base}:{index}".encode()).digest()
        candidate = int.from_bytes(digest[:4], "big") % (2**31 - 1)
        if candidate not in seeds:
            seeds.append(candidate)
        index += 1
    return seeds


MIG_PROFILE = re.compile(r"^[1-7]g\.[0-9]+gb$")
"""NVIDIA MIG profile names as the GPU operator's mixed strategy exposes them (``1g.10gb``)."""


@dataclasses.dataclass(kw_only=True, frozen=True, slots=True)
class StageResources:
    """What one stage's pods request on a cluster; read by the platform render, never by a stage."""

    cpu: float
    """CPU cores per pod (> 0)."""
    memory_gib: float
    """Memory per pod in GiB (> 0)."""
    gpus: int = 0
    """Whole GPUs per pod (>= 0)."""
    mig_profile: str | None = None
    """A MIG slice instead of whole GPUs, e.g. ``1g.10gb`` (then gpus must be 0)."""
    ranks: int = 1
    """Pods of the stage (MPI ranks or training nodes, >= 1)."""

    def __post_init__(self) -> None:
        require(self.cpu > 0, "cpu", "a number > 0", self.cpu)
        require(self.memory_gib > 0, "memory_gib", "a number > 0", self.memory_gib)
        require(isinstance(self.gpus, int) and self.gpus >= 0, "gpus", "an integer >= 0", self.gpus)
        require(self.mig_profile is None or bool(MIG_PROFILE.match(self.mig_profile)), "mig_profile",
                "none or a MIG profile such as 1g.10gb", self.mig_profile)
        require(self.mig_profile is None or self.gpus == 0, "gpus",
                "0 when mig_profile is set (a MIG slice replaces a whole GPU)", self.gpus)
        require(isinstance(self.ranks, int) and self.ranks >= 1, "ranks", "an integer >= 1", self.ranks)


def stage_resources(recipe: Any) -> dict[str, StageResources]:
    """Stage name -> its pod sizes, read from the recipe's ``resources`` section."""
    section = recipe.resources
    return {f.name: getattr(section, f.name) for f in dataclasses.fields(section)
            if isinstance(getattr(section, f.name), StageResources)}
