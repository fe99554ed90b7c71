"""Mutation: the longest-processing-time balancing sorted cheapest first.

Many small costs stay within the LPT bound in either order, so these costs have one large
job after several small ones: cheapest-first puts the large job on an already loaded rank
(makespan 6 against an optimum of 4, above the LPT bound of 4/3 - 1/(3m) times the optimum).
"""

from __future__ import annotations

import itertools

import numpy as np

from reference_workloads.drug_discovery.physics_mpi import balance


def _optimum(costs: dict[int, float], nranks: int) -> float:
    """The smallest makespan over every assignment (brute force: small inputs only)."""
    records = sorted(costs)
    best = float("inf")
    for ranks in itertools.product(range(nranks), repeat=len(records)):
        loads = [0.0] * nranks
        for record, rank in zip(records, ranks, strict=True):
            loads[rank] += costs[record]
        best = min(best, max(loads))
    return best


def _lpt_bound(nranks: int) -> float:
    return 4.0 / 3.0 - 1.0 / (3.0 * nranks)


def test_one_large_job_after_small_ones_gets_its_own_rank():
    costs = {0: 1.0, 1: 1.0, 2: 1.0, 3: 1.0, 4: 4.0}
    plan = balance(costs, 2)
    assert plan.assignments == ((4,), (0, 1, 2, 3))
    assert plan.loads == (4.0, 4.0)
    assert max(plan.loads) <= _lpt_bound(2) * _optimum(costs, 2)


def test_makespan_within_the_lpt_bound_on_random_costs():
    rng = np.random.default_rng(5)
    for nranks in (2, 3):
        for _ in range(20):
            costs = {r: float(c) for r, c in enumerate(rng.integers(1, 30, size=7))}
            plan = balance(costs, nranks)
            assert max(plan.loads) <= _lpt_bound(nranks) * _optimum(costs, nranks) + 1e-9
