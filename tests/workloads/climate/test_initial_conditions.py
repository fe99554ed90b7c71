"""Seeded initial conditions: reproducible, member-independent, balanced, rank-agnostic."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from reference_workloads.climate.simulation.config import SimulationConfig
from reference_workloads.climate.simulation.decomposition import Decomposition
from reference_workloads.climate.simulation.initial import block_state, initial_fields
from reference_workloads.climate.simulation.physics import H, allocate_state, interior

KINDS = ["vortices", "jet", "gravity_wave"]


@pytest.mark.parametrize("kind", KINDS)
def test_same_seed_same_bits_other_seed_other_field(kind: str) -> None:
    config = SimulationConfig(initial_condition=kind, n_trajectories=3)
    first = initial_fields(config, [0, 1, 2])
    again = initial_fields(config, [0, 1, 2])
    other = initial_fields(dataclasses.replace(config, seed=1), [0, 1, 2])
    for a, b in zip(first, again, strict=True):
        assert np.array_equal(a, b)
    assert not np.array_equal(first[H], other[H])
    assert not np.array_equal(first[H][0], first[H][1])  # members differ from each other


def test_a_member_does_not_depend_on_ensemble_size_or_batch() -> None:
    small = SimulationConfig(n_trajectories=4)
    large = dataclasses.replace(small, n_trajectories=40)
    alone = initial_fields(large, [3])
    in_batch = initial_fields(small, [0, 1, 2, 3])
    for a, b in zip(alone, in_batch, strict=True):
        assert np.array_equal(a[0], b[3])


@pytest.mark.parametrize("kind", ["vortices", "jet"])
def test_balanced_velocities_are_discretely_non_divergent(kind: str) -> None:
    """u, v come from a corner streamfunction, so the C-grid divergence vanishes to
    round-off (relative to the velocity gradients)."""
    config = SimulationConfig(initial_condition=kind, nx=32, ny=24, n_trajectories=2)
    _, u, v = initial_fields(config, [0, 1])
    divergence = ((u - np.roll(u, 1, axis=-1)) / config.dx
                  + (v - np.roll(v, 1, axis=-2)) / config.dy)
    scale = np.abs(u).max() / config.dy
    assert np.abs(divergence).max() < 1e-12 * scale
    assert np.abs(u).max() > 1.0  # a real flow, not zero


def test_geostrophic_sign_and_magnitude_of_a_vortex() -> None:
    """A single high (positive eta, f0 > 0) turns clockwise: the flow is eastward north of
    it. Speeds are of order g a / (f0 r)."""
    config = SimulationConfig(initial_condition="vortices", n_vortices=1, perturbation=0.0,
                              nx=64, ny=64, dt=200.0)
    h, u, v = (f[0] for f in initial_fields(config, [0]))
    j, i = np.unravel_index(np.argmax(np.abs(h - config.h0)), h.shape)
    sign = np.sign(h[j, i] - config.h0)
    north = u[(j + 4) % config.ny, i]
    assert np.sign(north) == sign
    scale = config.g * config.amplitude / (config.f0 * config.feature_width)
    assert 0.1 * scale < np.abs(u).max() < 2 * scale


def test_perturbation_has_the_requested_standard_deviation() -> None:
    base = SimulationConfig(initial_condition="gravity_wave", f0=0.0, n_trajectories=4,
                            nx=64, ny=64, dt=200.0, perturbation=2.0)
    with_perturbation = initial_fields(base, [0, 1, 2, 3])[H]
    without = initial_fields(dataclasses.replace(base, perturbation=0.0), [0, 1, 2, 3])[H]
    # Same draws for the wave phase, so the difference is the perturbation alone.
    difference = with_perturbation - without
    assert np.allclose(difference.std(axis=(-2, -1)), 2.0, rtol=1e-9)


def test_gravity_wave_starts_at_rest_with_the_requested_wave() -> None:
    config = SimulationConfig(initial_condition="gravity_wave", f0=0.0, perturbation=0.0,
                              wave_number=3)
    h, u, v = (f[0] for f in initial_fields(config, [0]))
    assert not u.any() and not v.any()
    spectrum = np.abs(np.fft.rfft(h[0] - config.h0)) / (config.nx / 2)
    assert np.argmax(spectrum) == 3
    assert spectrum[3] == pytest.approx(config.amplitude, rel=1e-12)


@pytest.mark.parametrize(("px", "py"), [(1, 1), (2, 1), (1, 2), (2, 2), (4, 2)])
def test_blocks_of_the_global_fields_reassemble_to_the_same_bits(px: int, py: int) -> None:
    config = SimulationConfig(nx=16, ny=8, n_trajectories=2)
    fields = initial_fields(config, [0, 1])
    decomposition = Decomposition(nx=16, ny=8, px=px, py=py)
    assembled = np.empty((3, 2, 8, 16))
    for rank in range(decomposition.nranks):
        state = allocate_state(2, decomposition.local_ny, decomposition.local_nx)
        block = decomposition.block(rank)
        block_state(fields, block, state)
        assembled[(slice(None), slice(None), *block)] = interior(state)
    assert np.array_equal(assembled, np.stack(fields))
