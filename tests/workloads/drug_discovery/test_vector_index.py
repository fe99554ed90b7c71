"""The molecule vector index: known neighbours come back in order, and a saved index reloads checked."""

from __future__ import annotations

import numpy as np
import pytest

from reference_workloads.drug_discovery.vector_index import (
    INDEX_FILE,
    MOLECULES_FILE,
    MoleculeIndex,
)

SMILES = ["c1ccccc1", "Cc1ccccc1", "CCc1ccccc1", "CCO", "CCCO", "C1CCNCC1"]


def planted_vectors() -> np.ndarray:
    """Two tight families (aromatics along e0, alcohols along e1) and a loner along e2; within a
    family the angle to the family axis grows with the position, so the order is known."""
    vectors = np.zeros((6, 8))
    for position, (axis, tilt) in enumerate([(0, 0.0), (0, 0.1), (0, 0.3), (1, 0.0), (1, 0.2), (2, 0.0)]):
        vectors[position, axis] = 1.0
        vectors[position, 7] = tilt
    return vectors * np.arange(1, 7)[:, None]  # lengths differ: cosine must ignore them


@pytest.fixture
def index():
    built = MoleculeIndex(8)
    built.add(SMILES, planted_vectors())
    return built


def test_neighbours_around_hits_are_the_planted_family_in_order(index):
    around = index.around(["c1ccccc1", "CCO"], k=2)
    assert [n.smiles for n in around["c1ccccc1"]] == ["Cc1ccccc1", "CCc1ccccc1"]
    assert [n.smiles for n in around["CCO"]][0] == "CCCO"
    assert around["c1ccccc1"][0].similarity > around["c1ccccc1"][1].similarity > 0.9
    nearest = index.search(planted_vectors()[5] * 7, k=1)[0][0]
    assert nearest.smiles == "C1CCNCC1" and nearest.similarity == pytest.approx(1.0, abs=1e-6)


def test_a_saved_index_reloads_equal_and_a_swapped_file_is_refused(index, tmp_path):
    index.save(tmp_path / "a")
    loaded = MoleculeIndex.load(tmp_path / "a")
    assert loaded.smiles == SMILES
    assert index.around(["CCO"], 3) == loaded.around(["CCO"], 3)
    other = MoleculeIndex(8)
    other.add(SMILES, planted_vectors()[::-1])
    other.save(tmp_path / "b")
    (tmp_path / "b" / INDEX_FILE).replace(tmp_path / "a" / INDEX_FILE)
    with pytest.raises(ValueError, match=f"does not hold the vectors {MOLECULES_FILE} records"):
        MoleculeIndex.load(tmp_path / "a")


def test_bad_inputs_name_what_is_accepted(index):
    with pytest.raises(ValueError, match="already in the index"):
        index.add(["CCO"], np.ones((1, 8)))
    with pytest.raises(ValueError, match="already in the index"):
        MoleculeIndex(8).add(["CN", "CN"], np.ones((2, 8)))
    with pytest.raises(ValueError, match=r"expected \(1, 8\)"):
        index.add(["CN"], np.ones((1, 4)))
    with pytest.raises(ValueError, match="zero vector"):
        index.add(["CN"], np.zeros((1, 8)))
    with pytest.raises(ValueError, match="k=7"):
        index.search(np.ones(8), k=7)
    with pytest.raises(KeyError, match="not in the index"):
        index.around(["CCN"], 1)


def gnn_embedded_index(smiles: list[str], *, shuffle: bool = False) -> MoleculeIndex:
    import torch

    from reference_workloads.drug_discovery.gnn import GnnConfig, MolecularGnn, molecule_embeddings

    torch.manual_seed(0)
    vectors = molecule_embeddings(MolecularGnn(GnnConfig(hidden=32, layers=2)), smiles)
    assert vectors.dtype == np.float32 and vectors.shape == (len(smiles), 32)
    index = MoleculeIndex(32)
    index.add(smiles, vectors[::-1] if shuffle else vectors)
    return index


PARACETAMOL, NEAR_DUPLICATE = "CC(=O)Nc1ccc(O)cc1", "CC(=O)Nc1ccc(OC)cc1"
UNRELATED = ["ClC(Cl)(Cl)Cl", "CCCCCCCCCCCCCCCC(=O)O", "O=S(=O)(O)O"]


def test_gnn_embeddings_put_the_molecule_itself_first_and_a_near_duplicate_before_unrelated_ones():
    smiles = [*UNRELATED, PARACETAMOL, NEAR_DUPLICATE]
    index = gnn_embedded_index(smiles)
    found = [n.smiles for n in index.search(index.vector(PARACETAMOL), k=len(smiles))[0]]
    assert found[:2] == [PARACETAMOL, NEAR_DUPLICATE], found
    # vectors stored against the wrong SMILES (the broken input) lose both properties
    shuffled = gnn_embedded_index(smiles, shuffle=True)
    embedding = gnn_embedded_index([PARACETAMOL]).vector(PARACETAMOL)
    assert [n.smiles for n in shuffled.search(embedding, k=2)[0]] != [PARACETAMOL, NEAR_DUPLICATE]
