"""``ai4s rerun``: re-execute a published case study from its results folder alone.

The manifest in the folder carries the workload, the recipe name, the fully resolved
recipe, the seeds and the code version; the rerun rebuilds the same recipe (the named one
plus the overrides that turn it into the resolved one), runs it into a fresh folder and
compares the dataset and model hashes, which on CPU must agree bitwise.
"""

from __future__ import annotations

import importlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..core.manifest import code_version
from ..core.recipes import RecipeError, config_hash, recipe_dict
from ..registry import WORKLOADS
from .verify import results_folder

COMPARED = ("config_hash", "seeds", "dataset_hash", "model_hash")


@dataclass(frozen=True, slots=True)
class RerunReport:
    run_dir: Path
    recorded: dict[str, Any]
    reproduced: dict[str, Any]
    warnings: list[str] = field(default_factory=list)

    @property
    def differences(self) -> list[str]:
        return [f"{key}: crate {self.recorded.get(key)}, rerun {self.reproduced.get(key)}"
                for key in COMPARED if self.recorded.get(key) != self.reproduced.get(key)]

    @property
    def bitwise(self) -> bool:
        return not self.differences


def _leaves(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict):
        return {k: v for key, item in value.items() for k, v in _leaves(item, f"{prefix}{key}.").items()}
    return {prefix[:-1]: value}


def _text(value: Any) -> str:
    if isinstance(value, list | tuple):
        return ",".join(_text(v) for v in value)
    return "none" if value is None else str(value).lower() if isinstance(value, bool) else str(value)


def overrides_for(book: Any, recipe_name: str, resolved: dict[str, Any]) -> list[str]:
    """The ``field=value`` overrides that turn the named recipe into ``resolved``; the result
    must hash like ``resolved``, or the recipe cannot be rebuilt and the rerun stops."""
    named = _leaves(recipe_dict(book.get(recipe_name)))
    wanted = _leaves(resolved)
    unknown = sorted(set(wanted) - set(named))
    if unknown:
        raise RecipeError(f"recipe field {unknown[0]!r} of the crate is unknown to this code version")
    overrides = [f"{key}={_text(value)}" for key, value in sorted(wanted.items()) if named[key] != value]
    rebuilt = book.get(recipe_name, overrides)
    if _leaves(recipe_dict(rebuilt)) != wanted:
        raise RecipeError(f"the crate's resolved recipe cannot be rebuilt from {recipe_name!r} and overrides "
                          f"{overrides}")
    return overrides


def rerun(crate: Path, out_dir: Path) -> RerunReport:
    folder = results_folder(crate)
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    workload = manifest["workload"]
    package = WORKLOADS[workload]
    book = importlib.import_module(f"{package}.recipes").book
    overrides = overrides_for(book, manifest["recipe_name"], manifest["recipe"])
    rebuilt = book.get(manifest["recipe_name"], overrides)
    if config_hash(rebuilt) != manifest["config_hash"]:
        raise RecipeError(f"rebuilt recipe hashes to {config_hash(rebuilt)}, the crate's to {manifest['config_hash']}")
    warnings = []
    current = code_version()
    if current != manifest["code_version"]:
        warnings.append(f"code version {current} differs from the crate's {manifest['code_version']}: "
                        "hashes may differ for that reason alone")
    pipeline = importlib.import_module(f"{package}.pipeline")
    reproduced = pipeline.run(manifest["recipe_name"], overrides, out_dir)
    return RerunReport(run_dir=Path(out_dir), recorded={k: manifest.get(k) for k in COMPARED},
                       reproduced={k: reproduced.get(k) for k in COMPARED}, warnings=warnings)
