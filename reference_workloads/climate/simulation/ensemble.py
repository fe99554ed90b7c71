"""Integrate the seeded ensemble on one block; communication and output are injected.

``run_ensemble`` is the same code on one rank (periodic halo, in-memory sink) and on many
(MPI halo exchange, each rank writing its own blocks of a Zarr store), which is what makes
the rank-count identity tests meaningful. A sink may hand back a checkpoint, from which the
time loop resumes instead of starting from the initial condition.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Protocol

import numpy as np

from reference_workloads.climate.simulation.config import SimulationConfig
from reference_workloads.climate.simulation.initial import initial_fields
from reference_workloads.climate.simulation.physics import (
    HALO,
    HaloFill,
    allocate_state,
    block_forcing,
    fill_periodic_halo,
    interior,
)
from reference_workloads.climate.simulation.snapshot import (
    SERIES,
    Snapshot,
    exact_total,
    take_snapshot,
)
from reference_workloads.climate.simulation.stepping import FusedStepper, Halo, as_halo

# Trajectories integrated together as one array batch: amortises per-call overhead while
# the three padded arrays stay cache-sized. Every operation is element-wise, so the batch
# size cannot change a single bit.
TRAJECTORY_BATCH = 8

Progress = Callable[[int, int], None]


@dataclasses.dataclass(kw_only=True, frozen=True, slots=True)
class Checkpoint:
    """Where a batch resumes: the float64 state after ``save`` and what that save wrote."""

    save: int
    state: np.ndarray
    """Interior (3, batch, local_ny, local_nx) float64."""
    time_sum: np.ndarray
    """Running sum over saves of the float32 fields, (3, batch, local_ny, local_nx) float64."""
    fields: np.ndarray
    """The snapshot fields of ``save``, needed for the next increment statistics."""


class Sink(Protocol):
    def checkpoint(self, members: slice) -> Checkpoint | None: ...

    def write(self, members: slice, save: int, snapshot: Snapshot, state: np.ndarray,
              time_sum: np.ndarray) -> None: ...

    def write_time_sum(self, members: slice, time_sum: np.ndarray) -> None: ...


@dataclasses.dataclass(kw_only=True, frozen=True, slots=True)
class Ensemble:
    """Saved snapshots of every trajectory on cell centres, held in memory (one process)."""

    h: np.ndarray
    """Fluid depth (trajectory, time, y, x), float32, metres."""
    u: np.ndarray
    """x velocity interpolated to cell centres, float32, m/s."""
    v: np.ndarray
    """y velocity interpolated to cell centres, float32, m/s."""
    series: dict[str, np.ndarray]
    """Per (trajectory, time) float64: every name in snapshot.SERIES."""
    time_sum: np.ndarray
    """(3, trajectory, y, x) float64 sum over saves of h, u, v (the climatology's numerator)."""

    @property
    def mass(self) -> np.ndarray:
        return self.series["total_mass"]

    @property
    def energy(self) -> np.ndarray:
        return self.series["total_energy"]


def padded_initial_state(config: SimulationConfig, members: range,
                         block: tuple[slice, slice]) -> np.ndarray:
    """The block's initial state with its halo taken from the global fields (no exchange)."""
    rows, cols = block
    fields = np.stack(initial_fields(config, members))
    wrapped = np.pad(fields, ((0, 0), (0, 0), (HALO, HALO), (HALO, HALO)), mode="wrap")
    return np.ascontiguousarray(
        wrapped[..., rows.start:rows.stop + 2 * HALO, cols.start:cols.stop + 2 * HALO])


def run_ensemble(config: SimulationConfig, *, block: tuple[slice, slice],
                 fill_halo: Halo | HaloFill, sink: Sink, progress: Progress | None = None,
                 stop_after: int | None = None) -> bool:
    """Integrate all trajectories on ``block``, handing every save to ``sink``.

    Returns False if it stopped after ``stop_after`` saves written in this call (a stand-in
    for a killed job, for restart tests), True once every trajectory is complete.
    """
    rows, cols = block
    local_ny, local_nx = rows.stop - rows.start, cols.stop - cols.start
    n, saves = config.n_trajectories, config.n_saves
    halo = as_halo(fill_halo)
    stepper = FusedStepper(config, halo, block_forcing(config, block))
    written = 0
    for first in range(0, n, TRAJECTORY_BATCH):
        members = slice(first, min(first + TRAJECTORY_BATCH, n))
        resumed = sink.checkpoint(members)
        if resumed is not None and resumed.save == saves - 1:
            continue  # batch complete
        if resumed is None:
            state = padded_initial_state(config, range(members.start, members.stop), block)
            # Spin-up: the saved record starts on the forced climate, not on the seeded
            # initial condition, so members are independent samples of the same climate.
            for _ in range(config.spinup_steps):
                stepper.step(state)
            if config.spinup_steps:
                halo.start(state)  # the first snapshot's centre velocities read the halo
                halo.finish(state)
            time_sum = np.zeros((3, members.stop - first, local_ny, local_nx))
            previous, begin = None, 0
        else:
            state = allocate_state(members.stop - first, local_ny, local_nx)
            interior(state)[...] = resumed.state
            time_sum = resumed.time_sum.copy()
            previous, begin = resumed.fields, resumed.save + 1
        for save in range(begin, saves):
            if save > 0:
                for _ in range(config.save_every):
                    stepper.step(state)
                halo.start(state)  # the centre velocities read the west and south faces
                halo.finish(state)
            if not np.isfinite(interior(state)).all():
                raise FloatingPointError(
                    f"simulation diverged by step {save * config.save_every} in trajectories "
                    f"{first}-{members.stop - 1}: non-finite state; lower dt={config.dt} or "
                    f"raise viscosity={config.viscosity}"
                )
            snapshot = take_snapshot(state, previous, config)
            time_sum += snapshot.fields
            sink.write(members, save, snapshot, interior(state), time_sum)
            previous = snapshot.fields
            written += 1
            if progress is not None:
                progress(first * saves + (members.stop - first) * (save + 1), n * saves)
            if stop_after is not None and written >= stop_after and save < saves - 1:
                return False
        sink.write_time_sum(members, time_sum)
    return True


class MemorySink:
    """Keeps the whole ensemble in memory: the one-process path and the tests' reference."""

    def __init__(self, config: SimulationConfig) -> None:
        grid = (config.n_trajectories, config.n_saves, config.ny, config.nx)
        self.fields = np.empty((3, *grid), np.float32)
        self.series = {name: np.empty(grid[:2]) for name in SERIES}
        self.time_sum = np.empty((3, config.n_trajectories, config.ny, config.nx))

    def checkpoint(self, members: slice) -> Checkpoint | None:
        return None

    def write(self, members: slice, save: int, snapshot: Snapshot, state: np.ndarray,
              time_sum: np.ndarray) -> None:
        self.fields[:, members, save] = snapshot.fields
        for offset, partials in enumerate(snapshot.partials):
            for name in SERIES:
                self.series[name][members.start + offset, save] = exact_total([partials[name]])

    def write_time_sum(self, members: slice, time_sum: np.ndarray) -> None:
        self.time_sum[:, members] = time_sum

    def ensemble(self) -> Ensemble:
        return Ensemble(h=self.fields[0], u=self.fields[1], v=self.fields[2],
                        series=self.series, time_sum=self.time_sum)


def serial_ensemble(config: SimulationConfig, progress: Progress | None = None, *,
                    fill_halo: Halo | HaloFill = fill_periodic_halo) -> Ensemble:
    """The whole ensemble on one process without MPI (the reference for rank-count tests)."""
    sink = MemorySink(config)
    run_ensemble(config, block=(slice(0, config.ny), slice(0, config.nx)),
                 fill_halo=fill_halo, sink=sink, progress=progress)
    return sink.ensemble()
