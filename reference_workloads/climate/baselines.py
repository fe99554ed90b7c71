"""Baselines the emulator is judged against, besides persistence and climatology.

- Damped persistence: climatology plus the initial anomaly times the lag autocorrelation of
  the anomalies, fitted per variable and lead on the TRAINING members only (fitting it on the
  held-out members would let the baseline see the answer).
- The simulator itself on a coarser grid: restarted from the block-averaged initial state,
  run to the horizon and interpolated back to the fine grid. It is the physics baseline an
  emulator has to beat at equal cost, and the reference for its speed-up at equal accuracy.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np


@dataclasses.dataclass(frozen=True, slots=True)
class TrainingStatistics:
    """What the evaluation takes from the training members, in one streamed pass."""

    climatology: np.ndarray
    """(channel, y, x) time and member mean."""
    anomaly_std: np.ndarray
    """(channel,) standard deviation of the anomalies (state - climatology)."""
    lag_correlation: np.ndarray
    """(lead, channel) anomaly autocorrelation at lag ``lead`` (1 at lead 0)."""
    domain_energy: float
    """Mean over members and times of the domain-mean energy (see ``domain_energy``)."""


def domain_energy(states: np.ndarray, g: float, h0: float) -> np.ndarray:
    """(...,) domain-mean kinetic plus available potential energy per unit mass, J/kg, of
    cell-centred states (..., channel, y, x): 0.5 (u^2 + v^2) + 0.5 g (h - h0)^2 / h0."""
    h, u, v = (states[..., c, :, :].astype(np.float64) for c in range(3))
    return np.mean(0.5 * (u**2 + v**2) + 0.5 * g * (h - h0) ** 2 / h0, axis=(-2, -1))


def training_statistics(trajectories: Iterable[np.ndarray], climatology: np.ndarray, max_lag: int,
                        g: float, h0: float) -> TrainingStatistics:
    """Fit the baselines' statistics on the training trajectories, each (time, channel, y, x).

    The lag correlation at lag L is sum(a_t a_{t+L}) / sqrt(sum(a_t^2) sum(a_{t+L}^2)) over
    every member, start time and grid point, per channel.
    """
    clim = climatology.astype(np.float64)
    channels = clim.shape[0]
    cross = np.zeros((max_lag + 1, channels))
    first_sq = np.zeros((max_lag + 1, channels))
    second_sq = np.zeros((max_lag + 1, channels))
    total_sq, count, energies = np.zeros(channels), 0, []
    for trajectory in trajectories:
        anomaly = trajectory.astype(np.float64) - clim
        total_sq += np.sum(anomaly**2, axis=(0, 2, 3))
        count += anomaly.shape[0] * anomaly.shape[2] * anomaly.shape[3]
        energies.append(domain_energy(trajectory, g, h0))
        for lag in range(min(max_lag, anomaly.shape[0] - 1) + 1):
            early, late = anomaly[: anomaly.shape[0] - lag], anomaly[lag:]
            cross[lag] += np.sum(early * late, axis=(0, 2, 3))
            first_sq[lag] += np.sum(early**2, axis=(0, 2, 3))
            second_sq[lag] += np.sum(late**2, axis=(0, 2, 3))
    if count == 0:
        raise ValueError("training_statistics got no trajectories: expected at least one training member")
    denominator = np.sqrt(first_sq * second_sq)
    correlation = np.divide(cross, denominator, out=np.zeros_like(cross), where=denominator > 0)
    return TrainingStatistics(climatology=climatology, anomaly_std=np.sqrt(total_sq / count),
                              lag_correlation=correlation,
                              domain_energy=float(np.mean(np.concatenate(energies))))


def damped_persistence(initial: np.ndarray, climatology: np.ndarray, lag_correlation: np.ndarray) -> np.ndarray:
    """(sample, lead, channel, y, x) forecast clim + r(lead, channel) * (initial - clim)."""
    anomaly = initial.astype(np.float64) - climatology
    damped = climatology + lag_correlation[None, :, :, None, None] * anomaly[:, None]
    return damped.astype(np.float32)


# --- the simulator on a coarser grid ---------------------------------------------------


def coarse_config(config: Any, factor: int) -> Any:
    """``config`` on a grid ``factor`` times coarser in each direction, one rank, with the
    longest time step (a divisor of the fine step count per save) that the config accepts."""
    if config.nx % factor or config.ny % factor or config.nx // factor < 4 or config.ny // factor < 4:
        raise ValueError(f"coarsening factor={factor} is invalid: expected a divisor of nx={config.nx} and "
                         f"ny={config.ny} leaving at least 4 cells")
    for step_factor in range(factor, 0, -1):
        if config.save_every % step_factor:
            continue
        try:
            return dataclasses.replace(config, nx=config.nx // factor, ny=config.ny // factor,
                                       dt=config.dt * step_factor, n_steps=config.n_steps // step_factor,
                                       save_every=config.save_every // step_factor, ranks=1)
        except ValueError:
            continue
    raise ValueError(f"coarsening factor={factor} is invalid: no time step the simulation config accepts")


def coarsening_factors(config: Any, largest: int = 8) -> list[int]:
    """1, 2, 4, ... up to ``largest`` where the grid divides and a stable config exists."""
    factors = []
    factor = 1
    while factor <= largest:
        try:
            coarse_config(config, factor)
            factors.append(factor)
        except ValueError:
            pass
        factor *= 2
    return factors


def coarsen(fields: np.ndarray, factor: int) -> np.ndarray:
    """Block means of cell-centred fields (..., y, x) over ``factor`` x ``factor`` cells."""
    if factor == 1:
        return fields
    *lead, ny, nx = fields.shape
    blocks = fields.reshape(*lead, ny // factor, factor, nx // factor, factor)
    return blocks.mean(axis=(-3, -1))


def refine(fields: np.ndarray, factor: int) -> np.ndarray:
    """Cell-centred periodic fields (..., y, x) interpolated onto the grid ``factor`` times
    finer: cubic splines on the periodic grid, cell centres mapped to cell centres."""
    from scipy import ndimage

    if factor == 1:
        return fields
    *lead, ny, nx = fields.shape
    flat = fields.reshape(-1, ny, nx)
    # one 2-D field at a time: zooming the stacked array would spline-filter the stacking
    # axes too (same values, many times the work)
    out = np.stack([ndimage.zoom(f, factor, order=3, mode="grid-wrap", grid_mode=True) for f in flat])
    return out.reshape(*lead, ny * factor, nx * factor)


def _faces(centred: np.ndarray, axis: int) -> np.ndarray:
    # The dataset averages the C-grid faces onto centres, u_c[i] = (u[i] + u[i-1]) / 2; the
    # restart takes each east (north) face as the mean of the two centres beside it. That
    # inverts the average up to the grid-scale mode, which the viscosity damps anyway.
    return 0.5 * (centred + np.roll(centred, -1, axis=axis))


def _stepper(config: Any) -> Any:
    # The one place that builds the simulator's stepper, so a change of its constructor
    # (forcing, drag) is one edit here.
    from .simulation.physics import block_forcing, fill_periodic_halo
    from .simulation.stepping import FusedStepper, as_halo

    whole = (slice(0, config.ny), slice(0, config.nx))
    return FusedStepper(config, as_halo(fill_periodic_halo), block_forcing(config, whole))


def run_from(config: Any, initial: np.ndarray, saves: int) -> tuple[np.ndarray, float]:
    """Run the simulator ``config`` from cell-centred states ``initial`` (sample, channel,
    y, x) for ``saves`` saved intervals; returns (sample, save, channel, y, x) float32
    cell-centred fields (save 0 = the initial state) and the seconds of time stepping."""
    from .simulation.physics import allocate_state, fill_periodic_halo, interior, to_cell_centres

    batch = initial.shape[0]
    state = allocate_state(batch, config.ny, config.nx)
    fields = interior(state)
    fields[0] = initial[:, 0]
    fields[1] = _faces(initial[:, 1].astype(np.float64), axis=-1)
    fields[2] = _faces(initial[:, 2].astype(np.float64), axis=-2)
    stepper = _stepper(config)
    stepper.step(state[:, :1].copy())  # compiles (or loads) the kernel outside the clock
    out = np.empty((batch, saves + 1, 3, config.ny, config.nx), np.float32)
    out[:, 0] = initial
    seconds = 0.0
    for save in range(1, saves + 1):
        start = time.perf_counter()
        for _ in range(config.save_every):
            stepper.step(state)
        seconds += time.perf_counter() - start
        fill_periodic_halo(state)
        h, u, v = interior(state)
        u_c, v_c = to_cell_centres(u, v)
        out[:, save, 0], out[:, save, 1], out[:, save, 2] = h, u_c, v_c
    return out, seconds


def coarse_forecast(config: Any, initial: np.ndarray, factor: int, horizon: int) -> tuple[np.ndarray, float]:
    """The simulator ``factor`` times coarser from the block-averaged ``initial`` (sample,
    channel, y, x) to ``horizon`` saves, interpolated back; (forecast, stepping seconds)."""
    coarse = coarse_config(config, factor)
    run, seconds = run_from(coarse, coarsen(initial, factor), horizon)
    return refine(run, factor).astype(np.float32), seconds


@dataclasses.dataclass(frozen=True, slots=True)
class CostMatch:
    """Which coarse grid costs what the emulator costs, and which one is as accurate."""

    factors: list[int]
    grids: list[str]
    simulator_seconds: list[float]
    simulator_error: list[float]
    emulator_seconds: float
    emulator_error: float
    equal_cost_factor: int
    equal_accuracy_factor: int | None

    @property
    def speedup_at_equal_accuracy(self) -> float | None:
        """Seconds of the cheapest grid as accurate as the emulator over the emulator's
        seconds; None when even the finest grid tried is less accurate than the emulator."""
        if self.equal_accuracy_factor is None:
            return None
        index = self.factors.index(self.equal_accuracy_factor)
        return self.simulator_seconds[index] / self.emulator_seconds

    def as_dict(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "speedup_at_equal_accuracy": self.speedup_at_equal_accuracy}


def match_cost(factors: Sequence[int], grids: Sequence[str], simulator_seconds: Sequence[float],
               simulator_error: Sequence[float], emulator_seconds: float, emulator_error: float) -> CostMatch:
    """The equal-cost grid (measured seconds closest to the emulator's, in log ratio) and the
    equal-accuracy grid (the cheapest whose error at the horizon is at most the emulator's)."""
    ratios = [abs(np.log(s / emulator_seconds)) for s in simulator_seconds]
    equal_cost = factors[int(np.argmin(ratios))]
    accurate = [(s, f) for f, s, e in zip(factors, simulator_seconds, simulator_error, strict=True)
                if e <= emulator_error]
    return CostMatch(factors=list(factors), grids=list(grids), simulator_seconds=[float(s) for s in simulator_seconds],
                     simulator_error=[float(e) for e in simulator_error], emulator_seconds=float(emulator_seconds),
                     emulator_error=float(emulator_error), equal_cost_factor=int(equal_cost),
                     equal_accuracy_factor=int(min(accurate)[1]) if accurate else None)
