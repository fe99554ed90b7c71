"""Regenerate the case studies: run each workload's recipe, then publish its results.

Each case study folder keeps a hand-written README and a generated ``results/`` folder
(metrics, figures, manifest, event log, summary and an RO-Crate describing the run),
which is replaced as a whole so a reader never sees a mix of two runs.
"""

from __future__ import annotations

import importlib
import json
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from reference_workloads.core.atomic import atomic_dir, write_json
from reference_workloads.registry import WORKLOADS

from .provenance import write_crate

CASE_STUDIES: dict[str, str] = {"climate": "climate", "drug-discovery": "drug-discovery"}
DEFAULT_RECIPE = "laptop"
_SKIP_PARTS = {".stages", "checkpoints", "mlflow"}


def _published_files(run_dir: Path) -> list[Path]:
    """Files worth publishing: the manifest, logs, result tables and every figure."""
    picked = [run_dir / "manifest.json", run_dir / "events.log"]
    for path in sorted(run_dir.rglob("*")):
        if not path.is_file() or _SKIP_PARTS & set(path.relative_to(run_dir).parts):
            continue
        if path.suffix == ".png" or (path.suffix == ".json" and path.stem.startswith("results")):
            picked.append(path)
    return [p for p in picked if p.exists()]


def summarise(workload: str, run_dir: Path) -> dict[str, Any]:
    """The workload's own headline numbers, if it offers them."""
    try:
        module = importlib.import_module(f"{WORKLOADS[workload]}.summary")
    except ModuleNotFoundError:
        return {"results": [str(p.relative_to(run_dir)) for p in sorted(run_dir.rglob("results*.json"))]}
    return module.summarise(run_dir)


def regenerate_one(name: str, *, runs_root: Path, dest_root: Path, recipe: str | None) -> Path:
    workload = CASE_STUDIES[name]
    recipe_name = recipe or DEFAULT_RECIPE
    pipeline = importlib.import_module(f"{WORKLOADS[workload]}.pipeline")
    run_dir = (runs_root / workload / recipe_name).resolve()
    manifest = pipeline.run(recipe_name, [], run_dir)
    target = dest_root / name / "results"
    with atomic_dir(target) as staging:
        published = []
        for path in _published_files(run_dir):
            destination = staging / path.name
            if destination.exists():
                destination = staging / f"{path.parent.name}-{path.name}"
            shutil.copy2(path, destination)
            published.append(destination.name)
        summary = {
            "case_study": name,
            "workload": workload,
            "recipe": recipe_name,
            "regenerated": datetime.now(UTC).isoformat(timespec="seconds"),
            "command": f"ai4s casestudies --only {name} --recipe {recipe_name}",
            "hashes": {k: manifest[k] for k in ("dataset_hash", "model_hash", "config_hash")},
            "code_version": manifest["code_version"],
            "hardware": manifest["hardware"],
            "headline": summarise(workload, run_dir),
        }
        write_json(staging / "summary.json", summary)
        write_crate(staging, name=name, summary=summary, manifest=manifest, files=published)
    return target


def regenerate(names: list[str], *, runs_root: Path, dest_root: Path, recipe: str | None = None) -> list[Path]:
    unknown = [n for n in names if n not in CASE_STUDIES]
    if unknown:
        raise KeyError(f"case study {unknown[0]!r} is unknown: expected one of {', '.join(CASE_STUDIES)}")
    return [regenerate_one(n, runs_root=runs_root, dest_root=dest_root, recipe=recipe) for n in names]


def load_summary(dest_root: Path, name: str) -> dict[str, Any] | None:
    path = dest_root / name / "results" / "summary.json"
    return json.loads(path.read_text()) if path.exists() else None
