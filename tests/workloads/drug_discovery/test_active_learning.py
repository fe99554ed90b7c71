"""The active-learning loop's parts without a server: config, pool, oracle, the loop's bookkeeping."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from reference_workloads.core.recipes import RecipeError
from reference_workloads.drug_discovery.active_learning import (
    docked_pool,
    hit_threshold,
    run_repeat,
)
from reference_workloads.drug_discovery.active_learning_config import ActiveLearningConfig
from reference_workloads.drug_discovery.active_learning_oracle import RetrospectiveOracle


@pytest.mark.parametrize(("fields", "message"), [
    ({"rounds": 0}, r"active_learning.rounds=0 is invalid: expected an integer in \[1, 100\]"),
    ({"seed_batch": 1}, "active_learning.seed_batch=1 is invalid"),
    ({"batch": 0}, "active_learning.batch=0 is invalid"),
    ({"hit_percent": 0.0}, r"active_learning.hit_percent=0.0 is invalid: expected a percentage in \(0, 50\]"),
    ({"hit_percent": math.nan}, "active_learning.hit_percent=nan is invalid"),
    ({"strategies": ("gnn", "forest")}, "active_learning.strategies=.* including 'random'"),
    ({"strategies": ("random", "random")}, "active_learning.strategies=.*distinct"),
    ({"strategies": ("random", "svm")}, "active_learning.strategies=.*'svm'"),
    ({"strategies": ["random"]}, "active_learning.strategies=\\['random'\\] is invalid: expected a tuple"),
    ({"repeats": 1}, r"active_learning.repeats=1 is invalid: expected an integer in \[2, 100\] \(an interval"),
    ({"epochs": 0}, "active_learning.epochs=0 is invalid"),
    ({"learning_rate": 0.0}, "active_learning.learning_rate=0.0 is invalid"),
    ({"screen_batch": 2000}, "active_learning.screen_batch=2000 is invalid: .*batch cap"),
    ({"neighbours": 0}, "active_learning.neighbours=0 is invalid"),
])
def test_config_errors_are_one_line_and_name_the_field(fields, message):
    with pytest.raises(RecipeError, match=message) as caught:
        ActiveLearningConfig(**fields)
    assert "\n" not in str(caught.value)


def test_the_default_config_is_valid_and_counts_its_calls():
    config = ActiveLearningConfig(seed_batch=10, batch=5, rounds=3)
    assert config.calls == 25 and config.as_dict()["strategies"] == ["gnn", "forest", "random"]


def pool_frame(n: int = 60) -> pd.DataFrame:
    scores = -np.linspace(1.0, 10.0, n)
    return pd.DataFrame({"record": np.arange(n)[::-1], "smiles": [f"{'C' * (i + 1)}O" for i in range(n)],
                         "docking_score": scores, "status": "ok"})


def test_failed_docking_rows_are_excluded_and_counted():
    pool = pool_frame()
    pool.loc[3, "docking_score"] = math.nan
    pool.loc[5, "status"] = "too_large"  # a score left on a failed row is not trusted either
    valid, excluded = docked_pool(pool)
    assert excluded == 2 and len(valid) == 58 and list(valid["record"]) == sorted(valid["record"])
    with pytest.raises(ValueError, match=r"pool lacks columns \['docking_score'\]"):
        docked_pool(pool.drop(columns="docking_score"))


def test_hits_are_the_best_percent_of_the_pool_lower_is_better():
    scores = np.arange(200, dtype=float) - 100  # -100 best
    assert hit_threshold(scores, 5.0) == -91.0  # ten molecules at or below
    assert np.sum(scores <= hit_threshold(scores, 5.0)) == 10
    assert hit_threshold(scores, 0.1) == -100.0  # never fewer than one hit


def test_the_oracle_counts_calls_and_reveals_only_what_was_docked():
    oracle = RetrospectiveOracle({1: -5.0, 2: -7.0, 3: math.nan})
    with pytest.raises(KeyError, match="record 2 has not been docked"):
        oracle.known(2)
    assert list(oracle.dock([2, 3])) == [-7.0, pytest.approx(math.nan, nan_ok=True)]
    assert oracle.calls == 2 and oracle.known(2) == -7.0
    oracle.dock([2])  # known already: no new call
    assert oracle.calls == 2
    with pytest.raises(KeyError, match="record 9 is not in the docked pool"):
        oracle.dock([9])


def _run(pool, choose, config, oracle=None):
    """The loop on the whole pool table, scores included: the loop must hide them."""
    valid, _ = docked_pool(pool)
    oracle = oracle or RetrospectiveOracle(dict(zip(valid["record"], valid["docking_score"], strict=True)))
    threshold = hit_threshold(valid["docking_score"].to_numpy(), config.hit_percent)
    rows, hits = run_repeat(valid, oracle, choose, config,
                            rng=np.random.default_rng(3), threshold=threshold)
    return rows, hits, oracle


CONFIG = ActiveLearningConfig(seed_batch=10, batch=5, rounds=3, hit_percent=10)


def test_random_spends_exactly_its_calls_and_hits_are_cumulative():
    rows, hits, oracle = _run(pool_frame(), None, CONFIG)
    assert [r["calls"] for r in rows] == [10, 15, 20, 25] and oracle.calls == 25
    assert [r["hits"] for r in rows] == sorted(r["hits"] for r in rows) and rows[-1]["hits"] == len(hits)


def test_a_strategy_that_peeks_at_undocked_scores_fails():
    def reads_the_table(candidates, docked, scores, round_number, batch):
        best = candidates.sort_values("docking_score").index.to_numpy()
        return np.array([i for i in best if i not in docked][:batch]), {}

    with pytest.raises(KeyError, match="docking_score"):
        _run(pool_frame(), reads_the_table, CONFIG)

    oracle = RetrospectiveOracle(dict(zip(range(60), -np.linspace(1.0, 10.0, 60)[::-1], strict=True)))

    def asks_the_oracle(candidates, docked, scores, round_number, batch):
        undocked = [i for i in range(len(candidates)) if i not in docked]
        ranked = sorted(undocked, key=lambda i: oracle.known(int(candidates["record"].iloc[i])))
        return np.array(ranked[:batch]), {}

    with pytest.raises(KeyError, match="has not been docked"):
        _run(pool_frame(), asks_the_oracle, CONFIG, oracle)


def test_a_strategy_that_picks_a_docked_molecule_is_refused():
    def repeats_itself(candidates, docked, scores, round_number, batch):
        return np.array(docked[:batch]), {}

    with pytest.raises(RuntimeError, match="some docked already"):
        _run(pool_frame(), repeats_itself, CONFIG)


def test_the_loop_refuses_more_calls_than_the_pool_has():
    with pytest.raises(ValueError, match="exceed the pool's 60 molecules"):
        _run(pool_frame(), None, ActiveLearningConfig(seed_batch=40, batch=10, rounds=3))
