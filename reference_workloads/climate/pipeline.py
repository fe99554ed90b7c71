"""The climate workload end to end: simulate -> train -> evaluate -> track -> manifest."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from ..core import launch
from ..core.atomic import write_json
from ..core.eventlog import constants
from ..core.manifest import build_manifest, code_version, write_manifest
from ..core.progress import progress_bar
from ..core.recipes import config_hash, recipe_dict
from ..core.runs import workload_run
from ..core.tracking import LocalMlflowServer, log_run, tracking_uri
from ..provenance.paths import relative_to_run
from .recipes import ClimateRecipe, book

WORKLOAD = "climate"
TRAINING_MODULE = "reference_workloads.climate.emulator.train"


def _simulate(recipe: ClimateRecipe, run_dir: Path, code: str) -> dict[str, Any]:
    from .simulation.api import simulate

    sim = recipe.simulation
    data = run_dir / "simulation" / "ensemble.nc"
    with progress_bar(f"simulation on {sim.ranks} MPI ranks") as update:
        dataset_hash = simulate(sim, data, code_version=code, timeout=recipe.train.timeout_s,
                                on_progress=update)
    return {"dataset": str(data), "dataset_hash": dataset_hash}


def _train(recipe: ClimateRecipe, run_dir: Path, data: Path) -> dict[str, Any]:
    out = run_dir / "training"
    config_path = out / "config.json"
    write_json(config_path, recipe_dict(recipe))
    with progress_bar(f"training on {recipe.train.nproc} DDP processes") as update:
        launch.torchrun(
            recipe.train.nproc, TRAINING_MODULE,
            ["--config", str(config_path), "--data", str(data), "--out", str(out),
             "--eventlog", str(run_dir / "events.log")],
            timeout=recipe.train.timeout_s, on_progress=update,
        )
    summary = json.loads((out / "training.json").read_text())
    return {"model": str(out / "model.pt"), **summary}


def _evaluate(recipe: ClimateRecipe, run_dir: Path, data: Path, model_path: Path) -> dict[str, Any]:
    from .emulator.data import load_states
    from .emulator.train import load_trained
    from .evaluate import beats_persistence, errors_as_json, forecast, sample_errors, score_errors
    from .plots import plot_skill, plot_snapshots

    train = recipe.train
    climatology = load_states(data, slice(0, train.train_trajectories)).mean(axis=(0, 1))
    first_test = train.train_trajectories + train.val_trajectories
    test_states = load_states(data, slice(first_test, recipe.simulation.n_trajectories))
    forecasts = forecast(load_trained(model_path), test_states, climatology, recipe.eval.horizon,
                         recipe.eval.starts_per_trajectory)
    # the per-sample errors are published: the headline is recomputed from them, not trusted
    errors = errors_as_json(sample_errors(forecasts))
    results = score_errors(errors)
    results["horizon"] = recipe.eval.horizon
    results["leads_not_beating_persistence"] = beats_persistence(results, recipe.eval.horizon)
    results["lead_time_s"] = recipe.simulation.dt * recipe.simulation.save_every
    out = run_dir / "evaluation"
    write_json(out / "sample_errors.json", errors)
    write_json(out / "results.json", results)
    plot_skill(results, out / "skill_vs_lead.png")
    plot_snapshots(forecasts, recipe.eval.horizon, out / "snapshots.png")
    return {"results": str(out / "results.json"), "sample_errors": str(out / "sample_errors.json"),
            "figures": [str(out / "skill_vs_lead.png"), str(out / "snapshots.png")]}


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


def run(recipe_name: str, overrides: list[str], out_dir: Path) -> dict[str, Any]:
    """Run the named recipe with overrides into ``out_dir``; completed stages are skipped."""
    recipe = book.get(recipe_name, overrides)
    sim = recipe.simulation
    code = code_version()
    with workload_run(WORKLOAD, recipe_name, recipe, out_dir, seed=recipe.train.seed,
                      simulation_seed=sim.seed) as ctx:
        run_dir, stages = ctx.run_dir, ctx.stages
        ctx.eventlog.event(constants.GLOBAL_BATCH_SIZE, recipe.train.global_batch_size)
        simulated = stages.run(
            "simulate", lambda: _simulate(recipe, run_dir, code),
            inputs={"simulation": sim.to_dict(), "code": code},
            outputs=[run_dir / "simulation" / "ensemble.nc"],
            attributes={**sim.physical_parameters(), "mpi_ranks": sim.ranks},
        )
        data = Path(simulated["dataset"])
        trained = stages.run(
            "train", lambda: _train(recipe, run_dir, data),
            inputs={"recipe": recipe_dict(recipe), "dataset_hash": simulated["dataset_hash"]},
            outputs=[run_dir / "training" / "model.pt"],
            attributes={"emulator": recipe_dict(recipe.emulator), **recipe_dict(recipe.train)},
        )
        hashes = {"dataset_hash": simulated["dataset_hash"], "model_hash": trained["model_hash"]}
        evaluated = stages.run(
            "evaluate", lambda: _evaluate(recipe, run_dir, data, Path(trained["model"])),
            inputs={"eval": recipe_dict(recipe.eval), **hashes},
            outputs=[run_dir / "evaluation" / "results.json"],
            attributes={"horizon": recipe.eval.horizon, "held_out_members": recipe.held_out},
        )
        tracked = stages.run(
            "track", lambda: _track(recipe, recipe_name, run_dir, run_dir.parent / "mlflow", hashes,
                                    code, trained, evaluated),
            inputs={**hashes, "tracking": recipe.tracking,
                    "uri": os.environ.get("MLFLOW_TRACKING_URI", "")},
            attributes={"tracking": recipe.tracking},
        )
        results = json.loads(Path(evaluated["results"]).read_text())
        manifest = build_manifest(
            workload=WORKLOAD, recipe_name=recipe_name, recipe=recipe, **hashes,
            seeds={"simulation": sim.seed, "training": recipe.train.seed},
            world_size={"mpi_ranks": sim.ranks, "ddp_processes": recipe.train.nproc},
            extra={"tracking": relative_to_run(tracked, run_dir),
                   "results": relative_to_run(evaluated["results"], run_dir),
                   "leads_not_beating_persistence": results["leads_not_beating_persistence"]},
        )
        write_manifest(run_dir, manifest)
        return manifest
