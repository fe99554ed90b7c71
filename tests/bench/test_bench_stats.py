"""The bench's interleaving, intervals, verdicts and runner bookkeeping, without timing anything real."""

from __future__ import annotations

import pytest

from tests.bench import run, stats


def test_variants_alternate_and_the_order_flips_every_repeat():
    calls: list[str] = []
    times = stats.interleaved({"a": lambda: calls.append("a") or 1.0, "b": lambda: calls.append("b") or 2.0},
                              repeats=3, warmup=1)
    assert calls == ["a", "b", "a", "b", "b", "a", "a", "b"]  # warm-up, then A B / B A / A B
    assert times == {"a": [1.0, 1.0, 1.0], "b": [2.0, 2.0, 2.0]}  # a variant's own seconds are kept


def test_paired_ratio_is_the_median_of_per_repeat_ratios_with_an_interval_around_it():
    value, (low, high) = stats.paired_ratio([2.0, 4.0, 6.0, 8.0, 10.0], [1.0, 2.0, 3.0, 4.0, 4.0])
    assert value == 2.0 and low <= value <= high <= 2.5
    assert stats.paired_ratio([1.0] * 10, [1.0] * 10) == (1.0, (1.0, 1.0))
    with pytest.raises(ValueError, match="expected paired samples of equal length"):
        stats.paired_ratio([1.0, 2.0], [1.0])
    with pytest.raises(ValueError, match="at least 2"):
        stats.bootstrap_median([1.0])


def test_verdict_reads_the_bound_from_the_catalogue_and_says_by_how_much_it_is_missed(tmp_path):
    catalogue = tmp_path / "catalogue.yaml"
    catalogue.write_text("requirements:\n  - id: X-1\n    target: {metric: m, op: '<=', value: 0.03}\n"
                         "  - id: X-2\n    title: no target\n")
    goal = stats.target("X-1", catalogue)
    assert goal == {"metric": "m", "op": "<=", "value": 0.03}
    assert stats.verdict(0.01, [0.0, 0.02], goal, "m")[0] is True
    met, why = stats.verdict(0.05, [0.04, 0.06], goal, "m")
    assert met is False and "misses <= 0.03 by 0.02" in why
    assert stats.verdict(0.01, None, stats.target("X-2", catalogue), "m")[0] is None
    assert stats.verdict(0.01, None, goal, "other")[0] is None  # a target on another metric is not ours


def test_a_module_missing_from_the_checkout_is_recorded_as_not_measured(monkeypatch):
    monkeypatch.setitem(run.MODULES, "absent_bench", (("AI4S-PERF-999", "nothing"),))
    [result] = run.run_module("absent_bench", 10)
    assert result["requirement"] == "AI4S-PERF-999" and result["value"] is None and result["met"] is None
    assert "tests/bench/absent_bench.py is not in this checkout" in result["why"]
