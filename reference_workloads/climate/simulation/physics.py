"""Rotating shallow water on an Arakawa C grid: pure NumPy, never imports MPI.

Equations (vector-invariant momentum, flux-form mass, f-plane)::

    du/dt =  q * (h v) - d/dx (g h + K) + nu lap(u) + F sin(k_f y) - r u
    dv/dt = -q * (h u) - d/dy (g h + K) + nu lap(v)                - r v
    dh/dt = -d/dx (h u) - d/dy (h v)

with potential vorticity q = (f0 + zeta) / h, kinetic energy K = (u^2 + v^2) / 2, a steady
Kolmogorov forcing F sin(k_f y) (k_f = 2 pi n / ly) and linear Rayleigh drag r: the forced
2-D turbulence benchmark (Kochkov et al. 2021, PNAS 118, e2101784118), whose forcing injects
energy at one scale and whose drag removes what the inverse cascade brings to large scales,
so the flow reaches a statistically stationary state.
The Coriolis/vorticity term uses Sadourny's (1975) energy-conserving average; time stepping
is SSP-RK3 (Shu & Osher 1988).

Layout. A state is one float64 array ``(3, batch, ny + 2, nx + 2)`` holding h, u, v of a
batch of trajectories on one block with a halo of one cell on every side. Index [j, i] of
h is the cell centre (x_i, y_j); u[j, i] sits on the east face (x_{i+1/2}, y_j); v[j, i] on
the north face (x_i, y_{j+1/2}); vorticity and q live on the north-east corner.

Why the result does not depend on the decomposition: every update is a stencil of reach
one cell (diagonals included) evaluated with the same operations in the same order at every
point, and there is no reduction inside a step. Given identical halos, a block computes
bit-for-bit what the same cells compute in the undivided grid.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from reference_workloads.climate.simulation.config import SimulationConfig

HALO = 1
H, U, V = 0, 1, 2
VARIABLES = ("h", "u", "v")  # names of the channels H, U, V as the dataset stores them

HaloFill = Callable[[np.ndarray], None]


def allocate_state(batch: int, ny: int, nx: int) -> np.ndarray:
    """A zeroed padded state for ``batch`` trajectories on an ny x nx block."""
    return np.zeros((3, batch, ny + 2 * HALO, nx + 2 * HALO), dtype=np.float64)


def interior(state: np.ndarray) -> np.ndarray:
    """View of the owned cells of a padded array (halo stripped on the last two axes)."""
    return state[..., HALO:-HALO, HALO:-HALO]


def fill_periodic_halo(state: np.ndarray) -> None:
    """Fill the halo of a block that covers the whole periodic domain (the one-rank case).

    Columns first, then rows over the full width, so the corners receive the diagonal
    neighbour exactly as the two-pass MPI exchange delivers it.
    """
    wrap_x(state)
    wrap_y(state)


def wrap_x(state: np.ndarray) -> None:
    """Periodic x halo of a block spanning the whole x extent: a local copy, no messages."""
    state[..., :, 0] = state[..., :, -2]
    state[..., :, -1] = state[..., :, 1]


def wrap_y(state: np.ndarray) -> None:
    """Periodic y halo (full rows, x halo included) of a block spanning the whole y extent."""
    state[..., 0, :] = state[..., -2, :]
    state[..., -1, :] = state[..., 1, :]


def forcing_field(config: SimulationConfig) -> np.ndarray:
    """The steady momentum forcing (m/s^2) on the global grid, (2, ny, nx): u points, v points.

    u[j, i] sits at y_j = (j + 1/2) dy, so the u forcing is F sin(k_f y_j); v is unforced.
    Built globally and sliced per block, so no rank count can change a bit of it.
    """
    y_u = (np.arange(config.ny) + 0.5) * config.dy
    field = np.zeros((2, config.ny, config.nx))
    field[0] = (config.forcing_amplitude * np.sin(config.forcing_k * y_u))[:, None]
    return field


def block_forcing(config: SimulationConfig, block: tuple[slice, slice]) -> np.ndarray:
    """The forcing of one block, padded like a state: (2, local_ny + 2, local_nx + 2)."""
    rows, cols = block
    wrapped = np.pad(forcing_field(config), ((0, 0), (HALO, HALO), (HALO, HALO)), mode="wrap")
    return np.ascontiguousarray(
        wrapped[:, rows.start:rows.stop + 2 * HALO, cols.start:cols.stop + 2 * HALO])


def tendency(state: np.ndarray, config: SimulationConfig, forcing: np.ndarray) -> np.ndarray:
    """d(h, u, v)/dt on the owned cells of a padded state whose halo is filled.

    ``forcing`` is the block's padded forcing (``block_forcing``), shared by every trajectory.
    """
    h, u, v = state[H], state[U], state[V]
    dx, dy, g, nu = config.dx, config.dy, config.g, config.viscosity

    # Mass fluxes on the faces; array index == padded index.
    flux_x = 0.5 * (h[..., :, :-1] + h[..., :, 1:]) * u[..., :, :-1]  # (ny+2, nx+1)
    flux_y = 0.5 * (h[..., :-1, :] + h[..., 1:, :]) * v[..., :-1, :]  # (ny+1, nx+2)

    # Potential vorticity on corners; array index == padded index.
    zeta = ((v[..., :-1, 1:] - v[..., :-1, :-1]) / dx
            - (u[..., 1:, :-1] - u[..., :-1, :-1]) / dy)  # (ny+1, nx+1)
    h_corner = 0.25 * ((h[..., :-1, :-1] + h[..., :-1, 1:]) + (h[..., 1:, :-1] + h[..., 1:, 1:]))
    q = (config.f0 + zeta) / h_corner

    # Bernoulli function g h + K at centres; array index == padded index - 1.
    kinetic = 0.25 * ((u[..., 1:, 1:] ** 2 + u[..., 1:, :-1] ** 2)
                      + (v[..., 1:, 1:] ** 2 + v[..., :-1, 1:] ** 2))
    bernoulli = g * h[..., 1:, 1:] + kinetic  # (ny+1, nx+1)

    out = np.empty((3, *h.shape[:-2], h.shape[-2] - 2, h.shape[-1] - 2))

    out[H] = -((flux_x[..., 1:-1, 1:] - flux_x[..., 1:-1, :-1]) / dx
               + (flux_y[..., 1:, 1:-1] - flux_y[..., :-1, 1:-1]) / dy)

    # u: q times h v averaged to the u point (x-average of the flux, then y-average).
    q_flux_y = q[..., :, 1:] * (flux_y[..., :, 1:-1] + flux_y[..., :, 2:])  # (ny+1, nx)
    out[U] = (0.25 * (q_flux_y[..., 1:, :] + q_flux_y[..., :-1, :])
              - (bernoulli[..., :-1, 1:] - bernoulli[..., :-1, :-1]) / dx)

    # v: minus q times h u averaged to the v point (y-average of the flux, then x-average).
    q_flux_x = q[..., 1:, :] * (flux_x[..., 1:-1, :] + flux_x[..., 2:, :])  # (ny, nx+1)
    out[V] = (-0.25 * (q_flux_x[..., :, 1:] + q_flux_x[..., :, :-1])
              - (bernoulli[..., 1:, :-1] - bernoulli[..., :-1, :-1]) / dy)

    if nu > 0:
        out[U] += nu * _laplacian(u, dx, dy)
        out[V] += nu * _laplacian(v, dx, dy)
    # After the viscous terms and as one added term, the order the kernel uses (same bits).
    drag = config.drag
    out[U] += interior(forcing[0]) - drag * interior(u)
    out[V] += interior(forcing[1]) - drag * interior(v)
    return out


def _laplacian(a: np.ndarray, dx: float, dy: float) -> np.ndarray:
    centre = a[..., 1:-1, 1:-1]
    return ((a[..., 1:-1, 2:] - 2.0 * centre + a[..., 1:-1, :-2]) / dx**2
            + (a[..., 2:, 1:-1] - 2.0 * centre + a[..., :-2, 1:-1]) / dy**2)


def rk3_step(state: np.ndarray, scratch: np.ndarray, config: SimulationConfig,
             fill_halo: HaloFill, forcing: np.ndarray) -> None:
    """Advance ``state`` one SSP-RK3 step in place; ``scratch`` is a same-shape work array.

    ``fill_halo`` refreshes a padded array's halo (a local copy on one rank, an MPI
    exchange otherwise); it is called once per stage.
    """
    dt = config.dt
    start = interior(state).copy()

    fill_halo(state)
    interior(scratch)[...] = start + dt * tendency(state, config, forcing)

    # Stages 2 and 3 in increment form, u_n + c * ((u_s - u_n) + dt L(u_s)): equal to the
    # textbook (1 - c) u_n + c (u_s + dt L(u_s)) in exact arithmetic, but the rounding acts on
    # the small increment only. The textbook form loses mass steadily because
    # fl(1/3) + fl(2/3) = 1 - 2**-54.
    fill_halo(scratch)
    stage = interior(scratch)
    stage[...] = start + 0.25 * ((stage - start) + dt * tendency(scratch, config, forcing))

    fill_halo(scratch)
    interior(state)[...] = start + (2.0 / 3.0) * (
        (stage - start) + dt * tendency(scratch, config, forcing))


def to_cell_centres(u: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Average global periodic face velocities (..., ny, nx) onto cell centres."""
    return 0.5 * (u + np.roll(u, 1, axis=-1)), 0.5 * (v + np.roll(v, 1, axis=-2))


def total_mass(h: np.ndarray, config: SimulationConfig) -> np.ndarray:
    """Fluid volume (m^3) of global fields h (..., ny, nx): sum of h times the cell area."""
    return h.sum(axis=(-2, -1)) * (config.dx * config.dy)


def total_energy(h: np.ndarray, u: np.ndarray, v: np.ndarray,
                 config: SimulationConfig) -> np.ndarray:
    """Kinetic plus available potential energy per unit density (m^5/s^2) of global fields."""
    kinetic = 0.25 * ((u**2 + np.roll(u, 1, axis=-1) ** 2) + (v**2 + np.roll(v, 1, axis=-2) ** 2))
    density = h * kinetic + 0.5 * config.g * (h - config.h0) ** 2
    return density.sum(axis=(-2, -1)) * (config.dx * config.dy)
