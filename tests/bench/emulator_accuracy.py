"""AI4S-PERF-005: the trained emulator against the simulator at equal accuracy.

The ``ci_tiny`` emulator is trained here (in this process, one rank) on its own simulated
ensemble; truth is the simulator at the recipe's resolution. For the held-out members the
emulator forecasts ``horizon`` saved intervals from the initial state; the simulator is run
again at coarser grids (and, where the CFL limit allows, proportionally longer steps) from
the same analytic initial conditions, its fields interpolated back to the fine grid. The
equal-accuracy simulator is the cheapest grid whose nRMSE at the horizon is at most the
emulator's (the full grid, error 0, always qualifies). Both are then timed on one core,
interleaved: the emulator's rollout against the simulator's time stepping (its set-up and
initial conditions excluded). The value is simulator seconds over emulator seconds.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from tests.bench.stats import BOOTSTRAP, entry, interleaved, paired_ratio

REQUIREMENT = "AI4S-PERF-005"
METRIC = "emulator_speedup_at_equal_accuracy"
COARSENING = (1, 2, 4)
OVERRIDES = ["simulation.n_trajectories=8", "train.epochs=20", "train.nproc=1"]


def _coarse(config: Any, factor: int) -> Any:
    """The same ensemble on a grid ``factor`` times coarser, with the longest step it allows."""
    for step_factor in range(factor, 0, -1):
        if config.save_every % step_factor:
            continue
        try:
            return dataclasses.replace(config, nx=config.nx // factor, ny=config.ny // factor,
                                       dt=config.dt * step_factor, n_steps=config.n_steps // step_factor,
                                       save_every=config.save_every // step_factor, ranks=1)
        except ValueError:
            continue
    raise AssertionError(f"no stable coarse configuration for factor {factor}")


def _fine(fields: np.ndarray, factor: int) -> np.ndarray:
    """Cell-centred periodic fields interpolated onto the grid ``factor`` times finer (cubic)."""
    from scipy import ndimage

    if factor == 1:
        return fields
    zoom = [1] * (fields.ndim - 2) + [factor, factor]
    return ndimage.zoom(fields, zoom, order=3, mode="grid-wrap", grid_mode=True)


def _states(ensemble: Any) -> np.ndarray:
    """(member, save, channel, y, x) float32, as training reads them."""
    return np.stack([ensemble.h, ensemble.u, ensemble.v], axis=2).astype(np.float32)


def _stepping_seconds(config: Any) -> float:
    """Seconds of time stepping only: the clock starts when the initial state is stored."""
    from reference_workloads.climate.simulation.ensemble import serial_ensemble

    first: list[float] = []
    serial_ensemble(config, progress=lambda done, total: first or first.append(time.perf_counter()))
    return time.perf_counter() - first[0]


def measure(repeats: int) -> list[dict[str, Any]]:
    import torch

    from reference_workloads.climate.emulator.train import load_trained, train
    from reference_workloads.climate.evaluate import nrmse
    from reference_workloads.climate.recipes import book
    from reference_workloads.climate.simulation.dataset import build_dataset, write_dataset
    from reference_workloads.climate.simulation.ensemble import serial_ensemble
    from reference_workloads.core.recipes import recipe_dict

    recipe = book.get("ci_tiny", OVERRIDES)
    sim, horizon = recipe.simulation, recipe.eval.horizon
    held_out = slice(recipe.train.train_trajectories + recipe.train.val_trajectories, sim.n_trajectories)
    truth_ensemble = serial_ensemble(sim)
    truth = _states(truth_ensemble)[held_out, : horizon + 1]
    with tempfile.TemporaryDirectory() as name:
        scratch = Path(name)
        write_dataset(build_dataset(sim, truth_ensemble, code_version="bench", nranks=1), scratch / "ensemble.nc")
        threads = torch.get_num_threads()
        with contextlib.redirect_stdout(io.StringIO()):  # the trainer's per-epoch lines are not results
            train(recipe_dict(recipe), scratch / "ensemble.nc", scratch / "out", scratch / "events.log")
        torch.set_num_threads(1)  # the trainer set its own count; both sides get one core
        model = load_trained(scratch / "out" / "model.pt")
    initial = torch.from_numpy(np.ascontiguousarray(truth[:, 0]))
    emulated = model.rollout(initial, horizon).numpy().transpose(1, 0, 2, 3, 4)
    emulator_error = float(nrmse(emulated, truth)[horizon])
    persistence_error = float(nrmse(np.repeat(truth[:, :1], horizon + 1, axis=1), truth)[horizon])

    errors: dict[int, float] = {}
    configs: dict[int, Any] = {}
    for factor in COARSENING:
        coarse = _coarse(dataclasses.replace(sim, n_steps=horizon * sim.save_every), factor)
        configs[factor] = coarse
        run = _states(serial_ensemble(dataclasses.replace(coarse, n_trajectories=sim.n_trajectories)))
        errors[factor] = float(nrmse(_fine(run[held_out], factor), truth)[horizon])
    matched = max(f for f in COARSENING if errors[f] <= emulator_error)
    timing_config = dataclasses.replace(configs[matched], n_trajectories=truth.shape[0])

    def emulator() -> None:
        model.rollout(initial, horizon)

    times = interleaved({"simulator": lambda: _stepping_seconds(timing_config), "emulator": emulator}, repeats)
    torch.set_num_threads(threads)
    ratio, interval = paired_ratio(times["simulator"], times["emulator"])
    grid = f"{timing_config.ny}x{timing_config.nx}"
    return [entry(
        requirement=REQUIREMENT, metric=METRIC, value=ratio, unit="ratio of seconds", interval=list(interval),
        interval_kind=BOOTSTRAP, repeats=repeats,
        why=f"ci_tiny emulator trained {recipe.train.epochs} epochs; nRMSE at lead {horizon}: emulator "
            f"{emulator_error:.4f}, persistence {persistence_error:.4f}, simulator by grid "
            + ", ".join(f"{configs[f].ny}x{configs[f].nx} {errors[f]:.4f}" for f in COARSENING)
            + f"; equal accuracy at {grid} (dt {timing_config.dt:g} s); 1 core each, {truth.shape[0]} members",
        emulator_nrmse=emulator_error, persistence_nrmse=persistence_error,
        simulator_nrmse_by_grid={f"{configs[f].ny}x{configs[f].nx}": errors[f] for f in COARSENING},
        matched_grid=grid, simulator_seconds=times["simulator"], emulator_seconds=times["emulator"],
    )]
