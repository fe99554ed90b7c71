"""Molecular graphs as tensors: atom and bond features, and batching of many graphs."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from rdkit import Chem

_ELEMENTS = ("C", "N", "O", "S", "F", "Cl", "Br", "I", "P", "B", "Si", "Se", "H")
_DEGREES = (0, 1, 2, 3, 4, 5)
_CHARGES = (-2, -1, 0, 1, 2)
_HYBRIDISATIONS = (
    Chem.HybridizationType.S,
    Chem.HybridizationType.SP,
    Chem.HybridizationType.SP2,
    Chem.HybridizationType.SP3,
    Chem.HybridizationType.SP3D,
    Chem.HybridizationType.SP3D2,
)
_HYDROGENS = (0, 1, 2, 3, 4)
_BONDS = (
    Chem.BondType.SINGLE,
    Chem.BondType.DOUBLE,
    Chem.BondType.TRIPLE,
    Chem.BondType.AROMATIC,
)


def _one_hot(value: object, choices: Sequence[object]) -> list[float]:
    """One-hot over ``choices`` plus a final 'other' slot, so rare values are not lost."""
    vector = [0.0] * (len(choices) + 1)
    vector[choices.index(value) if value in choices else len(choices)] = 1.0
    return vector


def atom_features(atom: Chem.Atom) -> list[float]:
    return (
        _one_hot(atom.GetSymbol(), _ELEMENTS)
        + _one_hot(atom.GetDegree(), _DEGREES)
        + _one_hot(atom.GetFormalCharge(), _CHARGES)
        + _one_hot(atom.GetHybridization(), _HYBRIDISATIONS)
        + _one_hot(atom.GetTotalNumHs(), _HYDROGENS)
        + [float(atom.GetIsAromatic()), float(atom.IsInRing()), atom.GetMass() / 100.0]
    )


def bond_features(bond: Chem.Bond) -> list[float]:
    return _one_hot(bond.GetBondType(), _BONDS) + [
        float(bond.GetIsConjugated()),
        float(bond.IsInRing()),
    ]


ATOM_DIM = len(atom_features(Chem.MolFromSmiles("C").GetAtomWithIdx(0)))
BOND_DIM = len(bond_features(Chem.MolFromSmiles("CC").GetBondWithIdx(0)))


@dataclass(kw_only=True, frozen=True, slots=True)
class Graph:
    """One molecule: atom features [n, ATOM_DIM], directed edges [2, e], bond features [e, BOND_DIM]."""

    atoms: torch.Tensor
    edges: torch.Tensor
    bonds: torch.Tensor


@dataclass(kw_only=True, frozen=True, slots=True)
class GraphBatch:
    """Several graphs as one disconnected graph; ``membership[i]`` is atom i's molecule."""

    atoms: torch.Tensor
    edges: torch.Tensor
    bonds: torch.Tensor
    membership: torch.Tensor
    n_graphs: int

    def to(self, device: torch.device | str) -> GraphBatch:
        return GraphBatch(
            atoms=self.atoms.to(device),
            edges=self.edges.to(device),
            bonds=self.bonds.to(device),
            membership=self.membership.to(device),
            n_graphs=self.n_graphs,
        )


def smiles_to_graph(smiles: str) -> Graph:
    """The heavy-atom graph of a molecule; each bond appears once in each direction."""
    mol = Chem.MolFromSmiles(smiles)
    if mol is None:
        raise ValueError(f"smiles={smiles!r} is invalid: expected a SMILES that RDKit parses")
    atoms = torch.tensor([atom_features(a) for a in mol.GetAtoms()], dtype=torch.float32)
    sources, targets, features = [], [], []
    for bond in mol.GetBonds():
        i, j = bond.GetBeginAtomIdx(), bond.GetEndAtomIdx()
        feature = bond_features(bond)
        sources += [i, j]
        targets += [j, i]
        features += [feature, feature]
    edges = torch.tensor([sources, targets], dtype=torch.int64).reshape(2, -1)
    bonds = torch.tensor(features, dtype=torch.float32).reshape(-1, BOND_DIM)
    return Graph(atoms=atoms, edges=edges, bonds=bonds)


def collate(graphs: Sequence[Graph]) -> GraphBatch:
    """Concatenate graphs, shifting each one's edge indices past the atoms before it."""
    if not graphs:
        raise ValueError("graphs=[] is invalid: expected at least one graph to batch")
    offsets, total = [], 0
    for graph in graphs:
        offsets.append(total)
        total += graph.atoms.shape[0]
    return GraphBatch(
        atoms=torch.cat([g.atoms for g in graphs]),
        edges=torch.cat([g.edges + o for g, o in zip(graphs, offsets, strict=True)], dim=1),
        bonds=torch.cat([g.bonds for g in graphs]),
        membership=torch.cat(
            [torch.full((g.atoms.shape[0],), k, dtype=torch.int64) for k, g in enumerate(graphs)]
        ),
        n_graphs=len(graphs),
    )
