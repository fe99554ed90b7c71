"""``nox -s bench``: measure the work, in-process, with intervals, against the catalogue's targets.

    python -m tests.bench.run [--repeats 10] [--only MODULE] [--out bench/results.json]

Each bench module exposes ``measure(repeats) -> list[dict]`` (entries as ``stats.entry``
builds them); this runner calls them in turn, writes ``bench/results.json`` and one plot
per module (``bench/<module>.png``); with ``--only``, the named modules' entries replace
theirs in an existing file and the rest are kept. A module missing from this checkout, or one that
fails, is recorded as not measured with the reason, and the others still run. The machine
may be shared: the load average before and after each module is recorded beside it.
"""

from __future__ import annotations

import argparse
import datetime
import importlib
import json
import os
import platform
import socket
import time
import traceback
from pathlib import Path
from typing import Any

from reference_workloads.core.atomic import write_json
from reference_workloads.core.manifest import code_version, hardware
from tests.bench.stats import MIN_REPEATS, not_measured

# module -> the requirements it measures (so a missing module still says what is unmeasured)
MODULES: dict[str, tuple[tuple[str, str], ...]] = {
    "kernel": (("AI4S-PERF-001", "kernel_roofline_fraction"),),
    "scaling": (("AI4S-PERF-006", "mpi_strong_scaling_efficiency_2"),),
    "ddp_overhead": (("AI4S-PERF-002", "ddp_instrumentation_overhead"),),
    "serving": (("AI4S-PERF-003", "serving_overhead_p50_ms"),),
    "surrogate_physics": (("AI4S-PERF-004", "surrogate_over_physics_throughput"),),
    "emulator_accuracy": (("AI4S-PERF-005", "emulator_speedup_at_equal_accuracy"),),
}


def machine() -> dict[str, Any]:
    info = hardware()
    return {"host": socket.gethostname(), "cpu": info["cpu"], "cores": info["cores"],
            "gpu": ", ".join(info["gpus"]) or None, "memory_gib": info["memory_gib"], "platform": platform.platform()}


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")


def run_module(name: str, repeats: int) -> list[dict[str, Any]]:
    """The module's entries, or one not-measured entry per requirement saying why."""
    try:
        module = importlib.import_module(f"tests.bench.{name}")
    except ModuleNotFoundError as error:
        if error.name != f"tests.bench.{name}":
            raise
        why = f"tests/bench/{name}.py is not in this checkout"
        return [{**not_measured(req, metric, why), "module": name} for req, metric in MODULES[name]]
    load_before, started = os.getloadavg(), time.perf_counter()
    try:
        results = module.measure(repeats)
    except Exception as error:  # one broken bench must not lose the others' numbers
        traceback.print_exc()
        why = f"{name}.measure raised {type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"
        return [{**not_measured(req, metric, why), "module": name} for req, metric in MODULES[name]]
    load_after = os.getloadavg()
    context = {"module": name, "module_seconds": round(time.perf_counter() - started, 1),
               "load_average_before": list(load_before), "load_average_after": list(load_after)}
    cores = os.cpu_count() or 1
    busy = max(load_before[0], load_after[0])
    if busy > cores:  # a reader must know when other work shared the cores with the measurement
        context["why"] = f"machine shared: 1-minute load average up to {busy:.1f} on {cores} cores"
    return [{**result, **{k: v for k, v in context.items() if k not in result},
             "why": "; ".join(p for p in (result.get("why"), context.get("why")) if p)} for result in results]


def plot(name: str, results: list[dict[str, Any]], folder: Path) -> Path | None:
    """One panel per measured entry: the value, its interval, and the catalogue's bound."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from tests.bench.stats import target

    measured = [r for r in results if r["value"] is not None]
    if not measured:
        return None
    figure, axes = plt.subplots(1, len(measured), figsize=(3.2 * len(measured), 3.0), squeeze=False)
    for axis, result in zip(axes[0], measured, strict=True):
        low, high = result["interval"] or (result["value"], result["value"])
        axis.errorbar([0], [result["value"]], yerr=[[result["value"] - low], [high - result["value"]]],
                      fmt="o", capsize=6)
        goal = target(result["requirement"]) if result["requirement"] else None
        if goal and goal.get("metric") == result["metric"]:
            axis.axhline(float(goal["value"]), color="tab:red", linestyle="--", label=f"target {goal['op']} {goal['value']}")
            axis.legend(fontsize=7)
        axis.set_xticks([])
        axis.set_title(result["metric"].replace("_", " "), fontsize=8)
        axis.set_ylabel(result["unit"], fontsize=8)
    figure.suptitle(f"{name} ({measured[0]['repeats']} repeats, 95 % intervals)", fontsize=9)
    figure.tight_layout()
    path = folder / f"{name}.png"
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=MIN_REPEATS)
    parser.add_argument("--only", action="append", choices=sorted(MODULES))
    parser.add_argument("--out", type=Path, default=Path("bench/results.json"))
    args = parser.parse_args()
    if args.repeats < MIN_REPEATS:
        parser.error(f"--repeats={args.repeats} is invalid: expected at least {MIN_REPEATS} interleaved repeats")
    report: dict[str, Any] = {"code_version": code_version(), "machine": machine(), "started": _now(),
                              "ended": None, "results": []}
    if args.only and args.out.exists():  # rerun some modules: keep the other modules' entries
        previous = json.loads(args.out.read_text())
        report["results"] = [r for r in previous["results"] if r.get("module") not in args.only]
        report["started"] = previous["started"]
        report["rerun"] = {"modules": args.only, "code_version": report["code_version"]}
        report["code_version"] = previous["code_version"]
    for name in args.only or list(MODULES):
        print(f"bench {name} ...", flush=True)
        results = run_module(name, args.repeats)
        report["results"] += results
        plot(name, results, args.out.parent)
        for result in results:
            print(f"  {result['metric']}: {result['value']} met={result['met']} ({result['why']})", flush=True)
    report["ended"] = _now()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_json(args.out, report)
    print(f"written: {args.out}")


if __name__ == "__main__":
    main()
