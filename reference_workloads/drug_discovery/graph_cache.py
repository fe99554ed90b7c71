"""Molecular graphs collated once and kept on the training device; batches are index gathers.

Collating a batch in Python (one ``torch.cat`` over per-molecule tensors) every step of every
epoch costs more than the network on small molecules. Here the whole set is collated once and
moved to the device once; a batch is then the same disconnected graph that ``collate`` would
build for those molecules, in the same atom and edge order, found by index arithmetic on the
host (NumPy over per-molecule counts, so sizes are known without a device sync) and a gather
on the device.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from .featurize import Graph, GraphBatch, collate


def _segments(starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Concatenated ranges ``[s, s + c)`` for each (start, count), without a Python loop."""
    total = int(counts.sum())
    ends = np.cumsum(counts)
    offsets = np.repeat(starts - (ends - counts), counts)
    return offsets + np.arange(total)


class CollatedGraphs:
    """A list of graphs as one device-resident batch from which any subset is gathered."""

    def __init__(self, graphs: Sequence[Graph], device: torch.device) -> None:
        self.device = device
        whole = collate(graphs).to(device)
        self.atoms, self.edges, self.bonds = whole.atoms, whole.edges, whole.bonds
        self.atom_counts = np.array([g.atoms.shape[0] for g in graphs], dtype=np.int64)
        self.edge_counts = np.array([g.edges.shape[1] for g in graphs], dtype=np.int64)
        self.atom_starts = np.cumsum(self.atom_counts) - self.atom_counts
        self.edge_starts = np.cumsum(self.edge_counts) - self.edge_counts

    def __len__(self) -> int:
        return len(self.atom_counts)

    def indices(self, ids: Sequence[int]) -> dict[str, torch.Tensor | int]:
        """Host-side gather plan for molecules ``ids`` (cheap; a DataLoader worker may run it)."""
        ids = np.asarray(ids, dtype=np.int64)
        atom_counts, edge_counts = self.atom_counts[ids], self.edge_counts[ids]
        new_starts = np.cumsum(atom_counts) - atom_counts
        return {
            "atoms": torch.from_numpy(_segments(self.atom_starts[ids], atom_counts)),
            "edges": torch.from_numpy(_segments(self.edge_starts[ids], edge_counts)),
            # an edge's atom index moves from its place in the whole set to its place in the batch
            "shift": torch.from_numpy(np.repeat(new_starts - self.atom_starts[ids], edge_counts)),
            "membership": torch.from_numpy(np.repeat(np.arange(len(ids)), atom_counts)),
            "n_graphs": len(ids),
        }

    def gather(self, plan: dict[str, torch.Tensor | int]) -> GraphBatch:
        """The batch a plan describes, gathered on the device (copies are non-blocking)."""
        def move(name: str) -> torch.Tensor:
            tensor = plan[name]
            if self.device.type == "cuda" and not tensor.is_pinned():  # a loader may have pinned it already
                tensor = tensor.pin_memory()
            return tensor.to(self.device, non_blocking=True)

        atoms, edges = move("atoms"), move("edges")
        return GraphBatch(
            atoms=self.atoms.index_select(0, atoms),
            edges=self.edges.index_select(1, edges) + move("shift"),
            bonds=self.bonds.index_select(0, edges),
            membership=move("membership"),
            n_graphs=int(plan["n_graphs"]),
        )

    def batch(self, ids: Sequence[int]) -> GraphBatch:
        return self.gather(self.indices(ids))
