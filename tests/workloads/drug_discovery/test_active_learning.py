"""The active-learning loop with a cheap deterministic oracle in place of docking.

The oracle is a fixed function of the molecule (aromatic and ring content lower the "score",
size and flexibility raise it), so a surrogate that learns from what it docked should find
more of the best-scoring molecules per call than random selection; statistical: the gain's
95 % interval over seeds lies above zero.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from rdkit import Chem
from rdkit.Chem import Descriptors

from reference_workloads.core.recipes import RecipeError
from reference_workloads.drug_discovery.active_learning import (
    ForestSurrogate,
    LoopSettings,
    compare,
    run_loop,
)
from reference_workloads.drug_discovery.library import load_library


def oracle_score(smiles: str) -> float:
    mol = Chem.MolFromSmiles(smiles)
    aromatic = sum(atom.GetIsAromatic() for atom in mol.GetAtoms())
    return -0.4 * aromatic - 0.6 * Descriptors.RingCount(mol) + 0.15 * Descriptors.NumRotatableBonds(mol) \
        + 0.02 * mol.GetNumHeavyAtoms()


class CountingOracle:
    def __init__(self) -> None:
        self.calls: list[str] = []

    def __call__(self, smiles: str) -> float:
        self.calls.append(smiles)
        return math.nan if "Si" in smiles else oracle_score(smiles)


@pytest.fixture(scope="module")
def library():
    return load_library("nci", limit=300).molecules["smiles"].tolist()


@pytest.fixture(scope="module")
def settings(library):
    truth = np.array([oracle_score(s) for s in library])
    return LoopSettings(seed_batch=20, batch=15, rounds=3, hit_threshold=float(np.quantile(truth, 0.05)))


FEATURES: dict[str, np.ndarray] = {}  # one featurisation of the library for every forest


def forest(seed: int) -> ForestSurrogate:
    return ForestSurrogate(seed, n_estimators=40, n_bits=512, cache=FEATURES)


def test_the_loop_spends_exactly_its_calls_and_never_docks_a_molecule_twice(library, settings):
    oracle = CountingOracle()
    result = run_loop(library, oracle, forest, settings, seed=1)
    assert len(oracle.calls) == settings.calls == len(result.docked)
    assert len(set(result.docked)) == len(result.docked)
    assert result.calls_per_round == (20, 35, 50, 65)
    assert list(result.hits_per_round) == sorted(result.hits_per_round)
    truth_hits = sum(oracle_score(library[i]) <= settings.hit_threshold for i in result.docked)
    assert result.hits_per_round[-1] == truth_hits


def test_random_and_surrogate_share_the_seed_batch_and_are_reproducible(library, settings):
    random = run_loop(library, CountingOracle(), None, settings, seed=4)
    learned = run_loop(library, CountingOracle(), forest, settings, seed=4)
    assert random.docked[:20] == learned.docked[:20]
    assert run_loop(library, CountingOracle(), forest, settings, seed=4) == learned


def test_a_rejected_molecule_costs_a_call_but_teaches_nothing(settings):
    library = ["C[Si](C)(C)C"] * 1 + [f"{'C' * n}c1ccccc1" for n in range(1, 40)]
    oracle = CountingOracle()
    result = run_loop(library, oracle, forest, LoopSettings(seed_batch=10, batch=5, rounds=2, hit_threshold=-4.0),
                      seed=0)
    assert len(oracle.calls) == 20 and len(result.scores) == 20


def test_the_forest_finds_more_hits_per_call_than_random_selection(library, settings):
    report = compare(library, oracle_score, {"forest": forest}, settings, seeds=[0, 1, 2, 3, 4])
    gain = report["gain_over_random"]["forest"]
    print({name: round(d["mean"], 3) for name, d in report["hits_per_call"].items()}, gain["interval"])
    assert gain["interval"][0] > 0, report["hits_per_call"]
    assert report["hits_per_call"]["forest"]["mean"] > 2 * report["hits_per_call"]["random"]["mean"]


def test_settings_name_the_bad_field_and_the_loop_refuses_too_many_calls(library):
    with pytest.raises(RecipeError, match="active_learning.seed_batch=1"):
        LoopSettings(seed_batch=1)
    with pytest.raises(ValueError, match="exceed the library's 300"):
        run_loop(library, oracle_score, None, LoopSettings(seed_batch=200, batch=50, rounds=3), seed=0)
