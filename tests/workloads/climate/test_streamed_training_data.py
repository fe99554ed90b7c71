"""The climate trainer's data: streamed shard by shard from the store (issue 11), with a
host peak of at most 1.5x one shard, the same seeded order on every rank, disjoint pairs
per rank, and the same batches whether the set streams or is kept resident.

Memory is measured with tracemalloc around one epoch of data iteration (NumPy and torch's
CPU buffers are reported to it). Loading the whole training set, as the trainer did before,
holds three shards here and fails the bound.
"""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import pytest
import torch

from reference_workloads.climate.emulator.data import ShardedPairs
from reference_workloads.climate.simulation import memory
from reference_workloads.climate.simulation.config import SimulationConfig
from reference_workloads.climate.simulation.dataset import build_dataset, write_dataset
from reference_workloads.climate.simulation.ensemble import serial_ensemble

CONFIG = SimulationConfig(nx=32, ny=32, n_steps=200, save_every=5, n_trajectories=6, seed=3)
BATCH, UNROLL, SEED = 4, 1, 5
EVERY = slice(0, CONFIG.n_trajectories)


@pytest.fixture(scope="module")
def stored(tmp_path_factory: pytest.TempPathFactory) -> Path:
    dataset = build_dataset(CONFIG, serial_ensemble(CONFIG), code_version="test", nranks=1)
    return write_dataset(dataset, tmp_path_factory.mktemp("data") / "ensemble.nc")


def _one_shard_bytes() -> int:
    per_shard = memory.trajectories_per_shard(CONFIG.n_saves, BATCH, UNROLL)
    assert per_shard < CONFIG.n_trajectories / 2, "the set must span several shards for the bound to mean anything"
    return per_shard * memory.shard_bytes(CONFIG)


def _epoch(pairs: ShardedPairs, epoch: int, rank: int = 0, world_size: int = 1) -> list[tuple[torch.Tensor, ...]]:
    return list(pairs.epoch(SEED, epoch, rank, world_size))


def test_an_epoch_of_streamed_pairs_peaks_under_one_and_a_half_shards(stored: Path) -> None:
    pairs = ShardedPairs(stored, EVERY, BATCH, UNROLL)
    _epoch(pairs, 0)  # first-open caches and the reused buffer outside the measurement
    del pairs
    steps = 0
    tracemalloc.start()
    try:
        pairs = ShardedPairs(stored, EVERY, BATCH, UNROLL)
        for inputs, targets in pairs.epoch(SEED, 1, 0, 1):
            steps += 1
            assert inputs.shape[0] == BATCH and targets.shape[:2] == (BATCH, UNROLL)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert steps == pairs.steps() > 0
    assert peak <= 1.5 * _one_shard_bytes(), (peak, _one_shard_bytes())
    estimate = memory.training_data_bytes(CONFIG, CONFIG.n_trajectories, BATCH, UNROLL)
    assert peak <= estimate <= 1.5 * _one_shard_bytes(), (peak, estimate)


def test_ranks_take_disjoint_halves_of_the_same_global_batches(stored: Path) -> None:
    pairs = ShardedPairs(stored, EVERY, BATCH, UNROLL)
    whole, first, second = _epoch(pairs, 2), _epoch(pairs, 2, 0, 2), _epoch(pairs, 2, 1, 2)
    assert len(whole) == len(first) == len(second) == pairs.steps()
    for (inputs, targets), (inputs0, targets0), (inputs1, targets1) in zip(whole, first, second, strict=True):
        assert torch.equal(inputs[0::2], inputs0) and torch.equal(inputs[1::2], inputs1)
        assert torch.equal(targets[0::2], targets0) and torch.equal(targets[1::2], targets1)


def test_the_order_is_a_function_of_seed_and_epoch_and_resident_data_gives_the_same_batches(stored: Path) -> None:
    streamed = ShardedPairs(stored, EVERY, BATCH, UNROLL)
    resident = ShardedPairs(stored, EVERY, BATCH, UNROLL, resident_on=torch.device("cpu"))
    again, other = _epoch(streamed, 3), _epoch(streamed, 4)
    for (inputs, targets), (inputs_r, targets_r) in zip(_epoch(streamed, 3), _epoch(resident, 3), strict=True):
        assert torch.equal(inputs, inputs_r) and torch.equal(targets, targets_r)
    assert all(torch.equal(a[0], b[0]) for a, b in zip(_epoch(streamed, 3), again, strict=True))
    assert not all(torch.equal(a[0], b[0]) for a, b in zip(again, other, strict=True)), "epochs must reshuffle"


def test_validation_scores_every_pair_once_over_the_ranks(stored: Path) -> None:
    pairs = ShardedPairs(stored, EVERY, BATCH, UNROLL)
    counted = [sum(len(i) for i, _ in pairs.scored(rank, 2, BATCH)) for rank in (0, 1)]
    assert sum(counted) == len(pairs) == CONFIG.n_trajectories * (CONFIG.n_saves - UNROLL)
