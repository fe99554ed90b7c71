"""Splits: disjoint, complete, deterministic; scaffold groups never straddle parts."""

from __future__ import annotations

import numpy as np
import pytest

from reference_workloads.drug_discovery.library import load_chembl_activities
from reference_workloads.drug_discovery.splits import random_split, scaffold_of, scaffold_split


def _check_partition(split, n):
    together = np.concatenate([split.train, split.val, split.test])
    assert sorted(together.tolist()) == list(range(n))


def test_random_split_is_seeded_and_complete():
    a = random_split(100, val_fraction=0.1, test_fraction=0.2, seed=3)
    b = random_split(100, val_fraction=0.1, test_fraction=0.2, seed=3)
    c = random_split(100, val_fraction=0.1, test_fraction=0.2, seed=4)
    _check_partition(a, 100)
    assert (len(a.train), len(a.val), len(a.test)) == (70, 10, 20)
    assert a.as_dict() == b.as_dict() and a.as_dict() != c.as_dict()


def test_scaffold_split_on_chembl_keeps_scaffolds_apart():
    smiles = load_chembl_activities(limit=300).molecules["smiles"].tolist()
    split = scaffold_split(smiles, val_fraction=0.1, test_fraction=0.2, seed=0)
    _check_partition(split, len(smiles))
    scaffolds = {name: {scaffold_of(smiles[i]) for i in getattr(split, name)} for name in ("train", "val", "test")}
    assert not scaffolds["train"] & scaffolds["test"]
    assert not scaffolds["train"] & scaffolds["val"]
    assert not scaffolds["val"] & scaffolds["test"]
    assert 0.1 * len(smiles) <= len(split.test) <= 0.2 * len(smiles)
    again = scaffold_split(smiles, val_fraction=0.1, test_fraction=0.2, seed=0)
    assert split.as_dict() == again.as_dict()


def test_scaffold_of_acyclic_is_empty():
    assert scaffold_of("CCCCO") == ""
    assert scaffold_of("CCc1ccccc1") == "c1ccccc1"


def test_bad_fractions_and_tiny_inputs():
    with pytest.raises(ValueError, match="val_fraction"):
        random_split(10, val_fraction=0.0, test_fraction=0.2, seed=0)
    with pytest.raises(ValueError, match="test_fraction"):
        scaffold_split(["CCO"], val_fraction=0.1, test_fraction=0.7, seed=0)
    with pytest.raises(ValueError, match="at least 3"):
        scaffold_split(["CCO", "CCC", "CCN"], val_fraction=0.1, test_fraction=0.2, seed=0)
