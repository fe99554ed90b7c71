"""Graph featurisation and the message-passing network."""

from __future__ import annotations

import pytest
import torch

from reference_workloads.core.determinism import seed_everything
from reference_workloads.drug_discovery.featurize import (
    ATOM_DIM,
    BOND_DIM,
    collate,
    smiles_to_graph,
)
from reference_workloads.drug_discovery.gnn import GnnConfig, MolecularGnn


def test_graph_shapes_and_directed_edges():
    graph = smiles_to_graph("CC(=O)O")
    assert graph.atoms.shape == (4, ATOM_DIM)
    assert graph.edges.shape == (2, 6) and graph.bonds.shape == (6, BOND_DIM)
    pairs = set(map(tuple, graph.edges.T.tolist()))
    assert all((j, i) in pairs for i, j in pairs)


def test_single_atom_molecule_has_no_edges():
    graph = smiles_to_graph("C")
    assert graph.edges.shape == (2, 0) and graph.bonds.shape == (0, BOND_DIM)


def test_collate_offsets_edges():
    batch = collate([smiles_to_graph("CO"), smiles_to_graph("CCN")])
    assert batch.n_graphs == 2
    assert batch.membership.tolist() == [0, 0, 1, 1, 1]
    assert batch.edges[:, 2:].min() >= 2


def test_batching_does_not_change_predictions():
    torch.manual_seed(0)
    model = MolecularGnn(GnnConfig(hidden=16, layers=2)).eval()
    smiles = ["CCO", "c1ccccc1N", "CC(=O)Nc1ccc(O)cc1"]
    together = model(collate([smiles_to_graph(s) for s in smiles]))
    alone = torch.cat([model(collate([smiles_to_graph(s)])) for s in smiles])
    torch.testing.assert_close(together, alone, rtol=1e-5, atol=1e-5)


def test_atom_order_does_not_matter():
    torch.manual_seed(0)
    model = MolecularGnn(GnnConfig(hidden=16, layers=3)).eval()
    a = model(collate([smiles_to_graph("OCC(N)c1ccccc1")]))
    b = model(collate([smiles_to_graph("c1ccc(cc1)C(N)CO")]))
    torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)


def test_training_step_is_bitwise_reproducible_on_cpu():
    def one_step() -> list[torch.Tensor]:
        seed_everything(11, threads=1)
        model = MolecularGnn(GnnConfig(hidden=16, layers=2))
        batch = collate([smiles_to_graph(s) for s in ["CCO", "CCCN", "c1ccncc1"]])
        loss = (model(batch) - torch.tensor([1.0, 2.0, 3.0])).pow(2).mean()
        loss.backward()
        return [p.grad.clone() for p in model.parameters()]

    assert all(torch.equal(x, y) for x, y in zip(one_step(), one_step(), strict=True))


def test_bad_config_and_input():
    with pytest.raises(ValueError, match="model.layers=0"):
        GnnConfig(layers=0)
    with pytest.raises(ValueError, match="graphs"):
        collate([])
    with pytest.raises(ValueError, match="smiles="):
        smiles_to_graph("C1CC")
