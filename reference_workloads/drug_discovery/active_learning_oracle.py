"""The docking oracle of the active-learning loop: a "docking call" reveals one molecule's score.

Two oracles share one interface (``Oracle``): ``RetrospectiveOracle`` looks the score up in
the physics stage's table (the whole pool docked once, over MPI), so every strategy and
repeat is judged against the same ground truth at no docking cost, as MolPAL (Graff et al.,
Chem. Sci. 2021) evaluates its strategies; ``VinaOracle`` docks the molecule live with the
``docking`` module. An oracle counts its calls and reveals only what was docked.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Protocol

import numpy as np


class Oracle(Protocol):
    """Docks molecules by record; the loop sees nothing else of the scores."""

    @property
    def calls(self) -> int:
        """Docking calls spent so far (a molecule docked twice costs one: its score is known)."""
        ...

    def dock(self, records: Sequence[int]) -> np.ndarray:
        """Dock ``records``; their scores (kcal/mol, lower binds better; NaN if docking failed)."""
        ...

    def known(self, record: int) -> float:
        """The score of an already docked record; KeyError for one never docked."""
        ...


class _CountingOracle:
    """What both oracles share: the revealed scores and the call count."""

    def __init__(self) -> None:
        self._revealed: dict[int, float] = {}

    @property
    def calls(self) -> int:
        return len(self._revealed)

    def known(self, record: int) -> float:
        if record not in self._revealed:
            raise KeyError(f"record {record} has not been docked: an oracle reveals only what was docked")
        return self._revealed[record]

    def _score(self, record: int) -> float:
        raise NotImplementedError

    def dock(self, records: Sequence[int]) -> np.ndarray:
        for record in records:
            record = int(record)
            if record not in self._revealed:
                self._revealed[record] = float(self._score(record))
        return np.array([self._revealed[int(r)] for r in records], dtype=np.float64)


class RetrospectiveOracle(_CountingOracle):
    """Scores from a table that docked the whole pool once: a lookup per call, counted."""

    def __init__(self, scores: Mapping[int, float]) -> None:
        super().__init__()
        self.__table = {int(record): float(score) for record, score in scores.items()}

    def _score(self, record: int) -> float:
        if record not in self.__table:
            raise KeyError(f"record {record} is not in the docked pool: expected one of its {len(self.__table)} records")
        return self.__table[record]


class VinaOracle(_CountingOracle):
    """Docks each call live with AutoDock Vina (``docking.vina_dock.Docker``)."""

    def __init__(self, docker, smiles: Mapping[int, str]) -> None:
        super().__init__()
        self.docker = docker
        self.smiles = {int(record): text for record, text in smiles.items()}

    def _score(self, record: int) -> float:
        row = self.docker.dock(self.smiles[record])
        return row["score"] if row["status"] == "ok" else math.nan
