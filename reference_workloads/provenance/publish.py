"""Publish a run folder as a results folder: the workload's result files with local paths
made relative, a summary whose headline is recomputed from the published predictions, a
content identifier, and the RO-Crate."""

from __future__ import annotations

import hashlib
import importlib
import json
import re
import shutil
import sys
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import yaml

from ..core.atomic import atomic_dir, write_json
from ..core.hashing import sha256_file
from ..registry import WORKLOADS
from .crate import CRATE_FILE, README_FILE, WORKFLOW_FILE, write_crate
from .drift import drift_report
from .paths import relative_text, relative_to_run

SUMMARY_FILE = "summary.json"
DRIFT_FILE = "drift.json"
CONTRIBUTORS_FILE = Path(__file__).resolve().parents[2] / "CITATION.cff"
# files whose bytes are not the result: the description of the result set, and the run's
# clock (event log, manifest: timestamps, host); the identifier leaves them out
_NOT_IDENTIFYING = {SUMMARY_FILE, DRIFT_FILE, CRATE_FILE, WORKFLOW_FILE, README_FILE, "events.log", "manifest.json"}
_TEXT_SUFFIXES = {".json", ".log", ".txt", ".md", ".csv"}


def summary_module(workload: str) -> ModuleType:
    if workload not in WORKLOADS:
        raise KeyError(f"workload={workload!r} is invalid: expected one of {', '.join(WORKLOADS)}")
    return importlib.import_module(f"{WORKLOADS[workload]}.summary")


def result_identifier(folder: Path, workload: str, manifest: dict[str, Any]) -> str:
    """A stable name for the result set: a hash over the config, dataset and model hashes and
    the sorted (file, content sha256) of the result files; recomputing the same result gives the
    same name, whatever the clock read meanwhile (clock readings are left out of JSON files)."""
    files = sorted((p.name, _content_sha256(p)) for p in folder.iterdir()
                   if p.is_file() and p.name not in _NOT_IDENTIFYING)
    blob = json.dumps({"workload": workload, "files": files,
                       **{k: manifest[k] for k in ("config_hash", "dataset_hash", "model_hash")}},
                      sort_keys=True, separators=(",", ":"))
    return f"ai4s:{workload}:{hashlib.sha256(blob.encode()).hexdigest()[:32]}"


# Clock readings inside result files (an epoch's seconds, a stage's throughput): they differ on
# every recompute of the same result, so the identifier hashes JSON files without them.
_CLOCK_KEY = re.compile(r"(^|_)seconds$|_per_second$")


def _without_clock(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_clock(v) for k, v in value.items() if not _CLOCK_KEY.search(k)}
    if isinstance(value, list):
        return [_without_clock(v) for v in value]
    return value


def _content_sha256(path: Path) -> str:
    """sha256 of a result file's content; for JSON, of its canonical form without clock readings."""
    if path.suffix != ".json":
        return sha256_file(path)
    content = _without_clock(json.loads(path.read_text(encoding="utf-8")))
    return hashlib.sha256(json.dumps(content, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def contributors(citation_file: Path = CONTRIBUTORS_FILE) -> dict[str, str]:
    """The kit's authors as CITATION.cff names them: the agent of every published run.

    An installed kit has no source tree, hence no CITATION.cff: the package metadata, which
    pyproject.toml fills with the same author, answers instead.
    """
    if not citation_file.is_file():
        return _installed_author()
    citation = yaml.safe_load(citation_file.read_text(encoding="utf-8"))
    author = citation["authors"][0]
    name = author.get("name") or " ".join(filter(None, (author.get("given-names"), author.get("family-names"))))
    url = author.get("website") or (f"mailto:{author['email']}" if author.get("email") else citation.get("url"))
    return {"name": name, "url": url or "https://citation-file-format.github.io/"}


def _installed_author() -> dict[str, str]:
    from email.utils import getaddresses
    from importlib import metadata

    addresses = getaddresses(metadata.metadata("ai4s-kit").get_all("Author-email") or [])
    if not addresses:
        raise RuntimeError("no CITATION.cff next to the kit and no Author-email in its package metadata: "
                           "reinstall ai4s-kit from its pyproject.toml")
    name, email = addresses[0]
    return {"name": name, "url": f"mailto:{email}"}


def _copy(source: Path, destination: Path, run_dir: Path) -> None:
    if source.suffix in _TEXT_SUFFIXES:
        destination.write_text(relative_text(source.read_text(encoding="utf-8"), run_dir), encoding="utf-8")
    else:
        shutil.copyfile(source, destination)


def _iso(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).isoformat(timespec="seconds")


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list | tuple):
        return [s for v in value for s in _strings(v)]
    return []


def stage_records(run_dir: Path, published: dict[str, str], artifacts: dict[str, str]) -> list[dict[str, Any]]:
    """One record per ``.stages/*.json`` marker, in the order the stages finished: times,
    the stage's key, and which published files and artifact hashes it produced."""
    markers = sorted((run_dir / ".stages").glob("*.json"), key=lambda p: p.stat().st_mtime)
    # a stage may read anything made before it: its objects are the recipe and every earlier result
    records, previous = [], ["#input-recipe"]
    for marker in markers:
        record = json.loads(marker.read_text(encoding="utf-8"))
        strings = set(_strings(record.get("result")))
        mentioned = {(run_dir / s).resolve() for s in strings}  # absolute or run-folder-relative paths
        result = [name for run_path, name in published.items()
                  if (run_dir / run_path).resolve() in mentioned and name != "manifest.json"]
        result += [f"#{key}" for key, value in artifacts.items() if value in strings]
        end = marker.stat().st_mtime
        records.append({"name": record.get("stage", marker.stem), "inputs_hash": record.get("inputs_hash", ""),
                        "seconds": float(record.get("seconds", 0.0)), "start": _iso(end - record.get("seconds", 0.0)),
                        "end": _iso(end), "object": previous,
                        "result": result, "summary": relative_to_run(record.get("result"), run_dir)})
        previous = [*previous, *result]
    return records


def results_readme(summary: dict[str, Any]) -> str:
    """The README of a results folder: what it is, where it came from, and how to cite it."""
    return (
        f"# Results: {summary['case_study']} ({summary['recipe']})\n\n"
        f"Generated by `{summary['command']}` at code version `{summary['code_version']}`; do not edit.\n"
        f"`ai4s verify` checks every file against `ro-crate-metadata.json` and recomputes the headline in\n"
        f"`summary.json` from the published predictions; `ai4s rerun` re-executes the run.\n\n"
        f"Identifier: `{summary['identifier']}`\n"
    )


def publish(run_dir: Path, target: Path, *, name: str, command: str, overrides: list[str],
            code_version: str, regenerated: str | None = None,
            recorded: dict[str, Any] | None = None) -> dict[str, Any]:
    """Replace ``target`` with the published results of ``run_dir``; returns the summary,
    with the drift report against ``recorded`` (the summary being replaced) under ``drift``."""
    run_dir = Path(run_dir).resolve()
    manifest = json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))
    workload = manifest["workload"]
    module = summary_module(workload)
    wanted = module.published(manifest)
    missing = [p for p in wanted if not (run_dir / p).exists()]
    if missing:
        # e.g. a run folder whose evaluate stage ran before it wrote the predictions
        raise FileNotFoundError(f"run folder {run_dir} lacks {', '.join(missing)}: expected every file of "
                                f"{workload}'s summary.published(); rerun the stage that writes it")
    published = dict(wanted)
    with atomic_dir(target) as staging:
        for run_path, published_name in published.items():
            _copy(run_dir / run_path, staging / published_name, run_dir)
        headline = module.headline(staging)
        identifier = result_identifier(staging, workload, manifest)
        hashes = {k: manifest[k] for k in ("dataset_hash", "model_hash", "config_hash")}
        summary = {
            "case_study": name, "workload": workload, "recipe": manifest["recipe_name"], "overrides": overrides,
            "regenerated": regenerated or datetime.now(UTC).isoformat(timespec="seconds"),
            "command": command, "hashes": hashes, "code_version": code_version,
            "run_code_version": manifest["code_version"], "hardware": manifest["hardware"],
            "identifier": identifier, "headline": headline, "tolerances": module.TOLERANCES,
        }
        write_json(staging / SUMMARY_FILE, summary)
        drift = drift_report(recorded, headline, module.TOLERANCES)
        write_json(staging / DRIFT_FILE, drift)
        artifacts = {k: v for k, v in manifest.items() if k.endswith("_hash") and isinstance(v, str)}
        stages = stage_records(run_dir, published, artifacts)
        files = sorted(p.name for p in staging.iterdir() if p.is_file())
        run = {
            "title": f"ai4s-kit case study: {name}", "identifier": identifier, "command": command,
            "description": (f"{workload} recipe {manifest['recipe_name']} (config {hashes['config_hash'][:12]}), "
                            f"dataset {hashes['dataset_hash'][:12]}, model {hashes['model_hash'][:12]}, seeds "
                            f"{manifest['seeds']}, world size {manifest['world_size']}, on "
                            f"{manifest['hardware'].get('cpu')} x{manifest['hardware'].get('cores')}"),
            "workflow_name": f"{WORKLOADS[workload]}.pipeline", "code_version": manifest["code_version"],
            "kit_version": manifest.get("packages", {}).get("ai4s-kit", "unknown"),
            "python": manifest["hardware"].get("python") or sys.version.split()[0],
            "packages": manifest.get("packages", {}), "agent": contributors(),
            "start": min((s["start"] for s in stages), default=summary["regenerated"]),
            "end": max((s["end"] for s in stages), default=summary["regenerated"]),
            "inputs": {"recipe": manifest["recipe_name"], "overrides": overrides,
                       "resolved_recipe": manifest["recipe"],
                       **{f"seed_{k}": v for k, v in manifest["seeds"].items()}},
            "artifacts": artifacts, "stages": stages,
            "image": manifest.get("image") or {},
            "workflow": {"workload": workload, "entrypoint": f"{WORKLOADS[workload]}.pipeline:run",
                         "code_version": manifest["code_version"],
                         "stages": [{k: s[k] for k in ("name", "inputs_hash", "seconds")} for s in stages]},
        }
        write_crate(staging, run=run, files=files, readme=results_readme(summary))
    return {**summary, "drift": drift}
