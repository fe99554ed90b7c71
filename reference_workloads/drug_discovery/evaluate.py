"""Regression and screening metrics, shared by the surrogate, the baseline and the screen."""

from __future__ import annotations

import math

import numpy as np
from scipy import stats


def _pair(truth: np.ndarray, predicted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    truth = np.asarray(truth, dtype=np.float64)
    predicted = np.asarray(predicted, dtype=np.float64)
    if truth.shape != predicted.shape or truth.ndim != 1 or truth.size < 2:
        raise ValueError(
            f"predictions shape={predicted.shape} is invalid: expected 1-D of at least 2, matching truth {truth.shape}"
        )
    return truth, predicted


def regression_metrics(truth: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    """RMSE, R^2 (1 - SSE/SST) and Spearman rank correlation."""
    truth, predicted = _pair(truth, predicted)
    residual = truth - predicted
    total = float(np.sum((truth - truth.mean()) ** 2))
    r2 = 1.0 - float(np.sum(residual**2)) / total if total > 0 else math.nan
    spearman = stats.spearmanr(truth, predicted).statistic
    return {
        "rmse": float(np.sqrt(np.mean(residual**2))),
        "r2": r2,
        "spearman": float(spearman),
        "n": int(truth.size),
    }


def top_positions(scores: np.ndarray, fraction: float, *, higher_is_better: bool) -> np.ndarray:
    """Positions of the best ``fraction`` of scores (at least one); ties broken by position."""
    if not 0.0 < fraction <= 1.0:
        raise ValueError(f"fraction={fraction!r} is invalid: expected a number in (0, 1]")
    scores = np.asarray(scores, dtype=np.float64)
    count = max(1, math.ceil(fraction * scores.size))
    keys = -scores if higher_is_better else scores
    return np.lexsort((np.arange(scores.size), keys))[:count]


def recall_at_fraction(
    truth: np.ndarray, predicted: np.ndarray, fraction: float, *, higher_is_better: bool
) -> float:
    """Share of the true top ``fraction`` that the predicted top ``fraction`` recovers."""
    truth, predicted = _pair(truth, predicted)
    true_top = set(top_positions(truth, fraction, higher_is_better=higher_is_better).tolist())
    found = set(top_positions(predicted, fraction, higher_is_better=higher_is_better).tolist())
    return len(true_top & found) / len(true_top)


def enrichment_curve(
    truth: np.ndarray, predicted: np.ndarray, fraction: float, *, higher_is_better: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Fraction of the library screened (by predicted rank) against fraction of true hits found.

    A hit is a molecule in the true top ``fraction``; a random order gives the diagonal.
    """
    truth, predicted = _pair(truth, predicted)
    hits = np.zeros(truth.size, dtype=bool)
    hits[top_positions(truth, fraction, higher_is_better=higher_is_better)] = True
    order = top_positions(predicted, 1.0, higher_is_better=higher_is_better)
    found = np.cumsum(hits[order]) / hits.sum()
    screened = np.arange(1, truth.size + 1) / truth.size
    return np.concatenate([[0.0], screened]), np.concatenate([[0.0], found])
