"""Graphs collated once: any gathered batch equals the batch ``collate`` builds, exactly."""

from __future__ import annotations

import torch

from reference_workloads.drug_discovery.featurize import collate, smiles_to_graph
from reference_workloads.drug_discovery.graph_cache import CollatedGraphs

SMILES = ["CCO", "c1ccccc1O", "C", "CC(=O)O", "c1ccncc1", "C1CCNCC1", "CCCl"]


def _same(a, b) -> bool:
    return a.n_graphs == b.n_graphs and all(
        torch.equal(getattr(a, name), getattr(b, name)) for name in ("atoms", "edges", "bonds", "membership"))


def test_a_gathered_batch_is_bitwise_the_collated_batch_in_the_asked_order():
    graphs = [smiles_to_graph(s) for s in SMILES]
    cache = CollatedGraphs(graphs, torch.device("cpu"))
    for ids in ([0], [6, 2, 0], [3, 1, 5, 4], list(range(len(SMILES)))):
        assert _same(cache.batch(ids), collate([graphs[i] for i in ids]))
    # the broken input: the same molecules in another order are another batch
    assert not _same(cache.batch([1, 0]), collate([graphs[0], graphs[1]]))
