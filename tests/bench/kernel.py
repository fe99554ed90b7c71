"""The simulation kernel against the machine's memory roofline and against a peer solver.

All in one process, interleaved (triad, kernel, peer, triad, kernel, peer, ...), so the
ratios see the same machine state; every ratio is formed per repeat and reported as the
median with a 95 % bootstrap interval (``tests.bench.stats``).

Roofline. The fused RK3 step must move at least MIN_BYTES_PER_CELL_STEP per cell: each of
its three stages is separated from the next by a halo exchange, so each reads its inputs
and writes its output once: stage 1 reads the state (3 float64) and writes a (3); stage 2
reads state and a (6) and writes b (3); stage 3 reads state and b (6) and writes the state
(3): 24 float64 = 192 bytes. The bandwidth is a STREAM triad (a = b + s c, 24 bytes per
element, STREAM's count) compiled with numba in the same process on arrays far larger
than the last-level cache. roofline fraction = (192 B / triad bandwidth) / kernel time.

Peer. Clawpack's PyClaw (a solver no one here wrote), 2-D shallow water with its Roe
solver and wave-propagation method (Fortran), on the same grid, dt and one core. It solves
the non-rotating, inviscid equations by a different method: the comparison is the cost of
a cell update, not an equality of results.

Block. One rank's block of the ``h100x1`` decomposition (128 x 64 cells of 31.25 km, 8
trajectories at once), as a periodic domain of that size.
"""

from __future__ import annotations

import contextlib
import tempfile
import time
from collections.abc import Callable, Sequence
from typing import Any

import numba
import numpy as np

from tests.bench.stats import BOOTSTRAP, entry, not_measured, paired_ratio

MIN_BYTES_PER_CELL_STEP = 24 * 8
TRIAD_ELEMENTS = 16 * 2**20  # 3 arrays x 128 MiB: well beyond any last-level cache
KERNEL_STEPS = 10
PEER_STEPS = 5


def judged(requirement: str | None, metric: str, numerators: Sequence[float],
           denominators: Sequence[float], unit: str, *, why: str) -> dict[str, Any]:
    """A bench result (interface 3) of per-repeat ratios: median, bootstrap interval, and
    whether the catalogue's target is met."""
    value, interval = paired_ratio(numerators, denominators)
    return entry(requirement=requirement, metric=metric, value=value, unit=unit,
                 interval=interval, interval_kind=BOOTSTRAP, repeats=len(numerators), why=why)


@numba.njit(cache=True)
def _triad(a: np.ndarray, b: np.ndarray, c: np.ndarray, scalar: float) -> None:
    for i in range(a.size):
        a[i] = b[i] + scalar * c[i]


def block_config():
    """h100x1's grid spacing, time step and physics on one rank's block."""
    import dataclasses

    from reference_workloads.climate.recipes import h100x1
    from reference_workloads.climate.simulation.decomposition import Decomposition

    sim = h100x1().simulation
    block = Decomposition.for_ranks(sim.nx, sim.ny, sim.ranks)
    return dataclasses.replace(sim, nx=block.local_nx, ny=block.local_ny,
                               lx=block.local_nx * sim.dx, ly=block.local_ny * sim.dy,
                               n_trajectories=8, ranks=1)


def _kernel_timer(config) -> tuple[Callable[[], float], int]:
    from reference_workloads.climate.simulation.ensemble import padded_initial_state
    from reference_workloads.climate.simulation.physics import block_forcing
    from reference_workloads.climate.simulation.stepping import PERIODIC, FusedStepper

    whole = (slice(0, config.ny), slice(0, config.nx))
    state = padded_initial_state(config, range(config.n_trajectories), whole)
    # the recipe's forcing and drag: the step the simulation really takes
    stepper = FusedStepper(config, PERIODIC, block_forcing(config, whole))
    stepper.step(state)  # compile (or load the cache) and allocate the stage buffers

    def run() -> float:
        started = time.perf_counter()
        for _ in range(KERNEL_STEPS):
            stepper.step(state)
        return (time.perf_counter() - started) / KERNEL_STEPS

    return run, config.n_trajectories * config.nx * config.ny


def _triad_timer() -> Callable[[], float]:
    a, b, c = (np.full(TRIAD_ELEMENTS, value) for value in (0.0, 1.0, 2.0))
    _triad(a, b, c, 3.0)

    def run() -> float:
        started = time.perf_counter()
        _triad(a, b, c, 3.0)
        return 24 * TRIAD_ELEMENTS / (time.perf_counter() - started)

    return run


def _peer_timer(config) -> tuple[Callable[[], float], int] | str:
    """PyClaw seconds per step on one trajectory of the grid, or why it cannot run."""
    try:
        with tempfile.TemporaryDirectory() as scratch, contextlib.chdir(scratch):
            from clawpack import pyclaw, riemann  # writes pyclaw.log into the working folder
    except ImportError as error:
        return f"Clawpack is not installed ({error}); it needs a Fortran compiler to build"
    solver = pyclaw.ClawSolver2D(riemann.shallow_roe_with_efix_2D)
    for axis in range(2):
        solver.bc_lower[axis] = solver.bc_upper[axis] = pyclaw.BC.periodic
    solver.dt_variable = False
    solver.verbosity = 0
    domain = pyclaw.Domain([pyclaw.Dimension(0.0, config.lx, config.nx, name="x"),
                            pyclaw.Dimension(0.0, config.ly, config.ny, name="y")])
    state = pyclaw.State(domain, 3)
    state.problem_data["grav"] = config.g
    state.problem_data["efix"] = True
    x, y = state.grid.p_centers
    bump = ((x - config.lx / 2) ** 2 + (y - config.ly / 2) ** 2) / config.feature_width**2
    state.q[0] = config.h0 + config.amplitude * np.exp(-bump)
    state.q[1] = state.q[2] = 0.0
    solution = pyclaw.Solution(state, domain)
    solver.setup(solution)
    solver.dt = config.dt

    def run() -> float:
        before = solver.status["numsteps"]
        started = time.perf_counter()
        solver.evolve_to_time(solution, solution.t + PEER_STEPS * config.dt)
        return (time.perf_counter() - started) / (solver.status["numsteps"] - before)

    run()
    return run, config.nx * config.ny


def measure(repeats: int) -> list[dict[str, Any]]:
    config = block_config()
    kernel, kernel_cells = _kernel_timer(config)
    triad = _triad_timer()
    peer = _peer_timer(config)
    roofline, seconds, ones, peer_rates, rates = [], [], [], [], []
    for _ in range(repeats):
        bandwidth = triad()
        per_cell = kernel() / kernel_cells
        roofline.append(MIN_BYTES_PER_CELL_STEP / bandwidth)
        seconds.append(per_cell)
        rates.append(1.0 / per_cell)
        ones.append(1.0)
        if not isinstance(peer, str):
            peer_run, peer_cells = peer
            peer_rates.append(peer_cells / peer_run())
    block = f"{config.nx}x{config.ny} cells x {config.n_trajectories} trajectories"
    results = [
        judged("AI4S-PERF-001", "kernel_roofline_fraction", roofline, seconds, "1",
               why=(f"fused RK3 step on one h100x1 rank block ({block}), "
                    f"{MIN_BYTES_PER_CELL_STEP} B per cell-step against the in-process "
                    "triad bandwidth; the step is compute-bound (about 280 flops and 3 "
                    "divisions per cell-step in 4-wide vector loops, the block's arrays in "
                    "cache)")),
        judged(None, "kernel_cell_updates_per_s", rates, ones, "cell-updates/s",
               why=f"one core, {block}"),
        judged(None, "triad_bandwidth", [MIN_BYTES_PER_CELL_STEP / r for r in roofline], ones,
               "B/s", why=f"numba triad on 3 x {TRIAD_ELEMENTS} float64, 24 B per element"),
    ]
    if isinstance(peer, str):
        results.append(not_measured(None, "kernel_over_pyclaw_cell_updates", peer))
    else:
        results.append(judged(None, "kernel_over_pyclaw_cell_updates", rates, peer_rates, "1",
                              why=("cell-updates/s of the fused kernel over PyClaw's 2-D "
                                   "shallow water (Roe, wave propagation, Fortran) on the "
                                   "same grid and dt, one core each")))
    return results
