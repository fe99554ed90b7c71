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


# Shares of a ranking at which docking-hit enrichment is reported (top 1 % and top 5 %).
ENRICHMENT_FRACTIONS = {"top_1pct": 0.01, "top_5pct": 0.05}


def hit_threshold(pool: np.ndarray, hit_fraction: float, *, higher_is_better: bool) -> float:
    """The worst score still a hit: the best ``hit_fraction`` (at least one) of the docked pool."""
    pool = np.asarray(pool, dtype=np.float64)
    return float(pool[top_positions(pool, hit_fraction, higher_is_better=higher_is_better)[-1]])


def is_hit(scores: np.ndarray, threshold: float, *, higher_is_better: bool) -> np.ndarray:
    scores = np.asarray(scores, dtype=np.float64)
    return scores >= threshold if higher_is_better else scores <= threshold


def hit_enrichment(hits: np.ndarray, predicted: np.ndarray, fraction: float, *, higher_is_better: bool) -> dict:
    """Recall and enrichment factor of the hits among the predicted top ``fraction``, with the
    counts they rest on; a random order is expected to select ``selected / molecules`` of the
    hits (enrichment factor 1)."""
    hits = np.asarray(hits, dtype=bool)
    predicted = np.asarray(predicted, dtype=np.float64)
    if hits.shape != predicted.shape or hits.ndim != 1 or hits.size < 1:
        raise ValueError(f"predictions shape={predicted.shape} is invalid: expected 1-D matching hits {hits.shape}")
    selected = top_positions(predicted, fraction, higher_is_better=higher_is_better)
    found, total = int(hits[selected].sum()), int(hits.sum())
    recall = found / total if total else math.nan
    return {"molecules": int(hits.size), "hits": total, "selected": int(selected.size), "hits_selected": found,
            "recall": recall, "enrichment_factor": recall * hits.size / selected.size if total else math.nan,
            "random_recall": selected.size / hits.size}


def hit_curve(hits: np.ndarray, predicted: np.ndarray, *, higher_is_better: bool) -> tuple[np.ndarray, np.ndarray]:
    """Fraction of molecules taken in predicted order against fraction of the hits found."""
    hits = np.asarray(hits, dtype=bool)
    order = top_positions(predicted, 1.0, higher_is_better=higher_is_better)
    found = np.cumsum(hits[order]) / max(1, int(hits.sum()))
    screened = np.arange(1, hits.size + 1) / hits.size
    return np.concatenate([[0.0], screened]), np.concatenate([[0.0], found])
