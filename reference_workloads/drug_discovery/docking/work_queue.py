"""Dynamic work distribution, without MPI: an ordered list handed out in claims off a counter.

Docking times vary by orders of magnitude (a rigid fragment takes a fraction of a second, a
flexible 40-atom molecule a minute), so a partition planned in advance leaves ranks idle.
Instead every rank claims the next few molecules when it is free, by fetch-and-add on one
shared counter (held on rank 0 under MPI, a plain integer here). Costliest first: the long
jobs start early and the short ones fill the tail.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Protocol

from rdkit import Chem
from rdkit.Chem import rdMolDescriptors


class Counter(Protocol):
    def fetch_add(self, increment: int) -> int:
        """Add ``increment`` and return the value before, atomically."""


class LocalCounter:
    """The counter of a single process (one rank, or a test)."""

    def __init__(self) -> None:
        self.value = 0

    def fetch_add(self, increment: int) -> int:
        before, self.value = self.value, self.value + increment
        return before


def docking_cost(smiles: str) -> float:
    """Relative docking cost: Vina's search grows with heavy atoms and rotatable bonds."""
    mol = Chem.MolFromSmiles(smiles)
    if mol is None:
        return 1.0
    return float(mol.GetNumHeavyAtoms() * (1 + rdMolDescriptors.CalcNumRotatableBonds(mol)))


def dispatch_order(costs: Mapping[int, float]) -> tuple[int, ...]:
    """Records costliest first, ties by record number, so the order depends on the inputs only."""
    return tuple(sorted(costs, key=lambda record: (-costs[record], record)))


def claims(order: Sequence[int], batch: int, counter: Counter) -> Iterator[tuple[int, ...]]:
    """The successive claims of one worker until the list is exhausted; every record is
    claimed by exactly one worker however the workers' claims interleave."""
    if batch < 1:
        raise ValueError(f"batch={batch!r} is invalid: expected a positive number of molecules per claim")
    while (start := counter.fetch_add(batch)) < len(order):
        yield tuple(order[start:start + batch])
