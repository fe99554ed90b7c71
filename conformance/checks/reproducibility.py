"""Reproducibility. Bitwise on CPU (REPRO-001..003): the checks run the real workloads
(mpiexec, torchrun) twice or on two rank counts and compare content hashes; each takes a
minute or more, and `--quick` shrinks the runs, never the claim. Statistical (REPRO-004):
the published case studies' seeded repeats are distinct, logged, and spread within the
catalogued band."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Any

from ..catalogue import load
from ..registry import (
    Context,
    EnvironmentProblem,
    Result,
    check,
    failed,
    not_applicable,
    skipped,
    unknown,
    verdict,
)
from .casestudy import published, read_json

CLIMATE_RECIPE = "ci_tiny"
CLIMATE_QUICK = ("simulation.n_steps=200", "train.epochs=1")
"""Quick overrides: half of ci_tiny's simulated steps (still 11 saved states, every 20 steps,
for the horizon of 10) and one epoch; the runs stay real end to end. A test validates them
against the recipe book, so a recipe change cannot make the quick profile invalid unnoticed."""
DRUG_MOLECULES = {"quick": 8, "full": 24}
DRUG_SETTINGS = {"n_conformers": 2, "mmff_max_iters": 200}
RUNS_CACHE = "reproducibility.climate_runs"
"""Run folders this context produced, for the provenance checks to inspect too."""


def _fresh(path: Path) -> Path:
    """An empty folder: a leftover run would be resumed (stages skipped), proving nothing."""
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)
    return path


def _launching(fn: Any) -> Any:
    """Run `fn()`; a missing launcher is an environment problem, not a failed requirement."""
    from reference_workloads.core.launch import LaunchError

    try:
        return fn()
    except LaunchError as err:
        if "not found" in str(err):
            raise EnvironmentProblem(str(err).splitlines()[0]) from None
        raise


def climate_overrides(context: Context) -> list[str]:
    return list(CLIMATE_QUICK) if context.quick else []


@check("AI4S-REPRO-001")
def climate_repeats_bitwise(context: Context) -> Any:
    from reference_workloads.climate import pipeline

    overrides = climate_overrides(context)
    runs = []
    for label in ("first", "second"):
        # separate parents: each run gets its own MLflow store next to it
        run_dir = _fresh(context.work_dir / "repro-climate" / label) / "run"
        context.log(f"  climate {CLIMATE_RECIPE} {overrides} -> {run_dir}")
        started = time.perf_counter()
        manifest = _launching(lambda d=run_dir: pipeline.run(CLIMATE_RECIPE, overrides, d))
        runs.append({"run_dir": str(run_dir), "seconds": round(time.perf_counter() - started, 1),
                     **{k: manifest[k] for k in ("dataset_hash", "model_hash", "config_hash", "code_version")}})
    context.cache[RUNS_CACHE] = [Path(r["run_dir"]) for r in runs]
    return compare_runs(runs[0], runs[1], recipe=CLIMATE_RECIPE, overrides=overrides)


BITWISE_KEYS = ("dataset_hash", "model_hash")


def compare_runs(first: dict[str, Any], second: dict[str, Any], what: str = "two identical runs",
                 **evidence: Any) -> Result:
    """Bitwise verdict over two runs' manifests: every hash in BITWISE_KEYS equal."""
    same = {k: first[k] == second[k] for k in BITWISE_KEYS}
    runs = [first, second]
    if not all(same.values()) and first["code_version"] != second["code_version"]:
        # The dataset records the code version that wrote it, so a commit landing between
        # the two runs changes its hash: the runs did not test the same code.
        return unknown(f"the code changed between the two runs ({first['code_version']} -> "
                       f"{second['code_version']}); rerun on an unchanging checkout",
                       same=same, runs=runs, reproducibility="bitwise", **evidence)
    return verdict(all(same.values()), f"{what}: identical dataset and model hashes",
                   f"hashes differ between {what}: {same}",
                   same=same, runs=runs, reproducibility="bitwise", **evidence)


@check("AI4S-REPRO-002")
def simulation_rank_independent(context: Context) -> Any:
    from reference_workloads.climate.recipes import book
    from reference_workloads.climate.simulation.api import simulate

    config = book.get(CLIMATE_RECIPE, climate_overrides(context)).simulation
    folder = _fresh(context.work_dir / "repro-simulation")
    hashes = {}
    for ranks in (1, 2):
        context.log(f"  simulation on {ranks} rank(s)")
        hashes[ranks] = _launching(lambda r=ranks: simulate(config, folder / f"ranks{r}.zarr", nranks=r,
                                                            timeout=900))
    return verdict(hashes[1] == hashes[2], "1 and 2 MPI ranks write the same dataset hash",
                   "dataset hash depends on the rank count",
                   dataset_hash={f"{r}_ranks": h for r, h in hashes.items()},
                   grid=[config.nx, config.ny], steps=config.n_steps, reproducibility="bitwise")


@check("AI4S-REPRO-003")
def physics_rank_independent(context: Context) -> Any:
    import pandas as pd

    from reference_workloads.core import launch
    from reference_workloads.core.hashing import hash_dataframe
    from reference_workloads.drug_discovery.library import load_library
    from reference_workloads.drug_discovery.physics_mpi import TABLE

    n = DRUG_MOLECULES["quick" if context.quick else "full"]
    folder = _fresh(context.work_dir / "repro-physics")
    library_path = folder / "library.parquet"
    load_library("nci", n).molecules.to_parquet(library_path, index=False)
    hashes, statuses = {}, {}
    for ranks in (1, 2):
        out = folder / f"ranks{ranks}"
        context.log(f"  physics of {n} molecules on {ranks} rank(s)")
        _launching(lambda r=ranks, o=out: launch.mpiexec(
            r, "reference_workloads.drug_discovery.physics_mpi",
            ["--library", str(library_path), "--out", str(o), "--settings", json.dumps(DRUG_SETTINGS),
             "--seed", "0"], timeout=900))
        table = pd.read_parquet(out / TABLE)
        hashes[ranks] = hash_dataframe(table)
        statuses[ranks] = {str(k): int(v) for k, v in table["status"].value_counts().sort_index().items()}
    return verdict(hashes[1] == hashes[2], f"physics table of {n} molecules identical on 1 and 2 ranks",
                   "physics table depends on the rank count",
                   table_hash={f"{r}_ranks": h for r, h in hashes.items()}, molecules=n,
                   settings=DRUG_SETTINGS, status_counts=statuses[1], reproducibility="bitwise")


def _dotted(node: Any, path: str) -> Any:
    for part in path.split("."):
        node = node[part]
    return node


def logged_seeds(records: list[dict[str, Any]]) -> list[Any]:
    """Seeds the event log names: `seed` events, and the repeats' stages `<stage>@seed-<seed>`."""
    found = [r.get("value") for r in records if r.get("key") == "seed"]
    for r in records:
        stage = str((r.get("metadata") or {}).get("stage", ""))
        if r.get("key") == "stage_start" and "@seed-" in stage:
            tail = stage.rsplit("@seed-", 1)[1]
            if tail.isdigit():
                found.append(int(tail))
    return found


def seed_problems(manifest: dict[str, Any], logged: list[Any], spread: dict[str, Any] | None,
                  *, min_seeds: int, max_relative_std: float) -> list[str]:
    """Why a case study's seeded repeats do not support a statistical claim (empty: they do)."""
    seeds = list((manifest.get("seeds") or {}).get("training") or [])
    problems = []
    reused = sorted({s for s in seeds if seeds.count(s) > 1})
    if reused:
        problems.append(f"training seeds {reused} are reused: one sample counted more than once")
    if len(set(seeds)) < min_seeds:
        problems.append(f"{len(set(seeds))} distinct training seeds; at least {min_seeds} are required")
    unlogged = [s for s in seeds if s not in logged]
    if unlogged:
        problems.append(f"training seeds {unlogged} are not logged in events.log")
    if spread is None:
        problems.append("the headline records no spread over seeds")
    elif spread.get("std") is None or not spread.get("mean"):
        problems.append(f"no spread over seeds to judge: {spread}")
    elif spread["std"] / abs(spread["mean"]) > max_relative_std:
        problems.append(f"relative spread over seeds {spread['std'] / abs(spread['mean']):.3g} exceeds "
                        f"the band {max_relative_std:g}")
    return problems


@check("AI4S-REPRO-004")
def seeds_in_band(context: Context) -> Result:
    from reference_workloads.core.eventlog import read_events

    parameters = load().get("AI4S-REPRO-004").parameters
    folders = {n: f for n, f in published(context).items() if n in parameters["band"]}
    if not folders:
        return skipped(f"no published case study under {context.casestudies_root}; run `ai4s casestudies`")
    report = {}
    for name, folder in folders.items():
        band = parameters["band"][name]
        manifest = read_json(folder, "manifest.json") or {}
        summary = read_json(folder, "summary.json") or {}
        events = folder / "events.log"
        logged = logged_seeds(read_events(events)) if events.is_file() else []
        try:
            spread = _dotted((summary.get("headline") or {}).get("over_seeds") or {}, band["metric"])
        except (KeyError, TypeError):
            spread = None
        problems = seed_problems(manifest, logged, spread, min_seeds=parameters["min_seeds"],
                                 max_relative_std=band["max_relative_std"])
        report[name] = {"seeds": (manifest.get("seeds") or {}).get("training"), "metric": band["metric"],
                        "spread": spread, "band": band["max_relative_std"], "problems": problems}
    bad = {k: v["problems"] for k, v in report.items() if v["problems"]}
    if bad:
        return failed(f"seeded repeats do not hold: {bad}", case_studies=report, reproducibility="statistical")
    return verdict(True, f"{len(report)} case studies: distinct logged seeds, spread within band",
                   "", case_studies=report, reproducibility="statistical")


KILL_AFTER_STAGE_START = "train@"
"""The run is killed once a training stage has started: the simulation is complete, a
training stage is cut off half-way."""
KILL_WAIT_S = 900


def _stage_events(events_path: Path, key: str) -> list[str]:
    from reference_workloads.core.eventlog import read_events

    if not events_path.is_file():
        return []
    return [str((r.get("metadata") or {}).get("stage", "")) for r in read_events(events_path) if r.get("key") == key]


def kill_when_training_starts(command: list[str], run_dir: Path, *, wait_s: float = KILL_WAIT_S,
                              poll_s: float = 0.5) -> bool:
    """Start `command` in its own process group and SIGKILL the whole group (launchers and
    ranks) once the run's event log shows a training stage started. False: the run ended
    before that, or never got there in time (nothing was cut off)."""
    import os
    import signal
    import subprocess

    proc = subprocess.Popen(command, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + wait_s
    try:
        while proc.poll() is None and time.monotonic() < deadline:
            if any(s.startswith(KILL_AFTER_STAGE_START) for s in _stage_events(run_dir / "events.log", "stage_start")):
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
                return True
            time.sleep(poll_s)
        return False
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


@check("AI4S-REPRO-005")
def killed_run_resumes_bitwise(context: Context) -> Result:
    import sys

    from reference_workloads.climate import pipeline

    overrides = climate_overrides(context)
    root = context.work_dir / "repro-resume"
    reference_dir, killed_dir = _fresh(root / "reference") / "run", _fresh(root / "killed") / "run"
    context.log(f"  climate {CLIMATE_RECIPE} {overrides}: reference run -> {reference_dir}")
    reference = _launching(lambda: pipeline.run(CLIMATE_RECIPE, overrides, reference_dir))
    command = [sys.executable, "-c", "import sys; from pathlib import Path; "
               "from reference_workloads.climate import pipeline; "
               "pipeline.run(sys.argv[1], sys.argv[3:], Path(sys.argv[2]))",
               CLIMATE_RECIPE, str(killed_dir), *overrides]
    context.log(f"  the same run, killed once training starts -> {killed_dir}")
    if not kill_when_training_starts(command, killed_dir):
        return unknown("the run to kill did not reach a training stage in time; nothing was cut off",
                       reproducibility="bitwise")
    context.log("  resumed in the same folder")
    resumed = _launching(lambda: pipeline.run(CLIMATE_RECIPE, overrides, killed_dir))
    reused = _stage_events(killed_dir / "events.log", "stage_resumed")
    fields = ("dataset_hash", "model_hash", "config_hash", "code_version")
    result = compare_runs({k: reference[k] for k in fields}, {k: resumed[k] for k in fields},
                          what="an uninterrupted run and a killed, resumed one",
                          recipe=CLIMATE_RECIPE, overrides=overrides, stages_reused=reused)
    if result.status.value == "passed" and not reused:
        return failed("the resumed run reused no completed stage: it started over instead of resuming",
                      **result.evidence)
    return result


PIPELINES = {"climate": "reference_workloads.climate.pipeline",
             "drug-discovery": "reference_workloads.drug_discovery.pipeline"}


@check("AI4S-REPRO-006")
def published_hashes_recompute(context: Context) -> Result:
    """Rerun each case study whose run code version is this checkout's, with its recipe and
    overrides, and compare the hashes with the published ones. A case study of other code
    does not apply: its hashes name that code."""
    import importlib

    from reference_workloads.core.manifest import code_version

    studies = published(context)
    if not studies:
        return skipped(f"no published case study under {context.casestudies_root}; run `ai4s casestudies`")
    current = code_version()
    summaries = {name: read_json(folder, "summary.json") or {} for name, folder in studies.items()}
    matching = {n: s for n, s in summaries.items() if s.get("run_code_version") == current and n in PIPELINES}
    versions = {n: s.get("run_code_version") for n, s in summaries.items()}
    if not matching:
        return not_applicable(f"no case study was run on this code version ({current}); published runs: "
                              f"{versions}", reproducibility="bitwise")
    report = {}
    for name, summary in matching.items():
        run_dir = _fresh(context.work_dir / "repro-published" / name) / "run"
        context.log(f"  {name} {summary['recipe']} {summary.get('overrides') or []} -> {run_dir}")
        pipeline = importlib.import_module(PIPELINES[name])
        manifest = _launching(lambda p=pipeline, s=summary, d=run_dir: p.run(s["recipe"], list(s.get("overrides") or []), d))
        report[name] = {k: {"published": summary["hashes"].get(k), "recomputed": manifest.get(k)}
                        for k in BITWISE_KEYS}
    differing = {n: [k for k, v in r.items() if v["published"] != v["recomputed"]] for n, r in report.items()}
    differing = {n: keys for n, keys in differing.items() if keys}
    return verdict(not differing, f"{', '.join(report)}: rerun on the published code version gives the "
                   "published dataset and model hashes", f"published hashes do not recompute: {differing}",
                   hashes=report, code_version=current, reproducibility="bitwise")
