"""Molecule embeddings in an embedded vector index, queried around hits (cosine similarity).

faiss (``faiss-cpu``), exact inner-product search on L2-normalised vectors, chosen over
pgvector because this machine's PostgreSQL (15) has no pgvector extension (no ``vector.control``
in its extension folder), a local run should need no database server, and a screen's index
(10^5 to 10^6 molecules, 64 to 512 floats each) fits in memory, where exact search is
deterministic and needs no training; chosen over lancedb because one wheel with no storage
engine is enough for an index that is rebuilt from the surrogate's embeddings every run.
On the platform the same vectors and SMILES can be loaded into pgvector unchanged.

The index stores each vector with its SMILES; on disk it is ``index.faiss`` plus
``molecules.json`` (the SMILES in index order and a sha256 of the vectors), checked on load.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from reference_workloads.core.atomic import atomic_path, write_json

INDEX_FILE = "index.faiss"
MOLECULES_FILE = "molecules.json"


@dataclass(frozen=True, slots=True)
class Neighbour:
    smiles: str
    similarity: float
    """Cosine similarity to the query, in [-1, 1]."""


def _normalised(vectors: np.ndarray, what: str) -> np.ndarray:
    array = np.ascontiguousarray(vectors, dtype=np.float32)
    if array.ndim != 2 or array.shape[0] == 0:
        raise ValueError(f"{what} has shape {array.shape}: expected a non-empty (molecules, dimensions) array")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{what} holds a NaN or infinite value: expected finite embeddings")
    norms = np.linalg.norm(array, axis=1, keepdims=True)
    if np.any(norms == 0):
        raise ValueError(f"{what} holds a zero vector: expected embeddings with a direction")
    return np.ascontiguousarray(array / norms)


class MoleculeIndex:
    """Exact cosine search over molecule embeddings, each stored with its SMILES."""

    def __init__(self, dimensions: int) -> None:
        import faiss

        if dimensions < 1:
            raise ValueError(f"dimensions={dimensions!r} is invalid: expected a positive integer")
        self.dimensions = dimensions
        self.index = faiss.IndexFlatIP(dimensions)
        self.smiles: list[str] = []
        self._position: dict[str, int] = {}

    def __len__(self) -> int:
        return len(self.smiles)

    def add(self, smiles: Sequence[str], vectors: np.ndarray) -> None:
        vectors = _normalised(vectors, "vectors")
        if vectors.shape != (len(smiles), self.dimensions):
            raise ValueError(f"vectors has shape {vectors.shape}: expected ({len(smiles)}, {self.dimensions}), "
                             "one row per SMILES")
        counts = Counter(smiles)
        repeated = sorted(s for s in counts if counts[s] > 1 or s in self._position)
        if repeated:
            raise ValueError(f"SMILES {repeated[:3]} are already in the index: expected each molecule once")
        for text in smiles:
            self._position[text] = len(self.smiles)
            self.smiles.append(text)
        self.index.add(vectors)

    def vector(self, smiles: str) -> np.ndarray:
        if smiles not in self._position:
            raise KeyError(f"SMILES {smiles!r} is not in the index")
        return self.index.reconstruct(self._position[smiles])

    def search(self, queries: np.ndarray, k: int) -> list[list[Neighbour]]:
        """The ``k`` most similar molecules to each query vector, most similar first (ties by index order)."""
        if not 1 <= k <= len(self):
            raise ValueError(f"k={k!r} is invalid: expected 1 to {len(self)} (the molecules in the index)")
        queries = _normalised(np.atleast_2d(queries), "queries")
        if queries.shape[1] != self.dimensions:
            raise ValueError(f"queries have {queries.shape[1]} dimensions: expected {self.dimensions}")
        similarities, positions = self.index.search(queries, k)
        return [[Neighbour(self.smiles[p], float(s)) for s, p in zip(row_s, row_p, strict=True) if p >= 0]
                for row_s, row_p in zip(similarities, positions, strict=True)]

    def around(self, hits: Sequence[str], k: int) -> dict[str, list[Neighbour]]:
        """For each hit in the index, its ``k`` nearest other molecules: the chemistry to dock next."""
        found = self.search(np.vstack([self.vector(h) for h in hits]), min(k + 1, len(self)))
        return {hit: [n for n in row if n.smiles != hit][:k] for hit, row in zip(hits, found, strict=True)}

    def _vectors_sha256(self) -> str:
        vectors = self.index.reconstruct_n(0, len(self)) if len(self) else np.zeros((0, self.dimensions), np.float32)
        return hashlib.sha256(np.ascontiguousarray(vectors).tobytes()).hexdigest()

    def save(self, folder: Path) -> None:
        import faiss

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        with atomic_path(folder / INDEX_FILE) as tmp:
            faiss.write_index(self.index, str(tmp))
        write_json(folder / MOLECULES_FILE, {"dimensions": self.dimensions, "smiles": self.smiles,
                                             "vectors_sha256": self._vectors_sha256()})

    @classmethod
    def load(cls, folder: Path) -> MoleculeIndex:
        import faiss

        folder = Path(folder)
        meta = json.loads((folder / MOLECULES_FILE).read_text())
        loaded = cls(meta["dimensions"])
        loaded.index = faiss.read_index(str(folder / INDEX_FILE))
        loaded.smiles = list(meta["smiles"])
        loaded._position = {s: i for i, s in enumerate(loaded.smiles)}
        if loaded.index.ntotal != len(loaded.smiles) or loaded._vectors_sha256() != meta["vectors_sha256"]:
            raise ValueError(f"{folder / INDEX_FILE} does not hold the vectors {MOLECULES_FILE} records: "
                             "expected the pair written together by save()")
        return loaded
