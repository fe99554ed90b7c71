"""Each climate recipe's pods are sized for their stages: the declared memory of simulate
(per rank) and train is at least the estimated peak (issue 11: h100x1 must fit)."""

from __future__ import annotations

import pytest

from reference_workloads.climate.memory_fit import GIB, memory_shortfalls, train_need_bytes
from reference_workloads.climate.recipes import book


@pytest.mark.parametrize("name", ["ci_tiny", "laptop", "h100x1"])
def test_declared_memory_holds_simulate_and_train(name):
    assert memory_shortfalls(book.get(name, [])) == []


def test_h100x1_training_data_is_sized_as_the_estimate_says():
    # 116 trajectories of a 256x256 grid: about 10 GiB of data plus its pinned copy, one process
    need = train_need_bytes(book.get("h100x1", []))
    assert 20 * GIB < need < 64 * GIB


def test_a_pod_declared_below_its_stage_is_named_in_one_line():
    small = book.get("h100x1", ["resources.train.memory_gib=8", "resources.simulate.memory_gib=0.1"])
    problems = memory_shortfalls(small)
    assert [p.split("=")[0] for p in problems] == ["resources.simulate.memory_gib", "resources.train.memory_gib"]
    assert all("\n" not in p and "GiB per pod" in p for p in problems)
