"""The statistics library against hand-computed values and scipy."""

from __future__ import annotations

import math

import pytest
from scipy import stats as scipy_stats

from reference_workloads.core import statistics

SEEDS = [1.0, 2.0, 3.0, 4.0, 10.0]


def test_location_and_spread_by_hand():
    assert statistics.mean(SEEDS) == 4.0
    # squared deviations 9 + 4 + 1 + 0 + 36 = 50, over n - 1 = 4
    assert statistics.sample_std(SEEDS) == pytest.approx(math.sqrt(12.5))
    # drop 1.0 and 10.0: (2 + 3 + 4) / 3
    assert statistics.olympic_mean(SEEDS) == 3.0


def test_olympic_mean_drops_only_one_of_each_extreme():
    assert statistics.olympic_mean([5.0, 5.0, 1.0, 9.0, 9.0]) == pytest.approx(19.0 / 3)


def test_t_interval_by_hand_and_against_scipy():
    low, high = statistics.t_interval(SEEDS)
    half = 2.7764451051977987 * math.sqrt(12.5) / math.sqrt(5)  # t(0.975, df=4)
    assert (low, high) == pytest.approx((4.0 - half, 4.0 + half))
    expected = scipy_stats.t.interval(0.95, df=4, loc=4.0, scale=scipy_stats.sem(SEEDS))
    assert (low, high) == pytest.approx(expected)


def test_describe_carries_every_number():
    summary = statistics.describe(SEEDS)
    assert summary["n"] == 5 and summary["olympic_mean"] == 3.0
    assert summary["interval"] == pytest.approx(list(statistics.t_interval(SEEDS)))


@pytest.mark.parametrize("bad", [[], [1.0], [1.0, math.nan]])
def test_too_few_or_non_finite_values_are_rejected(bad):
    with pytest.raises(ValueError, match="expected"):
        statistics.t_interval(bad)


BASELINE = [1.00, 1.10, 0.95, 1.05, 1.02, 0.98]
MODEL = [0.80, 0.85, 0.78, 0.83, 0.79, 0.81]


def test_a_clear_improvement_passes_with_scipys_p_value():
    result = statistics.paired_comparison(MODEL, BASELINE, min_relative_margin=0.05)
    assert result.passes
    differences = [b - m for b, m in zip(BASELINE, MODEL, strict=True)]
    assert result.mean_difference == pytest.approx(sum(differences) / 6)
    assert result.interval == pytest.approx(statistics.t_interval(differences))
    assert result.p_value == pytest.approx(scipy_stats.ttest_rel(BASELINE, MODEL, alternative="greater").pvalue)
    wilcoxon = statistics.paired_comparison(MODEL, BASELINE, min_relative_margin=0.05, test="wilcoxon")
    assert wilcoxon.p_value == pytest.approx(1 / 64)  # all 6 signs positive: 1 / 2**6, exact
    assert wilcoxon.passes


def test_an_exact_tie_never_passes():
    result = statistics.paired_comparison(BASELINE, BASELINE, min_relative_margin=0.0)
    assert not result.passes
    assert result.p_value == 1.0 and result.interval == (0.0, 0.0)


def test_an_improvement_smaller_than_the_declared_margin_fails():
    # the essentially untrained emulator of the issue: 0.0822 against persistence's 0.0824
    model = [0.0822, 0.0821, 0.0823, 0.0822]
    baseline = [0.0824, 0.0823, 0.0825, 0.0824]
    assert statistics.paired_comparison(model, baseline, min_relative_margin=0.0).passes
    assert not statistics.paired_comparison(model, baseline, min_relative_margin=0.02).passes


def test_a_worse_model_fails_and_unmatched_samples_are_rejected():
    assert not statistics.paired_comparison(BASELINE, MODEL, min_relative_margin=0.0).passes
    with pytest.raises(ValueError, match="matched pairs"):
        statistics.paired_comparison(MODEL[:3], BASELINE, min_relative_margin=0.0)
    with pytest.raises(ValueError, match="min_relative_margin"):
        statistics.paired_comparison(MODEL, BASELINE, min_relative_margin=-0.1)
