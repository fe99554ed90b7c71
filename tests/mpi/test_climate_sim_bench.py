"""The kernel bench's statistics: the median interval and the judgement against a target."""

from __future__ import annotations

import pytest

from tests.bench import kernel as bench


def test_the_median_interval_uses_the_binomial_order_statistics() -> None:
    values = [float(v) for v in range(10, 0, -1)]
    # n = 10: P(Binomial(10, 1/2) <= 1) = 1.1 % <= 2.5 % < P(<= 2) = 5.5 %, so ranks 2 and 9.
    assert bench.median_interval(values) == (2.0, 9.0)
    assert bench.median_interval([1.0, 2.0, 3.0]) == (1.0, 3.0)  # too few: the range


def test_a_missed_target_says_by_how_much(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bench, "catalogue_target",
                        lambda rid: {"metric": "kernel_roofline_fraction", "op": ">=", "value": 0.5})
    missed = bench.judged("AI4S-PERF-001", "kernel_roofline_fraction", [0.2] * 10, "1", why="w")
    assert missed["met"] is False and "measured 0.2 (40% of the target)" in missed["why"]
    met = bench.judged("AI4S-PERF-001", "kernel_roofline_fraction", [0.6] * 10, "1", why="w")
    assert met["met"] is True and met["repeats"] == 10 and met["interval"] == [0.6, 0.6]
    monkeypatch.setattr(bench, "catalogue_target", lambda rid: None)
    unknown = bench.judged("AI4S-PERF-001", "kernel_roofline_fraction", [0.6] * 10, "1", why="w")
    assert unknown["met"] is None and "no target in the catalogue" in unknown["why"]
