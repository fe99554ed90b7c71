"""Seeded initial conditions, built on the global grid so no rank count can change them.

Trajectory k draws every random number from ``numpy.random.default_rng((seed, k))`` in a
fixed order; each rank builds the global fields and keeps its block. Height anomalies are
analytic, exactly periodic functions; for the balanced kinds the velocity is the discrete
geostrophic flow of the streamfunction psi = g eta / f0 sampled on cell corners, so it is
non-divergent on the C grid to round-off.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from reference_workloads.climate.simulation.config import SimulationConfig
from reference_workloads.climate.simulation.physics import interior

# Largest zonal/meridional wave number of the random perturbation: large scales only, so
# the perturbation seeds instabilities without injecting grid-scale noise.
PERTURBATION_MAX_WAVENUMBER = 3


def trajectory_rng(seed: int, trajectory: int) -> np.random.Generator:
    """The generator of one ensemble member, independent of every other member."""
    return np.random.default_rng((seed, trajectory))


def initial_fields(config: SimulationConfig,
                   trajectories: Sequence[int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Global (h, u, v), each (len(trajectories), ny, nx) float64, on C-grid positions."""
    shape = (len(trajectories), config.ny, config.nx)
    h, u, v = (np.empty(shape) for _ in range(3))
    for slot, trajectory in enumerate(trajectories):
        h[slot], u[slot], v[slot] = _one_trajectory(config, trajectory_rng(config.seed, trajectory))
    return h, u, v


def _one_trajectory(config: SimulationConfig,
                    rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    eta = _anomaly_function(config, rng)
    x_centre = (np.arange(config.nx) + 0.5) * config.dx
    y_centre = (np.arange(config.ny) + 0.5) * config.dy
    h = config.h0 + eta(x_centre[None, :], y_centre[:, None])
    if config.initial_condition == "gravity_wave":
        zeros = np.zeros_like(h)
        return h, zeros, zeros.copy()
    # Streamfunction on the north-east corners (x_{i+1/2}, y_{j+1/2}).
    x_face = (np.arange(config.nx) + 1.0) * config.dx
    y_face = (np.arange(config.ny) + 1.0) * config.dy
    psi = (config.g / config.f0) * eta(x_face[None, :], y_face[:, None])
    u = -(psi - np.roll(psi, 1, axis=0)) / config.dy
    v = (psi - np.roll(psi, 1, axis=1)) / config.dx
    return h, u, v


def _anomaly_function(config: SimulationConfig, rng: np.random.Generator):
    """eta(x, y) in metres: the chosen feature plus a random large-scale perturbation."""
    kx, ky = 2 * np.pi / config.lx, 2 * np.pi / config.ly
    kind = config.initial_condition
    if kind == "vortices":
        n = config.n_vortices
        centres_x = rng.uniform(0, config.lx, n)
        centres_y = rng.uniform(0, config.ly, n)
        signs = rng.choice([-1.0, 1.0], n)
        amplitudes = config.amplitude * rng.uniform(0.5, 1.0, n) * signs
        radii = config.feature_width * rng.uniform(0.75, 1.25, n)
    elif kind == "jet":
        offset = rng.uniform(0, config.ly)
        # tanh(s cos) has fronts of half-width ly / (2 pi s): two opposed, exactly periodic jets.
        steepness = config.ly / (2 * np.pi * config.feature_width)
    else:
        phase = rng.uniform(0, 2 * np.pi)
    perturb = _perturbation_modes(config, rng)

    def eta(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        if kind == "vortices":
            field = np.zeros(np.broadcast_shapes(x.shape, y.shape))
            for cx, cy, amp, radius in zip(centres_x, centres_y, amplitudes, radii, strict=True):
                # exp((cos - 1) / (k r)^2) is a Gaussian of radius r near the centre and
                # exactly periodic, so no seam appears at the domain edge.
                field += amp * np.exp((np.cos(kx * (x - cx)) - 1) / (kx * radius) ** 2
                                      + (np.cos(ky * (y - cy)) - 1) / (ky * radius) ** 2)
        elif kind == "jet":
            field = -config.amplitude * np.tanh(steepness * np.cos(ky * (y - offset))) \
                / np.tanh(steepness)
        else:
            field = config.amplitude * np.cos(config.wave_number * kx * x + phase)
        return field + perturb(x, y)  # perturb has the full (y, x) shape

    return eta


def _perturbation_modes(config: SimulationConfig, rng: np.random.Generator):
    """Random sum of large-scale Fourier modes with standard deviation ``perturbation``."""
    m = PERTURBATION_MAX_WAVENUMBER
    modes = [(kk, ll) for kk in range(-m, m + 1) for ll in range(0, m + 1)
             if ll > 0 or kk > 0]
    weights = rng.standard_normal(len(modes))
    phases = rng.uniform(0, 2 * np.pi, len(modes))
    # A cosine of amplitude a has variance a^2 / 2.
    scale = config.perturbation / np.sqrt(0.5 * np.sum(weights**2))
    kx, ky = 2 * np.pi / config.lx, 2 * np.pi / config.ly

    def perturb(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        field = np.zeros(np.broadcast_shapes(x.shape, y.shape))
        for (kk, ll), weight, phase in zip(modes, weights, phases, strict=True):
            field += (scale * weight) * np.cos(kk * kx * x + ll * ky * y + phase)
        return field

    return perturb


def block_state(fields: Sequence[np.ndarray], block: tuple[slice, slice],
                state: np.ndarray) -> None:
    """Copy the block of the global (h, u, v) fields into a padded state's interior."""
    rows, cols = block
    for index, field in enumerate(fields):
        interior(state[index])[...] = field[:, rows, cols]
