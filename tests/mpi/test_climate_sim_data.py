"""Training data from the simulation's store: streamed per trajectory, normalised and
averaged from statistics stored with the dataset, within a stated memory bound.

Memory is measured with tracemalloc (NumPy reports its buffers to it); the bound is 1.5x
one shard, a shard being one trajectory (time, channel, y, x) float32.
"""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from reference_workloads.climate.emulator import data
from reference_workloads.climate.simulation.config import SimulationConfig
from reference_workloads.climate.simulation.dataset import build_dataset, write_dataset
from reference_workloads.climate.simulation.ensemble import serial_ensemble

CONFIG = SimulationConfig(nx=32, ny=32, n_steps=200, save_every=5, n_trajectories=4, seed=2)


@pytest.fixture(scope="module")
def stored(tmp_path_factory: pytest.TempPathFactory) -> Path:
    dataset = build_dataset(CONFIG, serial_ensemble(CONFIG), code_version="test", nranks=1)
    return write_dataset(dataset, tmp_path_factory.mktemp("data") / "ensemble.nc")


def _shard_bytes() -> int:
    return CONFIG.n_saves * 3 * CONFIG.ny * CONFIG.nx * 4


def _peak(action) -> int:
    tracemalloc.start()
    try:
        action()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_stored_statistics_give_the_normalisation_of_the_fields(stored: Path) -> None:
    """Agreement to float32 rounding (the fields' own statistics are float64 sums of the
    same float32 values, in another order)."""
    chosen = slice(0, 3)
    expected = data.normalisation(data.load_states(stored, chosen))
    got = data.normalisation_from_dataset(stored, chosen)
    for a, b in zip(got, expected, strict=True):
        assert np.allclose(a.numpy(), b.numpy(), rtol=1e-6, atol=0), (a, b)


def test_the_climatology_comes_from_stored_time_sums(stored: Path) -> None:
    expected = data.load_states(stored, slice(0, 3)).mean(axis=(0, 1), dtype=np.float64)
    got = data.climatology(stored, slice(0, 3))
    assert np.allclose(got, expected, rtol=1e-6, atol=1e-5)


def test_streaming_stays_under_one_and_a_half_shards(stored: Path) -> None:
    seen: list[float] = []

    def stream() -> None:
        for shard in data.iter_trajectories(stored, slice(None)):
            seen.append(float(shard[-1, 0].mean()))

    peak = _peak(stream)
    assert len(seen) == CONFIG.n_trajectories
    assert peak <= 1.5 * _shard_bytes(), (peak, _shard_bytes())
    normalising = _peak(lambda: data.normalisation_from_dataset(stored, slice(0, 3)))
    assert normalising <= 0.5 * _shard_bytes(), (normalising, _shard_bytes())


def test_loading_adds_at_most_half_a_shard_to_what_it_returns(stored: Path) -> None:
    returned = 3 * _shard_bytes()
    peak = _peak(lambda: data.load_states(stored, slice(0, 3)))
    assert peak <= returned + 0.5 * _shard_bytes(), (peak, returned)
