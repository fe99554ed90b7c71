"""The climate workload end to end: simulate -> train -> evaluate -> track -> manifest."""

from __future__ import annotations

import dataclasses
import json
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from ..core import launch
from ..core.atomic import atomic_write, write_json
from ..core.eventlog import constants
from ..core.hashing import sha256_file
from ..core.manifest import build_manifest, code_version, write_manifest
from ..core.progress import progress_bar
from ..core.recipes import config_hash, recipe_dict, repetition_seeds
from ..core.runs import check_stage_group, stopped_after, workload_run
from ..core.stages import Stage, StageCall
from ..core.tracking import LocalMlflowServer, log_run, tracking_uri
from ..provenance.paths import relative_to_run
from .recipes import ClimateRecipe, book

WORKLOAD = "climate"
TRAINING_MODULE = "reference_workloads.climate.emulator.train"


def _simulate(call: StageCall) -> dict[str, Any]:
    from .simulation.api import simulate

    sim = call.recipe.simulation
    data = call.folder / "ensemble.zarr"
    with progress_bar(f"simulation on {sim.ranks} MPI ranks") as update:
        dataset_hash = simulate(sim, data, code_version=call.code_version,
                                timeout=call.recipe.train.timeout_s, on_progress=update)
    return {"dataset": call.relative(data), "dataset_hash": dataset_hash}


def _train(call: StageCall) -> dict[str, Any]:
    recipe, out = call.recipe, call.folder
    config_path = out / "config.json"
    write_json(config_path, recipe.declared())
    data = call.run_dir / call.upstream["simulate"]["dataset"]
    with progress_bar(f"training on {recipe.train.nproc} DDP processes") as update:
        launch.torchrun(
            recipe.train.nproc, TRAINING_MODULE,
            ["--config", str(config_path), "--data", str(data), "--out", str(out),
             "--eventlog", str(call.run_dir / "events.log"),
             "--checkpoints", str(call.scratch / "checkpoints"), "--key", call.key],
            timeout=recipe.train.timeout_s, on_progress=update,
        )
    summary = json.loads((out / "training.json").read_text())
    return {"model": call.relative(out / "model.pt"), **summary}


def _timed(work: Any) -> tuple[Any, float]:
    start = time.perf_counter()
    value = work()
    return value, time.perf_counter() - start


def _coarse_simulator(recipe: ClimateRecipe, truth: np.ndarray, model: Any, anomaly_std: np.ndarray
                      ) -> tuple[np.ndarray, dict[str, Any]]:
    """The simulator on every coarser grid from the held-out initial states; the forecast of
    the grid whose measured stepping time is closest to the emulator's rollout, and the record
    of every grid's cost and horizon error (``baselines.match_cost``)."""
    import torch

    from .baselines import coarse_config, coarse_forecast, coarsening_factors, match_cost
    from .evaluate import emulate, normalised_anomaly_rmse

    horizon, sim = recipe.eval.horizon, recipe.simulation
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the simulator steps on one core: both sides get one
    try:
        emulate(model, truth[:1, 0], 1)  # warm-up, outside the clock
        emulated, emulator_seconds = _timed(lambda: emulate(model, truth[:, 0], horizon))
    finally:
        torch.set_num_threads(threads)
    emulator_error = float(np.mean(normalised_anomaly_rmse(emulated, truth, anomaly_std)[horizon]))
    factors = coarsening_factors(sim, recipe.eval.coarsest_factor)
    seconds, errors, grids = [], [], []
    for factor in factors:
        run, spent = coarse_forecast(sim, truth[:, 0], factor, horizon)
        coarse = coarse_config(sim, factor)
        grids.append(f"{coarse.ny}x{coarse.nx} dt {coarse.dt:g} s")
        seconds.append(spent)
        errors.append(float(np.mean(normalised_anomaly_rmse(run, truth, anomaly_std)[horizon])))
        del run  # one forecast array at a time: on h100x1 each is a few GB
    match = match_cost(factors, grids, seconds, errors, emulator_seconds, emulator_error)
    # the run is deterministic: repeating the chosen grid costs one run, not a kept array per grid
    chosen, _ = coarse_forecast(sim, truth[:, 0], match.equal_cost_factor, horizon)
    return chosen, {**match.as_dict(), "samples": int(truth.shape[0]), "horizon": horizon,
                                           "error_metric": "anomaly-normalised RMSE at the horizon, mean of h, u, v"}


def _write_compact(path: Path, obj: Any) -> None:
    # the per-sample sums are published and committed: no indentation (a third of the bytes)
    with atomic_write(path) as handle:
        json.dump(obj, handle, sort_keys=True, separators=(",", ":"))
        handle.write("\n")


def fit_on_training(recipe: ClimateRecipe, data: Path) -> Any:
    """Climatology, anomaly scales, damped persistence's lag correlations and the reference
    energy, from the training members only (``baselines.TrainingStatistics``)."""
    from .baselines import training_statistics
    from .emulator.data import climatology, iter_trajectories

    training = slice(0, recipe.train.train_trajectories)
    # from the time sums stored with the dataset: the training set is not read again for it
    mean_state = climatology(data, training)
    sim = recipe.simulation
    return training_statistics(iter_trajectories(data, training), mean_state, recipe.eval.horizon, sim.g, sim.h0)


def _evaluate(recipe: ClimateRecipe, run_dir: Path, data: Path, model_path: Path) -> dict[str, Any]:
    from .climate_stats import rollout_statistics
    from .emulator.data import VARIABLES, load_states
    from .emulator.train import load_trained
    from .evaluate import (
        beats_persistence,
        emulate,
        errors_as_json,
        forecast,
        forecast_starts,
        sample_errors,
        score_errors,
    )
    from .plots import plot_energy, plot_skill, plot_snapshots, plot_spectra

    train, sim, horizon = recipe.train, recipe.simulation, recipe.eval.horizon
    stats = fit_on_training(recipe, data)
    mean_state = stats.climatology
    first_test = train.train_trajectories + train.val_trajectories
    test_states = load_states(data, slice(first_test, sim.n_trajectories))
    model = load_trained(model_path)
    truth = forecast_starts(test_states, horizon, recipe.eval.starts_per_trajectory)
    coarse, cost = _coarse_simulator(recipe, truth, model, stats.anomaly_std)
    forecasts = forecast(model, test_states, mean_state, horizon, recipe.eval.starts_per_trajectory,
                         lag_correlation=stats.lag_correlation, coarse_simulator=coarse)
    # the per-sample errors are published: the headline is recomputed from them, not trusted
    errors = errors_as_json(sample_errors(forecasts, stats.anomaly_std))
    results = score_errors(errors)
    results["horizon"] = horizon
    results["leads_not_beating_persistence"] = beats_persistence(results, horizon)
    results["lead_time_s"] = sim.dt * sim.save_every
    results["damped_persistence_lag_correlation"] = stats.lag_correlation.tolist()
    # long free rollouts over the whole held-out trajectories: the emulator's climate
    free = emulate(model, test_states[:, 0], test_states.shape[1] - 1)
    settings = {"g": sim.g, "h0": sim.h0, "reference_energy": stats.domain_energy,
                "energy_factor": recipe.eval.stability_energy_factor}
    climate = {"variables": list(VARIABLES), "anomaly_std": stats.anomaly_std.tolist(),
               "lead_time_s": results["lead_time_s"], "steps": int(test_states.shape[1] - 1), **settings,
               "emulator": rollout_statistics(free, **settings),
               "simulator": rollout_statistics(test_states, **settings)}
    out = run_dir / "evaluation"
    _write_compact(out / "sample_errors.json", errors)
    write_json(out / "results.json", results)
    write_json(out / "long_rollouts.json", climate)
    write_json(out / "coarse_simulator.json", cost)
    figures = [out / "skill_vs_lead.png", out / "snapshots.png", out / "ke_spectra.png", out / "energy.png"]
    plot_skill(results, figures[0])
    plot_snapshots(forecasts, horizon, figures[1])
    plot_spectra(climate, figures[2])
    plot_energy(climate, figures[3])
    return {"results": str(out / "results.json"), "sample_errors": str(out / "sample_errors.json"),
            "figures": [str(f) for f in figures]}


def _evaluate_stage(call: StageCall) -> dict[str, Any]:
    data = call.run_dir / call.upstream["simulate"]["dataset"]
    model = call.run_dir / call.upstream["train"]["model"]
    written = _evaluate(call.recipe, call.folder.parent, data, model)
    results = Path(written["results"])
    return {"results": call.relative(results), "sample_errors": call.relative(Path(written["sample_errors"])),
            "figures": [call.relative(Path(f)) for f in written["figures"]], "results_sha256": sha256_file(results)}


def _track_stage(call: StageCall) -> dict[str, Any]:
    recipe, run_dir = call.recipe, call.run_dir
    hashes = {"dataset_hash": call.upstream["simulate"]["dataset_hash"],
              "model_hash": call.upstream["train"]["model_hash"]}
    training = {**call.upstream["train"], "model": str(run_dir / call.upstream["train"]["model"])}
    evaluation = {"results": str(run_dir / call.upstream["evaluate"]["results"]),
                  "figures": [str(run_dir / f) for f in call.upstream["evaluate"]["figures"]]}
    return _track(recipe.whole(), call.extra["recipe_name"], run_dir, run_dir.parent / "mlflow", hashes,
                  call.code_version, training, evaluation)


def _track(recipe: ClimateRecipe, recipe_name: str, run_dir: Path, tracking_root: Path,
           hashes: dict[str, str], code: str, training: dict[str, Any],
           evaluation: dict[str, Any]) -> dict[str, Any]:
    from .emulator.train import load_trained

    results = json.loads(Path(evaluation["results"]).read_text())
    history = training["history"]
    lineage = {
        "dataset_hash": hashes["dataset_hash"], "model_hash": hashes["model_hash"],
        "config_hash": config_hash(recipe), "code_version": code,
        "recipe": recipe_name, "workload": WORKLOAD,
    }
    horizon = recipe.eval.horizon
    final = {
        "rollout_nrmse_at_horizon": results["emulator"]["nrmse"][horizon],
        "persistence_nrmse_at_horizon": results["persistence"]["nrmse"][horizon],
        "rollout_rmse_h_at_horizon": results["emulator"]["rmse"]["h"][horizon],
        "rollout_acc_h_at_horizon": results["emulator"]["acc"]["h"][horizon],
        "rollout_score_at_horizon": results["emulator"]["rmse_normalised"][horizon],
        "persistence_score_at_horizon": results["persistence"]["rmse_normalised"][horizon],
    }

    model = load_trained(Path(training["model"]))
    sim = recipe.simulation
    example = np.tile(model.mean.numpy()[None, :, None, None], (1, 1, sim.ny, sim.nx))

    def log(uri: str) -> dict[str, str]:
        return log_run(
            uri=uri, experiment=f"ai4s-{WORKLOAD}", run_name=f"{recipe_name}-{hashes['model_hash'][:8]}",
            params=recipe_dict(recipe),
            metrics_by_step={
                "train_loss": [h["train_loss"] for h in history],
                "val_loss": [h["val_loss"] for h in history],
                "emulator_nrmse_by_lead": results["emulator"]["nrmse"],
                "persistence_nrmse_by_lead": results["persistence"]["nrmse"],
            },
            final_metrics=final,
            artifacts=[Path(evaluation["results"]), *map(Path, evaluation["figures"]),
                       run_dir / "events.log"],
            model=model, input_example=example,
            registered_name=f"ai4s-{WORKLOAD}-emulator", lineage_tags=lineage,
            artifact_root=tracking_root / "artifacts",
        )

    if recipe.tracking == "server" and not os.environ.get("MLFLOW_TRACKING_URI"):
        with LocalMlflowServer(tracking_root / "server") as server:
            logged = log(server.uri)
            return {**logged, "tracking_uri": f"{server.uri} (stopped; store in {server.root})"}
    uri = tracking_uri(tracking_root)
    return {**log(uri), "tracking_uri": uri}


SIMULATE = Stage("simulate", _simulate, reads=("simulation", "train.timeout_s"), provides=("dataset_hash",),
                 folder="simulation", outputs=("ensemble.zarr",))
TRAIN = Stage("train", _train, reads=("emulator", "train"), after=("simulate",), provides=("model_hash",),
              folder="training", outputs=("model.pt",))
EVALUATE = Stage("evaluate", _evaluate_stage,
                 # the whole simulation: the coarse-simulator baseline reruns it
                 reads=("eval", "simulation", "train.train_trajectories", "train.val_trajectories"),
                 after=("simulate", "train"), provides=("results_sha256",), folder="evaluation",
                 outputs=("results.json", "sample_errors.json", "long_rollouts.json", "coarse_simulator.json"))
TRACK = Stage("track", _track_stage, reads=("*",), after=("simulate", "train", "evaluate"))
STAGES = (SIMULATE, TRAIN, EVALUATE, TRACK)


def repeat_recipes(recipe: ClimateRecipe) -> list[ClimateRecipe]:
    """One recipe per training seed; the simulation (and its seed) is shared by all of them."""
    seeds = repetition_seeds(recipe.train.seed, recipe.repeats.seeds)
    return [dataclasses.replace(recipe, train=dataclasses.replace(recipe.train, seed=s)) for s in seeds]


# The stages a cluster runs as separate objects, in order (``ai4s run --stage``).
STAGE_GROUPS = ("simulate", "train", "evaluate")


def run(recipe_name: str, overrides: list[str], out_dir: Path, *, until: str | None = None) -> dict[str, Any]:
    """Run the named recipe with overrides into ``out_dir``; completed stages are skipped.

    ``until`` stops after that stage group (one of STAGE_GROUPS) and returns what is known
    so far: on a cluster each group is its own pod, and the next one reuses this one's results
    through the data layer under the same keys.
    """
    check_stage_group(until, STAGE_GROUPS)
    recipe = book.get(recipe_name, overrides)
    sim = recipe.simulation
    code = code_version()
    with workload_run(WORKLOAD, recipe_name, recipe, out_dir, seed=recipe.train.seed,
                      simulation_seed=sim.seed, code_version=code) as ctx:
        run_dir, stages = ctx.run_dir, ctx.stages
        ctx.eventlog.event(constants.GLOBAL_BATCH_SIZE, recipe.train.global_batch_size)
        simulated = stages.run_stage(SIMULATE, recipe,
                                     attributes={**sim.physical_parameters(), "mpi_ranks": sim.ranks})
        if until == "simulate":
            return stopped_after(until, dataset_hash=simulated["dataset_hash"])
        repeats = []
        for repeat in repeat_recipes(recipe):
            tag = f"seed-{repeat.train.seed}"
            trained = stages.run_stage(
                TRAIN, repeat, upstream={"simulate": simulated}, upstream_stages={"simulate": SIMULATE},
                repeat=tag, attributes={"emulator": recipe_dict(repeat.emulator), **recipe_dict(repeat.train)})
            if until == "train":
                repeats.append({"seed": repeat.train.seed, "model_hash": trained["model_hash"]})
                continue
            evaluated = stages.run_stage(
                EVALUATE, repeat, upstream={"simulate": simulated, "train": trained},
                upstream_stages={"simulate": SIMULATE, "train": TRAIN}, repeat=tag,
                attributes={"horizon": repeat.eval.horizon, "held_out_members": repeat.held_out})
            repeats.append({"seed": repeat.train.seed, "folder": f"repeats/{tag}", "train": trained,
                            "evaluate": evaluated})
        if until == "train":
            return stopped_after(until, dataset_hash=simulated["dataset_hash"],
                                 model_hash=repeats[0]["model_hash"], repeats=repeats)
        first = repeats[0]
        tracked = stages.run_stage(
            TRACK, recipe, upstream={"simulate": simulated, "train": first["train"], "evaluate": first["evaluate"]},
            upstream_stages={"simulate": SIMULATE, "train": TRAIN, "evaluate": EVALUATE},
            extra={"recipe_name": recipe_name, "uri": os.environ.get("MLFLOW_TRACKING_URI", "")},
            attributes={"tracking": recipe.tracking})
        hashes = {"dataset_hash": simulated["dataset_hash"], "model_hash": first["train"]["model_hash"]}
        results = json.loads((run_dir / first["evaluate"]["results"]).read_text())
        manifest = build_manifest(
            workload=WORKLOAD, recipe_name=recipe_name, recipe=recipe, **hashes,
            seeds={"simulation": sim.seed, "training": [r["seed"] for r in repeats]},
            world_size={"mpi_ranks": sim.ranks, "ddp_processes": recipe.train.nproc},
            extra={"tracking": relative_to_run(tracked, run_dir), "results": first["evaluate"]["results"],
                   "repeats": [{"seed": r["seed"], "folder": r["folder"], "model_hash": r["train"]["model_hash"],
                                "results": r["evaluate"]["results"]} for r in repeats],
                   "leads_not_beating_persistence": results["leads_not_beating_persistence"]},
        )
        write_manifest(run_dir, manifest)
        return manifest
