"""Metrics, screening ranks and the random-forest baseline."""

from __future__ import annotations

import numpy as np
import pytest

from reference_workloads.drug_discovery.baseline import (
    BaselineConfig,
    fit_forest,
    morgan_fingerprints,
    predict_forest,
)
from reference_workloads.drug_discovery.evaluate import (
    enrichment_curve,
    recall_at_fraction,
    regression_metrics,
    top_positions,
)


def test_regression_metrics_known_values():
    truth = np.array([1.0, 2.0, 3.0, 4.0])
    perfect = regression_metrics(truth, truth)
    assert perfect["rmse"] == 0 and perfect["r2"] == 1 and perfect["spearman"] == pytest.approx(1)
    shifted = regression_metrics(truth, truth + 1.0)
    assert shifted["rmse"] == pytest.approx(1.0) and shifted["r2"] == pytest.approx(1 - 4 / 5)
    assert regression_metrics(truth, truth[::-1].copy())["spearman"] == pytest.approx(-1)
    with pytest.raises(ValueError, match="shape"):
        regression_metrics(truth, truth[:3])


def test_top_positions_direction_and_ties():
    scores = np.array([5.0, 1.0, 5.0, 3.0])
    assert top_positions(scores, 0.5, higher_is_better=True).tolist() == [0, 2]
    assert top_positions(scores, 0.25, higher_is_better=False).tolist() == [1]
    assert len(top_positions(np.arange(1000.0), 0.001, higher_is_better=True)) == 1


def test_recall_and_enrichment():
    truth = np.arange(200.0)
    assert recall_at_fraction(truth, truth, 0.05, higher_is_better=False) == 1.0
    assert recall_at_fraction(truth, -truth, 0.05, higher_is_better=False) == 0.0
    half = truth.copy()
    half[[0, 1, 2, 3, 4]] = 1000.0  # five of the ten true best are ranked last
    assert recall_at_fraction(truth, half, 0.05, higher_is_better=False) == 0.5
    screened, found = enrichment_curve(truth, truth, 0.05, higher_is_better=False)
    assert found[10] == 1.0 and screened[-1] == 1.0 and found[0] == 0.0
    with pytest.raises(ValueError, match="fraction"):
        recall_at_fraction(truth, truth, 0.0, higher_is_better=True)


def test_fingerprints_and_forest_are_deterministic():
    smiles = ["CCO", "CCCO", "CCCCO", "c1ccccc1", "c1ccccc1O", "CCN", "CCCN", "c1ccncc1"]
    prints = morgan_fingerprints(smiles, radius=2, n_bits=256)
    assert prints.shape == (8, 256) and prints.dtype == np.uint8 and prints.sum() > 0
    config = BaselineConfig(n_estimators=20, n_bits=256)
    targets = np.array([len(s) for s in smiles], dtype=float)
    a = predict_forest(fit_forest(smiles, targets, config, seed=0), smiles, config)
    b = predict_forest(fit_forest(smiles, targets, config, seed=0), smiles, config)
    assert np.array_equal(a, b)
    assert np.corrcoef(a, targets)[0, 1] > 0.8


def test_bad_baseline_config():
    with pytest.raises(ValueError, match="baseline.n_bits=8"):
        BaselineConfig(n_bits=8)
    with pytest.raises(ValueError, match="smiles="):
        morgan_fingerprints(["C1CC"], radius=2, n_bits=64)
