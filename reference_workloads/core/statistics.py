"""Statistics over repeated runs: location, spread, intervals, and model-vs-baseline tests.

Everything takes plain sequences of floats (one value per seed, or per matched sample)
and returns JSON-ready numbers, so a headline can carry its own uncertainty.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np
from scipy import stats

CONFIDENCE = 0.95


def _values(values: Sequence[float], *, at_least: int, what: str) -> np.ndarray:
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 1 or array.size < at_least:
        raise ValueError(f"{what} has {array.size} values: expected a flat sequence of at least {at_least}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{what} holds a NaN or infinite value: expected finite numbers")
    return array


def mean(values: Sequence[float]) -> float:
    return float(np.mean(_values(values, at_least=1, what="mean")))


def sample_std(values: Sequence[float]) -> float:
    """Standard deviation with Bessel's correction (n - 1), the spread of a sample of seeds."""
    return float(np.std(_values(values, at_least=2, what="sample_std"), ddof=1))


def olympic_mean(values: Sequence[float]) -> float:
    """MLPerf's olympic mean: drop one lowest and one highest value, average the rest."""
    array = np.sort(_values(values, at_least=3, what="olympic_mean"))
    return float(np.mean(array[1:-1]))


def t_interval(values: Sequence[float], confidence: float = CONFIDENCE) -> tuple[float, float]:
    """Two-sided Student-t interval of the mean (the values are independent draws)."""
    array = _values(values, at_least=2, what="t_interval")
    half = stats.t.ppf(0.5 + confidence / 2, df=array.size - 1) * np.std(array, ddof=1) / math.sqrt(array.size)
    centre = float(np.mean(array))
    return centre - float(half), centre + float(half)


def describe(values: Sequence[float], confidence: float = CONFIDENCE) -> dict[str, Any]:
    """Mean, sample std, olympic mean (when there are 3 or more) and the t-interval of the mean."""
    array = _values(values, at_least=2, what="describe")
    low, high = t_interval(array, confidence)
    return {
        "n": int(array.size), "mean": mean(array), "std": sample_std(array),
        "olympic_mean": olympic_mean(array) if array.size >= 3 else None,
        "interval": [low, high], "confidence": confidence,
    }


@dataclass(frozen=True, slots=True)
class PairedComparison:
    """Model against baseline on the same samples, where lower is better (an error)."""

    n: int
    mean_difference: float
    """Mean of baseline - model: positive when the model's error is smaller."""
    interval: tuple[float, float]
    """Two-sided t-interval of ``mean_difference``."""
    relative_improvement: float
    """mean_difference / mean(baseline)."""
    required_margin: float
    """The declared minimum relative improvement, e.g. 0.02 for 2 %."""
    p_value: float
    """One-sided p-value of 'the model is no better than the baseline'."""
    test: str
    passes: bool
    """The whole interval lies above ``required_margin * mean(baseline)``."""

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "interval": list(self.interval)}


def paired_comparison(model: Sequence[float], baseline: Sequence[float], *, min_relative_margin: float,
                      test: Literal["t", "wilcoxon"] = "t", confidence: float = CONFIDENCE) -> PairedComparison:
    """Does the model's error beat the baseline's on matched samples by at least the margin?

    The margin is relative to the baseline's mean error and must be non-negative, so an
    exact tie (model == baseline on every sample) never passes: its interval is [0, 0].
    """
    if not min_relative_margin >= 0:
        raise ValueError(f"min_relative_margin={min_relative_margin!r} is invalid: expected a number >= 0")
    model_a = _values(model, at_least=2, what="model")
    base_a = _values(baseline, at_least=2, what="baseline")
    if model_a.shape != base_a.shape:
        raise ValueError(f"model has {model_a.size} samples and baseline {base_a.size}: expected matched pairs")
    differences = base_a - model_a
    low, high = t_interval(differences, confidence)
    mean_difference = float(np.mean(differences))
    if not np.any(differences):
        p_value = 1.0  # no evidence at all; scipy would return NaN for a zero-variance sample
    elif test == "t":
        p_value = float(stats.ttest_rel(base_a, model_a, alternative="greater").pvalue)
    elif test == "wilcoxon":
        p_value = float(stats.wilcoxon(base_a, model_a, alternative="greater").pvalue)
    else:
        raise ValueError(f"test={test!r} is invalid: expected 't' or 'wilcoxon'")
    if math.isnan(p_value):  # every difference equal and non-zero: the t statistic is infinite
        p_value = 0.0 if mean_difference > 0 else 1.0
    scale = float(np.mean(base_a))
    threshold = min_relative_margin * scale
    return PairedComparison(
        n=int(differences.size), mean_difference=mean_difference, interval=(low, high),
        relative_improvement=mean_difference / scale if scale else math.nan,
        required_margin=min_relative_margin, p_value=p_value, test=test,
        passes=bool(low > threshold and low > 0),
    )


def training_seeds(manifest: dict[str, Any]) -> list[int]:
    """The run's training seeds; a seed used twice would count one sample as two."""
    seeds = [int(s) for s in manifest["seeds"]["training"]]
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds.training={seeds} is invalid: expected distinct seeds (a seed is never reused)")
    return seeds


def over_seeds(values: Sequence[float]) -> dict[str, Any]:
    """Mean, spread, olympic mean and 95 % interval over seeds (with one seed: the value)."""
    if len(values) == 1:
        return {"n": 1, "mean": float(values[0]), "std": None, "olympic_mean": None, "interval": None,
                "confidence": None}
    return describe(values)
