"""What one saved step contributes to the dataset, computed on one block, no MPI.

A snapshot of a block is its float32 cell-centre fields plus, per trajectory, exact partial
sums of the domain integrals (mass, energy) and of the normalisation statistics. Partial
sums are Shewchuk expansions: summing every rank's expansion with ``math.fsum`` gives the
correctly rounded total of all cells, whatever the decomposition, so the diagnostics are
bitwise invariant in the rank count without gathering a field on one rank.
"""

from __future__ import annotations

import dataclasses
import math

import numba
import numpy as np

from reference_workloads.climate.simulation.config import SimulationConfig
from reference_workloads.climate.simulation.physics import HALO, VARIABLES, H, U, V, interior

# Per (trajectory, time) series stored with the dataset: the integrals, and for each
# variable the sum, the sum of squares and the sum of squared increments since the previous
# save of its float32 values, from which training normalises without reading a field.
STATISTICS = tuple(f"{name}_{kind}" for name in VARIABLES
                   for kind in ("sum", "sum_sq", "increment_sum_sq"))
SERIES = ("total_mass", "total_energy", *STATISTICS)


@numba.njit(cache=True)
def exact_partials(values: np.ndarray) -> np.ndarray:
    """Non-overlapping float64 expansion whose exact sum is the exact sum of ``values``."""
    partials = np.empty(80)  # an expansion of float64 values never needs more than ~40
    n = 0
    for index in range(values.size):
        x = values.flat[index]
        kept = 0
        for k in range(n):
            y = partials[k]
            if abs(x) < abs(y):
                x, y = y, x
            high = x + y
            low = y - (high - x)
            if low != 0.0:
                partials[kept] = low
                kept += 1
            x = high
        partials[kept] = x
        n = kept + 1
    return partials[:n].copy()


def exact_total(expansions: list[np.ndarray]) -> float:
    """Correctly rounded sum of every value behind a set of expansions (any order)."""
    return math.fsum(value for expansion in expansions for value in expansion.tolist())


@dataclasses.dataclass(kw_only=True, frozen=True, slots=True)
class Snapshot:
    fields: np.ndarray
    """(3, batch, local_ny, local_nx) float32 h, u, v on cell centres."""
    partials: list[dict[str, np.ndarray]]
    """Per trajectory of the batch, an expansion per name in SERIES."""


def take_snapshot(state: np.ndarray, previous: np.ndarray | None,
                  config: SimulationConfig) -> Snapshot:
    """Snapshot of a padded float64 state whose halo is filled (the west and south
    neighbours of the faces are needed to reach cell centres); ``previous`` is the last
    snapshot's fields, None at the initial state."""
    h, u, v = interior(state[H]), interior(state[U]), interior(state[V])
    u_west = state[U][..., HALO:-HALO, : -2 * HALO]
    v_south = state[V][..., : -2 * HALO, HALO:-HALO]
    fields = np.stack([h, 0.5 * (u + u_west), 0.5 * (v + v_south)]).astype(np.float32)
    cell_area = config.dx * config.dy
    kinetic = 0.25 * ((u**2 + u_west**2) + (v**2 + v_south**2))
    energy_density = h * kinetic + 0.5 * config.g * (h - config.h0) ** 2
    partials = []
    for member in range(h.shape[0]):
        series = {"total_mass": exact_partials(h[member] * cell_area),
                  "total_energy": exact_partials(energy_density[member] * cell_area)}
        for channel, name in enumerate(VARIABLES):
            values = fields[channel, member].astype(np.float64)
            series[f"{name}_sum"] = exact_partials(values)
            series[f"{name}_sum_sq"] = exact_partials(values * values)
            if previous is None:
                series[f"{name}_increment_sum_sq"] = np.zeros(1)
            else:
                step = values - previous[channel, member]
                series[f"{name}_increment_sum_sq"] = exact_partials(step * step)
        partials.append(series)
    return Snapshot(fields=fields, partials=partials)
