"""Each climate recipe's pods are sized for their stages: the declared memory of simulate
(per rank) and train is at least the estimated peak (issue 11: h100x1 must fit)."""

from __future__ import annotations

import pytest

from reference_workloads.climate.memory_fit import GIB, memory_shortfalls, train_need_bytes
from reference_workloads.climate.recipes import book
from reference_workloads.climate.simulation import memory


@pytest.mark.parametrize("name", ["ci_tiny", "laptop", "h100x1"])
def test_declared_memory_holds_simulate_and_train(name):
    assert memory_shortfalls(book.get(name, [])) == []


def test_h100x1_training_streams_a_shard_not_the_whole_set():
    # 112 training trajectories of a 256x256 grid are about 10 GiB; the trainer holds one
    # shard of 10 of them (0.9 GiB) and a batch, beside the process itself
    recipe = book.get("h100x1", [])
    whole_set = recipe.train.train_trajectories * memory.shard_bytes(recipe.simulation)
    need = train_need_bytes(recipe)
    assert whole_set > 9 * GIB
    assert need < 3 * GIB


def test_the_training_estimate_grows_with_the_shard_not_with_the_set():
    """The broken input: an estimate that counted every trajectory would grow tenfold here."""
    recipe = book.get("h100x1", [])
    sim, train = recipe.simulation, recipe.train
    assert memory.training_data_bytes(sim, 1000, train.global_batch_size, train.unroll) == \
        memory.training_data_bytes(sim, 100, train.global_batch_size, train.unroll)
    assert memory.training_data_bytes(sim, 1, train.global_batch_size, train.unroll) < \
        memory.training_data_bytes(sim, 100, train.global_batch_size, train.unroll)


def test_a_pod_declared_below_its_stage_is_named_in_one_line():
    small = book.get("h100x1", ["resources.train.memory_gib=1", "resources.simulate.memory_gib=0.1"])
    problems = memory_shortfalls(small)
    assert [p.split("=")[0] for p in problems] == ["resources.simulate.memory_gib", "resources.train.memory_gib"]
    assert all("\n" not in p and "GiB per pod" in p for p in problems)
