"""Provenance: MLPerf-style event logs, run manifests and RO-Crates. Inputs are the
published case studies plus any run this conformance run made itself (the reproducibility
runs); with none of them the checks are skipped with the command that makes them."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from ..catalogue import load
from ..registry import Context, check, failed, skipped, verdict
from .casestudy import published, regenerate_command, verify_problems
from .reproducibility import RUNS_CACHE

CRATE_FILE = "ro-crate-metadata.json"


def run_folders(context: Context) -> dict[str, Path]:
    """label -> folder holding manifest.json and events.log."""
    found = {f"casestudy:{name}": folder for name, folder in published(context).items()}
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
        elif value and len(set(value)) == 1:
            # a digest of one repeated digit is a placeholder, not the hash of any content
            problems.append(f"{key} {value!r} is a placeholder, not a digest")
    return problems


def content_problems(context: Context, label: str, folder: Path) -> list[str]:
    """For a published case study, what `ai4s verify` says about the manifest against the
    content (its checksum in the crate, and every file that names one of its hashes)."""
    if not label.startswith("casestudy:"):
        return []
    return [p for p in verify_problems(context, folder) if "manifest" in p]


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
        report[label] = {"problems": manifest_problems(manifest, required)
                         + content_problems(context, label, folder),
                         **{k: manifest.get(k) for k in ("dataset_hash", "model_hash", "code_version")}}
    bad = {k: v["problems"] for k, v in report.items() if v["problems"]}
    return verdict(not bad, f"{len(report)} manifests name {', '.join(required)}",
                   f"manifest problems: {bad}", required_fields=required, manifests=report)


def crate_problems(folder: Path) -> list[str]:
    """The crate must exist, list every published file under its root with the checksum and
    size the file has, and describe the run."""
    from reference_workloads.provenance.verify import file_problems

    path = folder / CRATE_FILE
    if not path.is_file():
        return [f"no {CRATE_FILE}"]
    graph = {e.get("@id"): e for e in json.loads(path.read_text(encoding="utf-8")).get("@graph", [])}
    root = graph.get("./") or {}
    parts = {p.get("@id") for p in root.get("hasPart") or []}
    files = {p.name for p in folder.iterdir() if p.is_file() and p.name != CRATE_FILE}
    problems = [f"{name} is not listed in the crate" for name in sorted(files - parts)]
    problems += [f"crate lists {name}, which is not there" for name in sorted(parts - files)]
    problems += [p for p in file_problems(folder, graph) if "published but not listed" not in p]
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


@check("AI4S-PROV-004")
def case_studies_verify(context: Context) -> Any:
    folders = published(context)
    if not folders:
        return skipped(f"no published case study under {context.casestudies_root}; run "
                       "`ai4s casestudies`")
    report: dict[str, list[str]] = {}
    for name, folder in folders.items():
        if not (folder / CRATE_FILE).is_file():
            report[name] = [f"no {CRATE_FILE}: nothing to verify against"]
            continue
        try:
            report[name] = verify_problems(context, folder)
        except (KeyError, OSError, ValueError) as err:
            return failed(f"{name}: `ai4s verify` cannot read the results: {type(err).__name__}: {err}")
    bad = {k: v for k, v in report.items() if v}
    return verdict(not bad, f"{len(report)} case studies verify from their crates "
                   "(checksums, manifest against content, headline recomputed)",
                   f"`ai4s verify` problems: {bad}", problems=report,
                   command="ai4s verify casestudies/<name>/results")
