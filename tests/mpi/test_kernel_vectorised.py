"""The fused kernel's drag and forcing terms, its in-place stage, and its vectorised loops.

The speed itself is measured by the bench (``tests/bench/kernel.py``); what is checked here is
the property it rests on, on the machine that runs the tests: LLVM turned the row loops into
contiguous vector code, with no gathers (the first kernel, indexing from a signed ``i_lo``,
compiled the loads of its row loops to gathers and took 3.6x the CPU time per step).
"""

from __future__ import annotations

import platform

import llvmlite.binding as llvm
import numba
import numpy as np
import pytest

from reference_workloads.climate.simulation import kernel
from reference_workloads.climate.simulation.config import SimulationConfig
from reference_workloads.climate.simulation.ensemble import padded_initial_state
from reference_workloads.climate.simulation.physics import fill_periodic_halo, interior
from reference_workloads.climate.simulation.stepping import PERIODIC, FusedStepper

CONFIG = SimulationConfig(nx=16, ny=12, n_trajectories=2)


def _state(scale: float = 1.0) -> np.ndarray:
    state = padded_initial_state(CONFIG, range(2), (slice(0, CONFIG.ny), slice(0, CONFIG.nx)))
    state *= scale
    fill_periodic_halo(state)
    return state


def _stage(start, source, dest, rows, cols, drag, forcing, stage=kernel.rk3_stage) -> None:
    c = CONFIG
    stage(start, source, dest, 0.25, c.dt, *rows, *cols, c.f0, c.g, c.viscosity, c.dx, c.dy,
          drag, forcing)


def _forcing(seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(0.0, 1e-5, (2, CONFIG.ny + 2, CONFIG.nx + 2))


def test_forcing_minus_drag_is_added_to_the_momentum_tendencies_only() -> None:
    source, forcing, drag = _state(), _forcing(), 2e-6
    start = source.copy()  # stage 1 form: the increment vanishes, dest = start + dt * L
    free, forced = np.zeros_like(source), np.zeros_like(source)
    whole = ((1, CONFIG.ny + 1), (1, CONFIG.nx + 1))
    _stage(start, source, free, *whole, 0.0, np.zeros_like(forcing))
    _stage(start, source, forced, *whole, drag, forcing)
    assert np.array_equal(interior(forced[0]), interior(free[0]))  # mass untouched
    for channel, terms in ((1, forcing[0]), (2, forcing[1])):
        expected = 0.25 * CONFIG.dt * interior(terms - drag * source[channel])
        got = interior(forced[channel] - free[channel])
        assert np.allclose(got, expected, rtol=1e-6, atol=1e-12 * np.abs(expected).max())
        assert np.abs(expected).max() > 1e-3  # the terms are far above rounding


def test_a_stage_in_place_and_split_gives_the_bits_of_one_into_another_array() -> None:
    """The last stage writes into ``start`` (its own loop); split as the MPI overlap does."""
    source, start, forcing = _state(), _state(1 + 1e-3), _forcing(1)
    elsewhere = np.zeros_like(source)
    _stage(start, source, elsewhere, (1, 13), (1, 17), 1e-6, forcing)
    in_place = start.copy()
    for rows, cols in (((2, 12), (2, 16)), ((1, 2), (1, 17)), ((12, 13), (1, 17)),
                       ((2, 12), (1, 2)), ((2, 12), (16, 17))):
        _stage(in_place, source, in_place, rows, cols, 1e-6, forcing)
    assert np.array_equal(interior(in_place), interior(elsewhere))
    assert not np.array_equal(interior(in_place), interior(start))


def _has_avx2() -> bool:
    features = llvm.get_host_cpu_features().flatten()
    return platform.machine() in ("x86_64", "AMD64") and "+avx2" in features


@pytest.mark.skipif(not _has_avx2(), reason="the check reads x86 AVX2 assembly")
def test_the_row_loops_compile_to_contiguous_vector_code() -> None:
    # The cached kernel cannot show its assembly: compile the same function once more.
    fresh = numba.njit(cache=False, fastmath=False, boundscheck=False,
                       error_model="numpy")(kernel.rk3_stage.py_func)
    source = _state()
    _stage(source.copy(), source, np.zeros_like(source), (1, 13), (1, 17), 0.0, _forcing(),
           stage=fresh)
    (assembly,) = fresh.inspect_asm().values()
    assert "gather" not in assembly
    packed = [line for line in assembly.splitlines()
              if line.split() and line.split()[0] in ("vmulpd", "vaddpd", "vsubpd", "vdivpd")
              and ("ymm" in line or "zmm" in line)]
    assert len(packed) >= 40, len(packed)  # every row loop has packed arithmetic


def test_the_stepper_adds_its_forcing_and_rejects_one_of_another_block_shape() -> None:
    forced, free = _state(), _state()
    FusedStepper(CONFIG, PERIODIC, forcing=_forcing()).step(forced)
    FusedStepper(CONFIG, PERIODIC).step(free)
    assert not np.array_equal(interior(forced[1]), interior(free[1]))
    wrong = np.zeros((2, CONFIG.ny + 2, CONFIG.nx + 1))
    with pytest.raises(ValueError, match=r"^forcing: expected a float64 array of shape"):
        FusedStepper(CONFIG, PERIODIC, forcing=wrong).step(_state())
