"""Deterministic train/validation/test splits: random, or by Bemis-Murcko scaffold.

A scaffold split keeps every molecule of one scaffold in the same part, so the test set
asks the model about chemotypes it has never seen: the honest setting for QSAR.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from rdkit import Chem
from rdkit.Chem.Scaffolds import MurckoScaffold

SPLIT_KINDS = ("random", "scaffold")


@dataclass(kw_only=True, frozen=True, slots=True)
class Split:
    """Row positions of each part; disjoint, sorted, together covering every row."""

    train: np.ndarray
    val: np.ndarray
    test: np.ndarray

    def as_dict(self) -> dict[str, list[int]]:
        return {name: getattr(self, name).tolist() for name in ("train", "val", "test")}


def _check_fractions(val_fraction: float, test_fraction: float) -> None:
    if not 0.0 < val_fraction < 0.5:
        raise ValueError(f"val_fraction={val_fraction!r} is invalid: expected a number in (0, 0.5)")
    if not 0.0 < test_fraction < 0.5:
        raise ValueError(f"test_fraction={test_fraction!r} is invalid: expected a number in (0, 0.5)")


def _as_split(train: list[int], val: list[int], test: list[int]) -> Split:
    return Split(
        train=np.array(sorted(train), dtype=np.int64),
        val=np.array(sorted(val), dtype=np.int64),
        test=np.array(sorted(test), dtype=np.int64),
    )


def random_split(n: int, *, val_fraction: float, test_fraction: float, seed: int) -> Split:
    """A seeded permutation cut into test, validation and training rows."""
    _check_fractions(val_fraction, test_fraction)
    if n < 3:
        raise ValueError(f"n={n!r} is invalid: expected at least 3 molecules to split")
    order = np.random.default_rng(seed).permutation(n).tolist()
    n_test = max(1, round(n * test_fraction))
    n_val = max(1, round(n * val_fraction))
    return _as_split(order[n_test + n_val :], order[n_test : n_test + n_val], order[:n_test])


def scaffold_of(smiles: str) -> str:
    """The Bemis-Murcko scaffold SMILES; acyclic molecules share the empty scaffold."""
    mol = Chem.MolFromSmiles(smiles)
    if mol is None:
        raise ValueError(f"smiles={smiles!r} is invalid: expected a SMILES that RDKit parses")
    return MurckoScaffold.MurckoScaffoldSmiles(mol=mol, includeChirality=False)


def scaffold_split(
    smiles: Sequence[str], *, val_fraction: float, test_fraction: float, seed: int
) -> Split:
    """Whole scaffold groups to test and validation until each is full, the rest to training.

    Large groups go to training first (the usual deterministic scaffold split); groups of
    equal size are ordered by a seeded shuffle, so ``seed`` still picks among valid splits.
    A group is never divided to fill a quota, so the fractions hold approximately: test and
    validation each hold at most their quota unless they hold a single group (neither is left
    empty), and miss it by less than the smallest group that went to a later part.
    """
    _check_fractions(val_fraction, test_fraction)
    groups: dict[str, list[int]] = {}
    for position, text in enumerate(smiles):
        groups.setdefault(scaffold_of(text), []).append(position)
    if len(groups) < 3:
        raise ValueError(
            f"smiles has {len(groups)} scaffolds, which is invalid: expected at least 3 for a scaffold split"
        )
    keys = sorted(groups)
    tiebreak = dict(zip(keys, np.random.default_rng(seed).permutation(len(keys)).tolist(), strict=True))
    ordered = sorted(keys, key=lambda k: (-len(groups[k]), tiebreak[k]))
    n = len(smiles)
    test_quota, val_quota = n * test_fraction, n * val_fraction
    train: list[int] = []
    val: list[int] = []
    test: list[int] = []
    # The largest scaffolds stay in training; smaller ones fill test, then validation.
    for key in reversed(ordered):
        members = groups[key]
        if len(test) + len(members) <= test_quota or not test:
            test.extend(members)
        elif len(val) + len(members) <= val_quota or not val:
            val.extend(members)
        else:
            train.extend(members)
    if not train:
        raise ValueError("scaffold split left no training molecules: lower val_fraction/test_fraction")
    return _as_split(train, val, test)
