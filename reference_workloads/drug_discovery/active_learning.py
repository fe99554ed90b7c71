"""The active-learning screen, the AI4S agent pattern: dock a few, learn, screen all, dock the best.

Round 0 docks a random seed batch; every round then fits the surrogate on everything docked
so far, scores the whole library with it, and docks the ``batch`` undocked molecules it ranks
best (lowest predicted score: Vina scores are kcal/mol, lower binds better). The loop is
written against two small interfaces so the pipeline can plug in the GNN and its server:

- ``dock(smiles) -> float``: one docking call; NaN for a molecule the stage rejected (it
  costs a call and teaches nothing).
- a surrogate with ``fit(smiles, scores)`` and ``predict(smiles) -> array``, built fresh each
  round by a factory called with the round's seed.

The measure is hits per docking call (a hit scores at or below ``hit_threshold``), against
random selection spending the same calls from the same seed batch, over several seeds.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Protocol

import numpy as np
from rdkit import Chem
from rdkit.Chem import Descriptors, rdFingerprintGenerator
from sklearn.ensemble import RandomForestRegressor

from reference_workloads.core import statistics
from reference_workloads.core.recipes import require

Dock = Callable[[str], float]


class Surrogate(Protocol):
    def fit(self, smiles: Sequence[str], scores: np.ndarray) -> None: ...

    def predict(self, smiles: Sequence[str]) -> np.ndarray: ...


SurrogateFactory = Callable[[int], Surrogate]


@dataclass(kw_only=True, frozen=True, slots=True)
class LoopSettings:
    """How many docking calls the loop spends, and how."""

    seed_batch: int = 32
    """Random molecules docked before the first model."""
    batch: int = 32
    """Molecules docked per round, the surrogate's best-ranked undocked ones."""
    rounds: int = 4
    """Rounds after the seed batch; total calls = seed_batch + rounds * batch."""
    hit_threshold: float = -9.0
    """A docked molecule scoring at or below this (kcal/mol) is a hit."""

    def __post_init__(self) -> None:
        require(self.seed_batch >= 2, "active_learning.seed_batch", "an integer >= 2 (a model needs data)", self.seed_batch)
        require(self.batch >= 1, "active_learning.batch", "a positive integer", self.batch)
        require(self.rounds >= 1, "active_learning.rounds", "a positive integer", self.rounds)
        require(math.isfinite(self.hit_threshold), "active_learning.hit_threshold", "a finite score", self.hit_threshold)

    @property
    def calls(self) -> int:
        return self.seed_batch + self.rounds * self.batch


@dataclass(kw_only=True, frozen=True, slots=True)
class LoopResult:
    """What one run of the loop docked, in order, and its hit curve per round."""

    docked: tuple[int, ...]
    """Library positions in the order they were docked."""
    scores: tuple[float, ...]
    calls_per_round: tuple[int, ...]
    """Cumulative docking calls after the seed batch and after each round."""
    hits_per_round: tuple[int, ...]
    """Cumulative hits at the same points."""

    @property
    def hits_per_call(self) -> float:
        return self.hits_per_round[-1] / self.calls_per_round[-1]

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "hits_per_call": self.hits_per_call}


def _is_hit(score: float, threshold: float) -> bool:
    return math.isfinite(score) and score <= threshold


def run_loop(library: Sequence[str], dock: Dock, surrogate: SurrogateFactory | None, settings: LoopSettings,
             *, seed: int) -> LoopResult:
    """One run: the surrogate's choices, or random ones when ``surrogate`` is None."""
    if settings.calls > len(library):
        raise ValueError(f"the loop's {settings.calls} docking calls exceed the library's {len(library)} molecules: "
                         "expected seed_batch + rounds * batch <= library size")
    rng = np.random.default_rng(seed)
    order: list[int] = [int(i) for i in rng.choice(len(library), settings.seed_batch, replace=False)]
    scores: list[float] = [float(dock(library[i])) for i in order]
    calls, hits = [len(order)], [sum(_is_hit(s, settings.hit_threshold) for s in scores)]
    for round_number in range(1, settings.rounds + 1):
        undocked = np.setdiff1d(np.arange(len(library)), order)
        if surrogate is None:
            chosen = rng.choice(undocked, settings.batch, replace=False)
        else:
            chosen = _best_predicted(library, order, scores, undocked, surrogate(seed * 1000 + round_number), settings.batch)
        for i in chosen:
            order.append(int(i))
            scores.append(float(dock(library[int(i)])))
        calls.append(len(order))
        hits.append(sum(_is_hit(s, settings.hit_threshold) for s in scores))
    return LoopResult(docked=tuple(order), scores=tuple(scores), calls_per_round=tuple(calls),
                      hits_per_round=tuple(hits))


def _best_predicted(library: Sequence[str], order: list[int], scores: list[float], undocked: np.ndarray,
                    model: Surrogate, batch: int) -> np.ndarray:
    known = [(library[i], s) for i, s in zip(order, scores, strict=True) if math.isfinite(s)]
    model.fit([smiles for smiles, _ in known], np.array([s for _, s in known]))
    predicted = np.asarray(model.predict([library[i] for i in undocked]), dtype=float)
    ranked = np.lexsort((undocked, predicted))  # lowest prediction first, ties by position
    return undocked[ranked[:batch]]


def compare(library: Sequence[str], dock: Dock, surrogates: dict[str, SurrogateFactory], settings: LoopSettings,
            seeds: Sequence[int]) -> dict[str, Any]:
    """Hits per docking call of each surrogate and of random selection over ``seeds``, and each
    surrogate's per-seed gain over random (same seed batch) with its t-interval."""
    runs = {"random": [run_loop(library, dock, None, settings, seed=s) for s in seeds]}
    for name, factory in surrogates.items():
        runs[name] = [run_loop(library, dock, factory, settings, seed=s) for s in seeds]
    per_call = {name: [r.hits_per_call for r in results] for name, results in runs.items()}
    report: dict[str, Any] = {"settings": asdict(settings), "seeds": list(seeds), "calls": settings.calls,
                              "hits_per_call": {name: statistics.describe(v) for name, v in per_call.items()},
                              "curves": {name: [r.as_dict() for r in results] for name, results in runs.items()}}
    report["gain_over_random"] = {
        name: statistics.describe([a - b for a, b in zip(per_call[name], per_call["random"], strict=True)])
        for name in surrogates}
    return report


class ForestSurrogate:
    """The baseline surrogate: a random forest on count Morgan fingerprints plus descriptors."""

    DESCRIPTORS = (Descriptors.MolWt, Descriptors.MolLogP, Descriptors.TPSA, Descriptors.NumHDonors,
                   Descriptors.NumHAcceptors, Descriptors.NumRotatableBonds, Descriptors.RingCount,
                   Descriptors.NumAromaticRings, Descriptors.HeavyAtomCount, Descriptors.FractionCSP3)

    def __init__(self, seed: int, *, n_estimators: int = 200, radius: int = 2, n_bits: int = 1024,
                 cache: dict[str, np.ndarray] | None = None) -> None:
        self.cache = {} if cache is None else cache
        """Features by SMILES; pass one dict to every round's forest so the library is featurised once."""
        self.generator = rdFingerprintGenerator.GetMorganGenerator(radius=radius, fpSize=n_bits)
        self.forest = RandomForestRegressor(n_estimators=n_estimators, min_samples_leaf=1, max_features=0.3,
                                            random_state=seed, n_jobs=1)

    def features(self, smiles: Sequence[str]) -> np.ndarray:
        for text in smiles:
            if text not in self.cache:
                mol = Chem.MolFromSmiles(text)
                counts = self.generator.GetCountFingerprintAsNumPy(mol).astype(np.float64)
                self.cache[text] = np.concatenate([counts, [f(mol) for f in self.DESCRIPTORS]])
        return np.vstack([self.cache[text] for text in smiles])

    def fit(self, smiles: Sequence[str], scores: np.ndarray) -> None:
        self.forest.fit(self.features(smiles), scores)

    def predict(self, smiles: Sequence[str]) -> np.ndarray:
        return self.forest.predict(self.features(smiles))
