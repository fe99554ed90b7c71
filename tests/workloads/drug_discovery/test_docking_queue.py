"""The docking work queue without MPI: every record handed out exactly once, costliest first."""

from __future__ import annotations

import pytest

from reference_workloads.drug_discovery.docking.work_queue import (
    LocalCounter,
    claims,
    dispatch_order,
    docking_cost,
)


@pytest.mark.parametrize("batch", [1, 3])
def test_interleaved_workers_claim_every_record_exactly_once(batch):
    order = tuple(range(100, 117))
    counter = LocalCounter()
    workers = [claims(order, batch, counter) for _ in range(3)]
    taken: list[list[int]] = [[], [], []]
    active = set(range(3))
    turn = 0
    while active:  # round-robin with an uneven rhythm: worker 0 claims twice as often
        worker = [0, 0, 1, 2][turn % 4]
        turn += 1
        if worker in active:
            claim = next(workers[worker], None)
            if claim is None:
                active.discard(worker)
            else:
                assert 1 <= len(claim) <= batch
                taken[worker].extend(claim)
    flat = [r for part in taken for r in part]
    assert sorted(flat) == list(order) and len(flat) == len(set(flat))
    assert all(taken)  # the uneven rhythm still gave every worker work


def test_claims_refuse_an_empty_batch():
    with pytest.raises(ValueError, match="batch=0"):
        next(claims((1, 2), 0, LocalCounter()))


def test_dispatch_order_is_costliest_first_with_ties_by_record():
    assert dispatch_order({5: 1.0, 2: 9.0, 7: 9.0, 1: 3.0}) == (2, 7, 1, 5)


def test_docking_cost_grows_with_size_and_flexibility():
    assert docking_cost("c1ccccc1") < docking_cost("CCCCCCCCc1ccccc1") < docking_cost("CCCCCCCCCCCCCCCCc1ccccc1")
    assert docking_cost("not a smiles") == 1.0
