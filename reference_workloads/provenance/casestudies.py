"""Regenerate case studies: run each workload's recipe, then publish its results.

Each case study folder keeps a README rendered from its template and a generated
``results/`` folder (predictions, metrics, figures, manifest, event log, summary, drift
report and an RO-Crate describing the run), which is replaced as a whole so a reader never
sees a mix of two runs. The code version is read once, before anything is written.
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from reference_workloads.core.manifest import code_version
from reference_workloads.provenance.drift import AGREES, NEW
from reference_workloads.provenance.publish import publish
from reference_workloads.provenance.readme import render_case_study
from reference_workloads.registry import WORKLOADS

CASE_STUDIES: dict[str, str] = {"climate": "climate", "drug-discovery": "drug-discovery"}
DEFAULT_RECIPE = "laptop"
console = Console()


def drift_table(name: str, drift: dict[str, Any]) -> Table:
    against = drift["against"].get("identifier") or "nothing recorded"
    table = Table("number", "recorded", "regenerated", "tolerance", "verdict",
                  title=f"drift of {name} against {against}")
    for row in drift["rows"]:
        colour = "green" if row["status"] == AGREES else "yellow" if row["status"] == NEW else "red"
        table.add_row(row["number"], json.dumps(row["recorded"]), json.dumps(row["regenerated"]),
                      row["tolerance"], f"[{colour}]{row['status']}[/{colour}]")
    return table


def regenerate_one(name: str, *, runs_root: Path, dest_root: Path, recipe: str | None, version: str) -> Path:
    workload = CASE_STUDIES[name]
    recipe_name = recipe or DEFAULT_RECIPE
    pipeline = importlib.import_module(f"{WORKLOADS[workload]}.pipeline")
    run_dir = (runs_root / workload / recipe_name).resolve()
    pipeline.run(recipe_name, [], run_dir)
    recorded = load_summary(dest_root, name)
    target = dest_root / name / "results"
    summary = publish(run_dir, target, name=name, command=f"ai4s casestudies --only {name} --recipe {recipe_name}",
                      overrides=[], code_version=version, recorded=recorded)
    console.print(drift_table(name, summary["drift"]))
    return target


def regenerate(names: list[str], *, runs_root: Path, dest_root: Path, recipe: str | None = None) -> list[Path]:
    unknown = [n for n in names if n not in CASE_STUDIES]
    if unknown:
        raise KeyError(f"case study {unknown[0]!r} is unknown: expected one of {', '.join(CASE_STUDIES)}")
    version = code_version()
    written = [regenerate_one(n, runs_root=runs_root, dest_root=dest_root, recipe=recipe, version=version)
               for n in names]
    for name in names:  # after every run, so no study's run sees another's README rewritten
        render_case_study(dest_root / name)
    return written


def load_summary(dest_root: Path, name: str) -> dict[str, Any] | None:
    path = dest_root / name / "results" / "summary.json"
    return json.loads(path.read_text()) if path.exists() else None
