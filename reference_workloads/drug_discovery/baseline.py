"""The baseline every surrogate must beat: a random forest, tuned fairly.

Features are folded Morgan *count* fingerprints plus a stated list of RDKit physico-chemical
descriptors (``DESCRIPTORS``): bit vectors hide how many times a substructure occurs, and
size and composition, which an additive label like a force-field energy or a docking score
follows closely, are only implicit in them. The forest's hyper-parameters are chosen by a
small seeded grid search inside ``fit_forest``, scored out of bag on the training rows only
(each tree judged on the rows its bootstrap sample left out: held-out validation at the cost of
one fit per grid point, where k-fold cross-validation costs k), so the GNN is compared with a
forest that had the same chance to fit the data.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal, get_args

import numpy as np
from rdkit import Chem
from rdkit.Chem import Crippen, Descriptors, Lipinski, rdFingerprintGenerator, rdMolDescriptors
from sklearn.ensemble import RandomForestRegressor
from sklearn.metrics import r2_score

from reference_workloads.core.recipes import require

FeatureSet = Literal["counts+descriptors", "counts", "bits"]
FEATURE_SETS: tuple[str, ...] = get_args(FeatureSet)
"""Folded count fingerprints with descriptors (the default), count fingerprints alone, or the
old bit vectors alone (kept to measure what the new features are worth)."""

_ELEMENT_COUNTS = ("C", "N", "O", "S", "F", "Cl", "Br", "I", "P", "B", "Si")


def _element_counter(symbol: str) -> Callable[[Chem.Mol], float]:
    return lambda mol: float(sum(1 for atom in mol.GetAtoms() if atom.GetSymbol() == symbol))


DESCRIPTORS: tuple[tuple[str, Callable[[Chem.Mol], float]], ...] = (
    ("mol_wt", Descriptors.MolWt),
    ("heavy_atoms", lambda mol: float(mol.GetNumHeavyAtoms())),
    ("hydrogens", lambda mol: float(sum(atom.GetTotalNumHs() for atom in mol.GetAtoms()))),
    ("rotatable_bonds", lambda mol: float(Lipinski.NumRotatableBonds(mol))),
    ("h_bond_donors", lambda mol: float(Lipinski.NumHDonors(mol))),
    ("h_bond_acceptors", lambda mol: float(Lipinski.NumHAcceptors(mol))),
    ("tpsa", rdMolDescriptors.CalcTPSA),
    ("logp", Crippen.MolLogP),
    ("molar_refractivity", Crippen.MolMR),
    ("rings", lambda mol: float(rdMolDescriptors.CalcNumRings(mol))),
    ("aromatic_rings", lambda mol: float(rdMolDescriptors.CalcNumAromaticRings(mol))),
    ("fraction_sp3", rdMolDescriptors.CalcFractionCSP3),
    ("formal_charge", lambda mol: float(Chem.GetFormalCharge(mol))),
    ("charged_atoms", lambda mol: float(sum(1 for atom in mol.GetAtoms() if atom.GetFormalCharge() != 0))),
    *((f"count_{symbol}", _element_counter(symbol)) for symbol in _ELEMENT_COUNTS),
    ("count_other", lambda mol: float(sum(1 for atom in mol.GetAtoms() if atom.GetSymbol() not in _ELEMENT_COUNTS))),
)
"""Name and function of every physico-chemical descriptor, in column order."""


@dataclass(kw_only=True, frozen=True, slots=True)
class BaselineConfig:
    """Random-forest baseline settings: features, tree budget and the hyper-parameter search."""

    n_estimators: int = 200
    """Trees in the final forest: the budget; the search may choose fewer (``search_trees``)."""
    radius: int = 2
    """Morgan radius (2 is ECFP4)."""
    n_bits: int = 2048
    """Fingerprint length (counts are folded into this many columns)."""
    features: FeatureSet = "counts+descriptors"
    """One of FEATURE_SETS."""
    search_max_features: tuple[float, ...] = (0.1, 0.33, 1.0)
    """Fractions of the features tried at each split, searched: 1.0 is scikit-learn's regression
    default, about 1/3 Breiman's classic choice for regression."""
    search_min_samples_leaf: tuple[int, ...] = (1, 3)
    """Smallest leaf sizes, searched (larger leaves smooth noisy labels)."""
    search_trees: tuple[float, ...] = (0.5, 1.0)
    """Tree counts searched, as fractions of n_estimators (scored on the first trees of each
    grid point's forest, which is the same as a smaller forest with the same seed)."""

    def __post_init__(self) -> None:
        require(1 <= self.n_estimators <= 10_000, "baseline.n_estimators", "an integer in [1, 10000]", self.n_estimators)
        require(1 <= self.radius <= 6, "baseline.radius", "an integer in [1, 6]", self.radius)
        require(64 <= self.n_bits <= 65_536, "baseline.n_bits", "an integer in [64, 65536]", self.n_bits)
        require(self.features in FEATURE_SETS, "baseline.features", f"one of {', '.join(FEATURE_SETS)}", self.features)
        require(len(self.search_max_features) >= 1 and all(0.0 < f <= 1.0 for f in self.search_max_features),
                "baseline.search_max_features", "a non-empty list of numbers in (0, 1]", self.search_max_features)
        require(len(self.search_min_samples_leaf) >= 1
                and all(isinstance(m, int) and 1 <= m <= 100 for m in self.search_min_samples_leaf),
                "baseline.search_min_samples_leaf", "a non-empty list of integers in [1, 100]",
                self.search_min_samples_leaf)
        require(len(self.search_trees) >= 1 and all(0.0 < t <= 1.0 for t in self.search_trees),
                "baseline.search_trees", "a non-empty list of fractions of n_estimators in (0, 1]", self.search_trees)


def _molecules(smiles: Sequence[str]) -> list[Chem.Mol]:
    molecules = []
    for text in smiles:
        mol = Chem.MolFromSmiles(text)
        if mol is None:
            raise ValueError(f"smiles={text!r} is invalid: expected a SMILES that RDKit parses")
        molecules.append(mol)
    return molecules


def morgan_fingerprints(smiles: Sequence[str], *, radius: int, n_bits: int) -> np.ndarray:
    """Bit-vector Morgan fingerprints as a uint8 matrix [molecules, n_bits]."""
    generator = rdFingerprintGenerator.GetMorganGenerator(radius=radius, fpSize=n_bits)
    return np.array([generator.GetFingerprintAsNumPy(mol) for mol in _molecules(smiles)],
                    dtype=np.uint8).reshape(len(smiles), n_bits)


def morgan_counts(smiles: Sequence[str], *, radius: int, n_bits: int) -> np.ndarray:
    """Folded Morgan count fingerprints [molecules, n_bits]: how often each hashed environment occurs."""
    generator = rdFingerprintGenerator.GetMorganGenerator(radius=radius, fpSize=n_bits)
    return np.array([generator.GetCountFingerprintAsNumPy(mol) for mol in _molecules(smiles)],
                    dtype=np.float32).reshape(len(smiles), n_bits)


def physchem_descriptors(smiles: Sequence[str]) -> np.ndarray:
    """The DESCRIPTORS of every molecule [molecules, len(DESCRIPTORS)] as float64."""
    return np.array([[function(mol) for _, function in DESCRIPTORS] for mol in _molecules(smiles)],
                    dtype=np.float64).reshape(len(smiles), len(DESCRIPTORS))


def baseline_features(smiles: Sequence[str], config: BaselineConfig) -> np.ndarray:
    """The forest's input matrix for ``config.features``."""
    if config.features == "bits":
        return morgan_fingerprints(smiles, radius=config.radius, n_bits=config.n_bits).astype(np.float32)
    counts = morgan_counts(smiles, radius=config.radius, n_bits=config.n_bits)
    if config.features == "counts":
        return counts
    return np.hstack([counts, physchem_descriptors(smiles).astype(np.float32)])


def _tree_counts(config: BaselineConfig) -> list[int]:
    return sorted({max(1, round(fraction * config.n_estimators)) for fraction in config.search_trees})


def _forest(*, trees: int, max_features: float, min_samples_leaf: int, seed: int) -> RandomForestRegressor:
    return RandomForestRegressor(n_estimators=trees, max_features=max_features, min_samples_leaf=min_samples_leaf,
                                 random_state=seed, n_jobs=1)


def _out_of_bag_r2(forest: RandomForestRegressor, features: np.ndarray, targets: np.ndarray,
                   tree_counts: Sequence[int]) -> dict[int, float]:
    """R2 of the first k trees' out-of-bag predictions, for each k in ``tree_counts``.

    Each training row is predicted only by the trees whose bootstrap sample left it out, so
    the score is a held-out one computed on the training rows alone; rows that every one of
    the first k trees saw are left out of that k's score.
    """
    total = np.zeros(len(targets))
    voters = np.zeros(len(targets))
    scores: dict[int, float] = {}
    for position, (tree, drawn) in enumerate(zip(forest.estimators_, forest.estimators_samples_, strict=True), 1):
        held = np.ones(len(targets), dtype=bool)
        held[drawn] = False
        total[held] += tree.predict(features[held])
        voters[held] += 1
        if position in tree_counts:
            scored = voters > 0
            scores[position] = float(r2_score(targets[scored], total[scored] / voters[scored])) if scored.sum() > 1 else -np.inf
    return scores


def _truncated(forest: RandomForestRegressor, trees: int) -> RandomForestRegressor:
    """The first ``trees`` trees: scikit-learn draws each tree's seed in order from the forest's,
    so this is the forest a fit with n_estimators=trees and the same seed would give."""
    forest.estimators_ = forest.estimators_[:trees]
    forest.n_estimators = trees
    return forest


def search_forest(features: np.ndarray, targets: np.ndarray, config: BaselineConfig, *,
                  seed: int) -> RandomForestRegressor:
    """The grid point's forest with the best out-of-bag R2 over the given (training) rows.

    One forest of n_estimators trees per (max_features, min_samples_leaf); smaller tree
    counts are scored on its first trees. Ties go to the cheaper forest (fewer trees, larger
    leaves, fewer features per split), so the choice is the same on every run with the seed.
    The chosen point and its score are kept on the forest as ``search_result_``.
    """
    tree_counts = _tree_counts(config)
    best_key, best_forest, best_score = None, None, -np.inf
    for max_features, leaf in itertools.product(config.search_max_features, config.search_min_samples_leaf):
        forest = _forest(trees=config.n_estimators, max_features=max_features, min_samples_leaf=leaf, seed=seed)
        forest.fit(features, targets)
        for trees, score in _out_of_bag_r2(forest, features, targets, tree_counts).items():
            key = (round(score, 12), -trees, leaf, -max_features)
            if best_key is None or key > best_key:
                best_key, best_forest, best_score = key, forest, score
    chosen = _truncated(best_forest, -best_key[1])
    chosen.search_result_ = {"max_features": -best_key[3], "min_samples_leaf": best_key[2],
                             "n_estimators": -best_key[1], "oob_r2": best_score}
    return chosen


def fit_forest(
    smiles: Sequence[str], targets: np.ndarray, config: BaselineConfig, *, seed: int
) -> RandomForestRegressor:
    """The tuned forest on these (training) rows; one thread and a fixed seed, so the same on
    every run. Which grid point won is on the forest as ``search_result_``."""
    return search_forest(baseline_features(smiles, config), np.asarray(targets, dtype=np.float64), config, seed=seed)


def predict_forest(forest: RandomForestRegressor, smiles: Sequence[str], config: BaselineConfig) -> np.ndarray:
    return forest.predict(baseline_features(smiles, config))
