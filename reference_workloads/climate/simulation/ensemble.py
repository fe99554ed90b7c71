"""Integrate the seeded ensemble on one block; communication is injected, never imported.

``run_ensemble`` is the same code on one rank (local periodic halo, identity gather) and on
many (MPI halo exchange, gather to rank 0), which is what makes the rank-count identity
tests meaningful.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np

from reference_workloads.climate.simulation.config import SimulationConfig
from reference_workloads.climate.simulation.initial import block_state, initial_fields
from reference_workloads.climate.simulation.physics import (
    H,
    HaloFill,
    U,
    V,
    allocate_state,
    fill_periodic_halo,
    interior,
    rk3_step,
    to_cell_centres,
    total_energy,
    total_mass,
)

# Trajectories integrated together as one array batch: amortises NumPy call overhead while
# the temporaries stay cache-sized (8 members of a 32x64 block ran 2.8x faster per member
# than 32). Every operation is element-wise, so the batch size cannot change a single bit.
TRAJECTORY_BATCH = 8

Gather = Callable[[np.ndarray], "np.ndarray | None"]
Progress = Callable[[int, int], None]


@dataclasses.dataclass(kw_only=True, frozen=True, slots=True)
class Ensemble:
    """Saved snapshots of every trajectory, on cell centres, as held by rank 0."""

    h: np.ndarray
    """Fluid depth (trajectory, time, y, x), float32, metres."""
    u: np.ndarray
    """x velocity interpolated to cell centres, float32, m/s."""
    v: np.ndarray
    """y velocity interpolated to cell centres, float32, m/s."""
    mass: np.ndarray
    """Domain-integrated volume (trajectory, time), float64 from the float64 state, m^3."""
    energy: np.ndarray
    """Domain-integrated energy per unit density (trajectory, time), float64, m^5/s^2."""


def run_ensemble(config: SimulationConfig, *, block: tuple[slice, slice], fill_halo: HaloFill,
                 gather: Gather, progress: Progress | None = None) -> Ensemble | None:
    """Integrate all trajectories on ``block``; return the ensemble where ``gather`` returns
    global fields (rank 0), None elsewhere.

    ``gather`` takes the interior ``(3, batch, local_ny, local_nx)`` and returns the global
    ``(3, batch, ny, nx)`` float64 fields on the root, None on other ranks; it is collective,
    so every rank calls it at every save.
    """
    rows, cols = block
    local_ny, local_nx = rows.stop - rows.start, cols.stop - cols.start
    n, saves = config.n_trajectories, config.n_saves
    out: dict[str, np.ndarray] | None = None
    done = 0
    for first in range(0, n, TRAJECTORY_BATCH):
        members = list(range(first, min(first + TRAJECTORY_BATCH, n)))
        state = allocate_state(len(members), local_ny, local_nx)
        block_state(initial_fields(config, members), block, state)
        scratch = np.empty_like(state)
        for save in range(saves):
            if save > 0:
                for _ in range(config.save_every):
                    rk3_step(state, scratch, config, fill_halo)
            fields = gather(np.ascontiguousarray(interior(state)))
            if fields is None:
                continue
            if not np.isfinite(fields).all():
                raise FloatingPointError(
                    f"simulation diverged by step {save * config.save_every} in trajectories "
                    f"{members[0]}-{members[-1]}: non-finite state; lower dt={config.dt} or "
                    f"raise viscosity={config.viscosity}"
                )
            if out is None:
                out = _allocate_output(config)
            _store(out, fields, config, slice(first, first + len(members)), save)
            done += len(members)
            if progress is not None:
                progress(done, n * saves)
    return None if out is None else Ensemble(**out)


def _allocate_output(config: SimulationConfig) -> dict[str, np.ndarray]:
    grid = (config.n_trajectories, config.n_saves, config.ny, config.nx)
    series = (config.n_trajectories, config.n_saves)
    return {"h": np.empty(grid, np.float32), "u": np.empty(grid, np.float32),
            "v": np.empty(grid, np.float32), "mass": np.empty(series), "energy": np.empty(series)}


def _store(out: dict[str, np.ndarray], fields: np.ndarray, config: SimulationConfig,
           members: slice, save: int) -> None:
    h, u, v = fields[H], fields[U], fields[V]
    out["mass"][members, save] = total_mass(h, config)
    out["energy"][members, save] = total_energy(h, u, v, config)
    u_centre, v_centre = to_cell_centres(u, v)
    out["h"][members, save] = h
    out["u"][members, save] = u_centre
    out["v"][members, save] = v_centre


def serial_ensemble(config: SimulationConfig, progress: Progress | None = None) -> Ensemble:
    """The whole ensemble on one process without MPI (the reference for rank-count tests)."""
    ensemble = run_ensemble(config, block=(slice(0, config.ny), slice(0, config.nx)),
                            fill_halo=fill_periodic_halo, gather=lambda fields: fields,
                            progress=progress)
    assert ensemble is not None
    return ensemble
