"""A message-passing neural network over molecular graphs, in plain PyTorch.

Messages are gathered with ``index_select`` and summed with ``index_add_``: deterministic on
CPU, and on CUDA under ``torch.use_deterministic_algorithms(True)`` (documented there), so a
run is bitwise reproducible on one device type.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch import nn

from reference_workloads.core.recipes import require

from .featurize import ATOM_DIM, BOND_DIM, GraphBatch, collate, smiles_to_graph


@dataclass(kw_only=True, frozen=True, slots=True)
class GnnConfig:
    """Shape of the surrogate network."""

    hidden: int = 64
    """Width of atom states and messages."""
    layers: int = 3
    """Message-passing rounds (the receptive field in bonds)."""
    dropout: float = 0.0
    """Dropout in the readout MLP."""

    def __post_init__(self) -> None:
        require(4 <= self.hidden <= 4096, "model.hidden", "an integer in [4, 4096]", self.hidden)
        require(1 <= self.layers <= 12, "model.layers", "an integer in [1, 12]", self.layers)
        require(0.0 <= self.dropout < 1.0, "model.dropout", "a number in [0, 1)", self.dropout)

    def as_dict(self) -> dict:
        return asdict(self)


class MessagePassing(nn.Module):
    """One round: each atom sums messages built from its neighbours and the bond between."""

    def __init__(self, hidden: int) -> None:
        super().__init__()
        self.message = nn.Sequential(nn.Linear(2 * hidden + BOND_DIM, hidden), nn.SiLU())
        self.update = nn.GRUCell(hidden, hidden)

    def forward(self, state: torch.Tensor, edges: torch.Tensor, bonds: torch.Tensor) -> torch.Tensor:
        source, target = edges[0], edges[1]
        # index_select (not state[idx]): its backward is index_add_, deterministic on CUDA too.
        sender, receiver = state.index_select(0, source), state.index_select(0, target)
        messages = self.message(torch.cat([sender, receiver, bonds], dim=1))
        inbox = torch.zeros_like(state).index_add_(0, target, messages)
        return self.update(inbox, state)


class MolecularGnn(nn.Module):
    """Atom embedding, message passing, then sum and mean pooling into one scalar per molecule.

    Sum pooling lets the model count (size-extensive labels such as energies); mean pooling
    gives size-independent composition.
    """

    def __init__(self, config: GnnConfig) -> None:
        super().__init__()
        self.config = config
        hidden = config.hidden
        self.embed = nn.Sequential(nn.Linear(ATOM_DIM, hidden), nn.SiLU())
        self.rounds = nn.ModuleList(MessagePassing(hidden) for _ in range(config.layers))
        self.readout = nn.Sequential(
            nn.Linear(2 * hidden, hidden),
            nn.SiLU(),
            nn.Dropout(config.dropout),
            nn.Linear(hidden, 1),
        )

    def pooled(self, batch: GraphBatch) -> torch.Tensor:
        """Sum and mean of the final atom states per molecule, [molecules, 2 * hidden]."""
        state = self.embed(batch.atoms)
        for layer in self.rounds:
            state = layer(state, batch.edges, batch.bonds)
        pooled_sum = torch.zeros(batch.n_graphs, state.shape[1], dtype=state.dtype, device=state.device)
        pooled_sum.index_add_(0, batch.membership, state)
        counts = torch.zeros(batch.n_graphs, dtype=state.dtype, device=state.device)
        counts.index_add_(0, batch.membership, torch.ones_like(batch.membership, dtype=state.dtype))
        pooled_mean = pooled_sum / counts.clamp(min=1.0).unsqueeze(1)
        # Sum pooling is scaled down so its magnitude stays comparable with the mean.
        return torch.cat([pooled_sum / 10.0, pooled_mean], dim=1)

    def embedding(self, batch: GraphBatch) -> torch.Tensor:
        """The molecule embedding, [molecules, hidden]: the readout's hidden layer, the last
        representation before the scalar, so it is shaped by what the model was trained on."""
        return self.readout[1](self.readout[0](self.pooled(batch)))

    def forward(self, batch: GraphBatch) -> torch.Tensor:
        # The same modules in the same order as readout(pooled): one path, so scores and embeddings agree.
        return self.readout[3](self.readout[2](self.embedding(batch))).squeeze(1)


@torch.no_grad()
def molecule_embeddings(model: MolecularGnn, smiles: Sequence[str], *, batch_size: int = 256) -> np.ndarray:
    """Pooled embeddings of a trained surrogate for ``smiles``, float32 [n, hidden], in input order."""
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    chunks = [model.embedding(collate([smiles_to_graph(s) for s in smiles[i : i + batch_size]]).to(device))
              .float().cpu().numpy() for i in range(0, len(smiles), batch_size)]
    model.train(was_training)
    return np.concatenate(chunks) if chunks else np.zeros((0, model.config.hidden), dtype=np.float32)
