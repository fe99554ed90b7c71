"""AI4S-PERF-005: the trained emulator against the simulator at equal accuracy.

The ``ci_tiny`` emulator is trained here (in this process, one rank) on its own simulated
ensemble; truth is the simulator at the recipe's resolution. For the held-out members the
emulator forecasts ``horizon`` saved intervals from the initial state; the simulator is
restarted on coarser grids from the block-averaged initial state and interpolated back, by
the same functions the evaluate stage uses (``reference_workloads.climate.baselines``:
``coarse_forecast`` and ``match_cost``). The error is the evaluation's headline score, the
anomaly RMSE over the training climatology's std, averaged over h, u, v, at the horizon. The
equal-accuracy simulator is the cheapest grid whose error is at most the emulator's (the
evaluation's choice); both are then timed on one core, interleaved: the emulator's rollout
against the simulator's time stepping (its set-up excluded). The value is simulator seconds
over emulator seconds.
"""

from __future__ import annotations

import contextlib
import io
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from tests.bench.stats import BOOTSTRAP, entry, interleaved, paired_ratio

REQUIREMENT = "AI4S-PERF-005"
METRIC = "emulator_speedup_at_equal_accuracy"
OVERRIDES = ["simulation.n_trajectories=8", "train.epochs=20", "train.nproc=1"]


def _states(ensemble: Any) -> np.ndarray:
    """(member, save, channel, y, x) float32, as training reads them."""
    return np.stack([ensemble.h, ensemble.u, ensemble.v], axis=2).astype(np.float32)


def measure(repeats: int) -> list[dict[str, Any]]:
    import torch

    from reference_workloads.climate.baselines import (
        coarse_config,
        coarse_forecast,
        coarsening_factors,
        match_cost,
        training_statistics,
    )
    from reference_workloads.climate.emulator.train import load_trained, train
    from reference_workloads.climate.evaluate import emulate, normalised_anomaly_rmse
    from reference_workloads.climate.recipes import book
    from reference_workloads.climate.simulation.dataset import build_dataset, write_dataset
    from reference_workloads.climate.simulation.ensemble import serial_ensemble
    from reference_workloads.core.recipes import recipe_dict

    recipe = book.get("ci_tiny", OVERRIDES)
    sim, horizon = recipe.simulation, recipe.eval.horizon
    held_out = slice(recipe.train.train_trajectories + recipe.train.val_trajectories, sim.n_trajectories)
    truth_ensemble = serial_ensemble(sim)
    states = _states(truth_ensemble)
    truth = states[held_out, : horizon + 1]
    training = states[: recipe.train.train_trajectories]
    stats = training_statistics(iter(training), training.mean(axis=(0, 1)), horizon, sim.g, sim.h0)
    with tempfile.TemporaryDirectory() as name:
        scratch = Path(name)
        write_dataset(build_dataset(sim, truth_ensemble, code_version="bench", nranks=1), scratch / "ensemble.nc")
        threads = torch.get_num_threads()
        with contextlib.redirect_stdout(io.StringIO()):  # the trainer's per-epoch lines are not results
            train(recipe_dict(recipe), scratch / "ensemble.nc", scratch / "out", scratch / "events.log")
        torch.set_num_threads(1)  # the trainer set its own count; both sides get one core
        model = load_trained(scratch / "out" / "model.pt")

    def error(forecast: np.ndarray) -> float:
        return float(np.mean(normalised_anomaly_rmse(forecast, truth, stats.anomaly_std)[horizon]))

    initial = truth[:, 0]
    emulator_error = error(emulate(model, initial, horizon))
    persistence_error = error(np.repeat(truth[:, :1], horizon + 1, axis=1))
    factors = coarsening_factors(sim)
    grids = [f"{coarse_config(sim, f).ny}x{coarse_config(sim, f).nx}" for f in factors]
    errors, seconds = [], []
    for factor in factors:
        forecast, spent = coarse_forecast(sim, initial, factor, horizon)
        errors.append(error(forecast))
        seconds.append(spent)
    # one untimed pass above fixed each grid's error; the equal-accuracy grid is the
    # evaluation's choice, then timed against the emulator, interleaved
    first = match_cost(factors, grids, seconds, errors, emulator_seconds=1.0, emulator_error=emulator_error)
    matched = first.equal_accuracy_factor
    if matched is None:
        raise AssertionError(f"no simulator grid reaches the emulator's error {emulator_error:.4f}: {errors}")

    def simulator() -> None:
        coarse_forecast(sim, initial, matched, horizon)

    def emulator() -> None:
        emulate(model, initial, horizon)

    times = interleaved({"simulator": simulator, "emulator": emulator}, repeats)
    torch.set_num_threads(threads)
    ratio, interval = paired_ratio(times["simulator"], times["emulator"])
    grid = grids[factors.index(matched)]
    timing_config = coarse_config(sim, matched)
    return [entry(
        requirement=REQUIREMENT, metric=METRIC, value=ratio, unit="ratio of seconds", interval=list(interval),
        interval_kind=BOOTSTRAP, repeats=repeats,
        why=f"ci_tiny emulator trained {recipe.train.epochs} epochs; anomaly-normalised RMSE at lead {horizon}: "
            f"emulator {emulator_error:.4f}, persistence {persistence_error:.4f}, simulator by grid "
            + ", ".join(f"{g} {e:.4f}" for g, e in zip(grids, errors, strict=True))
            + f"; equal accuracy at {grid} (dt {timing_config.dt:g} s); 1 core each, {truth.shape[0]} members; "
              "the simulator's time includes its grid transfer",
        emulator_error=emulator_error, persistence_error=persistence_error,
        simulator_error_by_grid=dict(zip(grids, errors, strict=True)),
        matched_grid=grid, simulator_seconds=times["simulator"], emulator_seconds=times["emulator"],
    )]
