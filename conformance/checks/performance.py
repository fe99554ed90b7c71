"""Performance, statistical: each AI4S-PERF requirement's target (catalogue.yaml) compared
with the bench's measurement in bench/results.json (`nox -s bench`), never with a number
typed here. A result counts only when it was measured on the same code version and the
same machine as this run; otherwise, or without a result, the requirement is `unknown`
with the reason. The bench's own `met` is evidence, not the verdict: the target is applied
here. On a GPU the figure is absolute, so the device must be named and the result must
carry a statistical band (an interval over at least two repeats)."""

from __future__ import annotations

import json
import platform
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..catalogue import Requirement, load
from ..registry import Context, Result, check, unknown, verdict

BENCH_COMMAND = "nox -s bench"


def read_bench(path: Path) -> dict[str, Any] | None:
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def perf_verdict(requirement: Requirement, doc: dict[str, Any] | None, *, code_version: str,
                 host: str, source: str = "bench/results.json",
                 same_code: Callable[[str], bool] | None = None) -> Result:
    """The decision for one requirement over one bench document (pure: tested with fixtures).

    ``same_code`` says whether the bench's recorded code version is this code; by default only
    an equal version is (the live check also accepts a commit from which only outputs changed)."""
    target = requirement.target
    if doc is None:
        return unknown(f"not assessed: no bench result at {source}; run `{BENCH_COMMAND}` on this "
                       "machine and code version", target=str(target))
    machine = doc.get("machine") or {}
    recorded = str(doc.get("code_version"))
    if not (same_code(recorded) if same_code else recorded == code_version):
        return unknown(f"not assessed: the bench result is of code {doc.get('code_version')}, this run is "
                       f"{code_version}; rerun `{BENCH_COMMAND}`", target=str(target))
    if machine.get("host") != host:
        return unknown(f"not assessed: the bench ran on host {machine.get('host')!r}, this run on {host!r}; "
                       f"rerun `{BENCH_COMMAND}` here", target=str(target))
    entries = [e for e in doc.get("results") or [] if e.get("requirement") == requirement.id]
    if len(entries) != 1:
        return unknown(f"not assessed: {source} has {len(entries)} results for {requirement.id}, expected 1",
                       target=str(target))
    entry = entries[0]
    evidence = {"target": str(target), "value": entry.get("value"), "unit": entry.get("unit"),
                "interval": entry.get("interval"), "interval_kind": entry.get("interval_kind"),
                "repeats": entry.get("repeats"), "bench_met": entry.get("met"),
                "machine": machine, "started": doc.get("started"), "source": source}
    if entry.get("metric") != target.metric:
        return unknown(f"not assessed: the bench reports metric {entry.get('metric')!r} for {requirement.id}, "
                       f"the catalogue's target is on {target.metric!r}", **evidence)
    value = entry.get("value")
    if not isinstance(value, int | float) or isinstance(value, bool):
        return unknown(f"not assessed: the bench measured no value for {requirement.id}: "
                       f"{entry.get('why') or 'no reason given'}", **evidence)
    gpu = machine.get("gpu")
    if gpu and (not entry.get("interval") or (entry.get("repeats") or 0) < 2):
        return unknown(f"not assessed: an absolute figure on {gpu} needs an interval over at least two "
                       "repeats; the bench gave none", **evidence)
    where = f"on {gpu}" if gpu else f"on {machine.get('cpu') or host} (CPU)"
    measured = f"{target.metric} = {value:.4g} {entry.get('unit') or ''}".rstrip()
    return verdict(target.met_by(value), f"{measured} {where} meets {target}",
                   f"{measured} {where} misses {target}", **evidence)


def performance(context: Context, requirement_id: str) -> Result:
    from reference_workloads.core.manifest import code_version, source_unchanged_since

    doc = read_bench(context.bench_results)
    return perf_verdict(load().get(requirement_id), doc, code_version=code_version(), host=platform.node(),
                        source=str(context.bench_results), same_code=source_unchanged_since)


def _register(requirement_id: str) -> None:
    check(requirement_id)(lambda context: performance(context, requirement_id))


# one check per performance requirement of the catalogue: adding a target there adds its check
for _requirement in load().requirements:
    if _requirement.category == "performance":
        _register(_requirement.id)
