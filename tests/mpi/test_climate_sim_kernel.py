"""The fused, compiled RK3 step against the NumPy reference scheme (in process, no MPI).

Tolerance: the fused kernel multiplies by 1/dx where the reference divides by dx, one
rounding per term, so the two agree to a few ulps per step; after 100 steps of a vortex
flow the difference is asserted below 1e-12 of each field's magnitude (measured: ~3e-14).
Splitting the update into interior and frame, as the MPI overlap does, is asserted bitwise.
"""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from reference_workloads.climate.simulation import kernel
from reference_workloads.climate.simulation.config import SimulationConfig
from reference_workloads.climate.simulation.ensemble import padded_initial_state
from reference_workloads.climate.simulation.physics import (
    block_forcing,
    fill_periodic_halo,
    interior,
    rk3_step,
)
from reference_workloads.climate.simulation.stepping import PERIODIC, FusedStepper

TOLERANCE = 1e-12


def _forcing(config: SimulationConfig) -> np.ndarray:
    return block_forcing(config, (slice(0, config.ny), slice(0, config.nx)))


def _initial(config: SimulationConfig, members: int = 2) -> np.ndarray:
    return padded_initial_state(config, range(members), (slice(0, config.ny), slice(0, config.nx)))


FORCED = {"forcing_amplitude": 3e-4, "forcing_wavenumber": 4, "drag": 3e-6}


@pytest.mark.parametrize(("kind", "extra"), [("vortices", {}), ("jet", {}),
                                             ("vortices", FORCED)])
def test_fused_step_equals_the_numpy_scheme_within_the_stated_tolerance(
        kind: str, extra: dict) -> None:
    config = SimulationConfig(nx=24, ny=16, n_trajectories=2, initial_condition=kind, **extra)
    fused, reference = _initial(config), _initial(config)
    scratch = np.empty_like(reference)
    forcing = _forcing(config)
    stepper = FusedStepper(config, PERIODIC, forcing)
    for _ in range(100):
        stepper.step(fused)
        rk3_step(reference, scratch, config, fill_periodic_halo, forcing)
    got, expected = interior(fused), interior(reference)
    for channel in range(3):
        scale = np.abs(expected[channel]).max()
        assert np.abs(got[channel] - expected[channel]).max() <= TOLERANCE * scale, channel
    assert np.abs(expected[1] - interior(_initial(config))[1]).max() > 1e-3  # the flow moved


def test_interior_then_frame_gives_the_bits_of_one_whole_block_update() -> None:
    config = SimulationConfig(nx=16, ny=12, n_trajectories=2, **FORCED | {"forcing_wavenumber": 3})
    source = _initial(config)
    fill_periodic_halo(source)
    start = _initial(config) * (1 + 1e-3)
    whole, split = np.zeros_like(source), np.zeros_like(source)
    args = (config.f0, config.g, config.viscosity, config.dx, config.dy, config.drag,
            _forcing(config))
    kernel.rk3_stage(start, source, whole, 0.25, config.dt, 1, 13, 1, 17, *args)
    for rows, cols in (((2, 12), (2, 16)), ((1, 2), (1, 17)), ((12, 13), (1, 17)),
                       ((2, 12), (1, 2)), ((2, 12), (16, 17))):
        kernel.rk3_stage(start, source, split, 0.25, config.dt, *rows, *cols, *args)
    assert np.array_equal(whole, split)
    assert np.count_nonzero(interior(whole)) == interior(whole).size


def test_a_step_allocates_no_block_sized_array() -> None:
    """No copy per step: after the first step (which allocates the two stage buffers), a step
    allocates less than a tenth of one state."""
    config = SimulationConfig(nx=64, ny=64, dt=150.0, n_trajectories=4)
    state = _initial(config, members=4)
    stepper = FusedStepper(config, PERIODIC, _forcing(config))
    stepper.step(state)
    tracemalloc.start()
    try:
        stepper.step(state)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < state.nbytes / 10, (peak, state.nbytes)
