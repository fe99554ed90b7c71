"""Provenance: MLPerf-style event logs, run manifests and RO-Crates. Inputs are the
published case studies plus any run this conformance run made itself (the reproducibility
runs); with none of them the checks are skipped with the command that makes them."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from ..catalogue import load
from ..registry import Context, check, skipped, verdict
from .quality import regenerate_command
from .reproducibility import RUNS_CACHE

CRATE_FILE = "ro-crate-metadata.json"


def run_folders(context: Context) -> dict[str, Path]:
    """label -> folder holding manifest.json and events.log."""
    found = {f"casestudy:{p.parent.parent.name}": p.parent
             for p in sorted(context.casestudies_root.glob("*/results/summary.json"))}
    for i, run_dir in enumerate(context.cache.get(RUNS_CACHE, [])):
        found[f"conformance-run:{i + 1}"] = Path(run_dir)
    return found


def _nothing_to_inspect(context: Context, what: str) -> Any:
    return skipped(f"no {what} to inspect: no case study under {context.casestudies_root} and no "
                   f"run in this session; run `{regenerate_command('climate')}` or include "
                   "AI4S-REPRO-001")


def event_log_problems(records: list[dict[str, Any]], required: list[str]) -> list[str]:
    """Why an event log breaks the rules (empty: it follows them)."""
    keys = [r.get("key") for r in records]
    problems = [f"missing event {k!r}" for k in required if k not in keys]
    if "seed" in keys and "run_start" in keys and keys.index("seed") > keys.index("run_start"):
        problems.append("seed is logged after run_start")
    if any(r.get("key") == "seed" and r.get("value") is None for r in records):
        problems.append("a seed event carries no value")
    tally = Counter(keys)
    if tally["epoch_start"] != tally["epoch_stop"]:
        problems.append(f"{tally['epoch_start']} epoch_start but {tally['epoch_stop']} epoch_stop")
    stops = [r for r in records if r.get("key") == "run_stop"]
    if stops and (stops[-1].get("metadata") or {}).get("status") != "success":
        problems.append(f"last run_stop status is {(stops[-1].get('metadata') or {}).get('status')!r}")
    return problems


@check("AI4S-PROV-001")
def event_logs(context: Context) -> Any:
    from reference_workloads.core.eventlog import read_events

    required = list(load().get("AI4S-PROV-001").parameters["required_events"])
    logs = {label: folder / "events.log" for label, folder in run_folders(context).items()}
    if not logs:
        return _nothing_to_inspect(context, "event log")
    report = {}
    for label, path in logs.items():
        if not path.is_file():
            report[label] = {"problems": [f"no events.log in {path.parent}"]}
            continue
        records = read_events(path)
        seeds = [r.get("value") for r in records if r.get("key") == "seed"]
        report[label] = {"events": len(records), "seeds": seeds,
                         "epochs": sum(r.get("key") == "epoch_stop" for r in records),
                         "problems": event_log_problems(records, required)}
    bad = {k: v["problems"] for k, v in report.items() if v["problems"]}
    return verdict(not bad, f"{len(report)} event logs carry {', '.join(required)} in order",
                   f"event-log problems: {bad}", required_events=required, logs=report)


def manifest_problems(manifest: dict[str, Any], required: list[str]) -> list[str]:
    problems = [f"missing field {k!r}" for k in required if manifest.get(k) in (None, "", {}, [])]
    for key in ("dataset_hash", "model_hash", "config_hash"):
        value = manifest.get(key)
        if value and not (isinstance(value, str) and len(value) >= 16
                          and all(c in "0123456789abcdef" for c in value)):
            problems.append(f"{key} {value!r} is not a hex digest")
    return problems


@check("AI4S-PROV-002")
def manifests(context: Context) -> Any:
    required = list(load().get("AI4S-PROV-002").parameters["required_fields"])
    folders = run_folders(context)
    if not folders:
        return _nothing_to_inspect(context, "run manifest")
    report = {}
    for label, folder in folders.items():
        path = folder / "manifest.json"
        if not path.is_file():
            report[label] = {"problems": [f"no manifest.json in {folder}"]}
            continue
        manifest = json.loads(path.read_text(encoding="utf-8"))
        report[label] = {"problems": manifest_problems(manifest, required),
                         **{k: manifest.get(k) for k in ("dataset_hash", "model_hash", "code_version")}}
    bad = {k: v["problems"] for k, v in report.items() if v["problems"]}
    return verdict(not bad, f"{len(report)} manifests name {', '.join(required)}",
                   f"manifest problems: {bad}", required_fields=required, manifests=report)


def crate_problems(folder: Path) -> list[str]:
    """The crate must exist, list every published file under its root and describe the run."""
    path = folder / CRATE_FILE
    if not path.is_file():
        return [f"no {CRATE_FILE}"]
    graph = {e.get("@id"): e for e in json.loads(path.read_text(encoding="utf-8")).get("@graph", [])}
    root = graph.get("./") or {}
    parts = {p.get("@id") for p in root.get("hasPart") or []}
    published = {p.name for p in folder.iterdir() if p.is_file() and p.name != CRATE_FILE}
    problems = [f"{name} is not listed in the crate" for name in sorted(published - parts)]
    problems += [f"crate lists {name}, which is not there" for name in sorted(parts - published)]
    if not any(e.get("@type") == "CreateAction" for e in graph.values()):
        problems.append("no CreateAction describes the run")
    return problems


@check("AI4S-PROV-003")
def case_study_crates(context: Context) -> Any:
    folders = {k: v for k, v in run_folders(context).items() if k.startswith("casestudy:")}
    if not folders:
        return skipped(f"no published case study under {context.casestudies_root}; run "
                       "`ai4s casestudies`")
    report = {label: crate_problems(folder) for label, folder in folders.items()}
    bad = {k: v for k, v in report.items() if v}
    return verdict(not bad, f"{len(report)} case studies carry a complete RO-Crate",
                   f"RO-Crate problems: {bad}", crates=report)
