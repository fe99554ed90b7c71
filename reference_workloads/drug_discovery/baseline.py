"""The baseline every surrogate must beat: a random forest on Morgan fingerprints."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from rdkit import Chem, DataStructs
from rdkit.Chem import rdFingerprintGenerator
from sklearn.ensemble import RandomForestRegressor

from reference_workloads.core.recipes import require


@dataclass(kw_only=True, frozen=True, slots=True)
class BaselineConfig:
    """Random-forest baseline settings."""

    n_estimators: int = 200
    """Trees in the forest."""
    radius: int = 2
    """Morgan radius (2 is ECFP4)."""
    n_bits: int = 2048
    """Fingerprint length."""
    max_features: float = 1.0
    """Fraction of the features tried at each split, in (0, 1]: 1.0 is scikit-learn's
    regression default, about 1/3 Breiman's classic choice for regression (and 3x cheaper)."""

    def __post_init__(self) -> None:
        require(1 <= self.n_estimators <= 10_000, "baseline.n_estimators", "an integer in [1, 10000]", self.n_estimators)
        require(1 <= self.radius <= 6, "baseline.radius", "an integer in [1, 6]", self.radius)
        require(64 <= self.n_bits <= 65_536, "baseline.n_bits", "an integer in [64, 65536]", self.n_bits)
        require(0.0 < self.max_features <= 1.0, "baseline.max_features", "a number in (0, 1]", self.max_features)


def morgan_fingerprints(smiles: Sequence[str], *, radius: int, n_bits: int) -> np.ndarray:
    """Bit-vector Morgan fingerprints as a uint8 matrix [molecules, n_bits]."""
    generator = rdFingerprintGenerator.GetMorganGenerator(radius=radius, fpSize=n_bits)
    matrix = np.zeros((len(smiles), n_bits), dtype=np.uint8)
    for row, text in enumerate(smiles):
        mol = Chem.MolFromSmiles(text)
        if mol is None:
            raise ValueError(f"smiles={text!r} is invalid: expected a SMILES that RDKit parses")
        DataStructs.ConvertToNumpyArray(generator.GetFingerprint(mol), matrix[row])
    return matrix


def fit_forest(
    smiles: Sequence[str], targets: np.ndarray, config: BaselineConfig, *, seed: int
) -> RandomForestRegressor:
    """Fit on one thread with a fixed seed, so the forest is the same on every run."""
    forest = RandomForestRegressor(n_estimators=config.n_estimators, max_features=config.max_features,
                                   random_state=seed, n_jobs=1)
    forest.fit(morgan_fingerprints(smiles, radius=config.radius, n_bits=config.n_bits), targets)
    return forest


def predict_forest(forest: RandomForestRegressor, smiles: Sequence[str], config: BaselineConfig) -> np.ndarray:
    features = morgan_fingerprints(smiles, radius=config.radius, n_bits=config.n_bits)
    return forest.predict(features)
