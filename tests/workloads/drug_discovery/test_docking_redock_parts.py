"""The cheap parts of the redock procedure, each with the broken input that makes it fail."""

from __future__ import annotations

import pytest
from rdkit import Chem
from rdkit.Chem import AllChem
from rdkit.Geometry import Point3D

from reference_workloads.drug_discovery.docking.receptor import reference_ligand
from reference_workloads.drug_discovery.docking.redock import (
    RedockSettings,
    distinct_ring_conformers,
    heavy_rmsd,
    ring_systems,
)

DECALIN_ETHYL = "CCC1CCC2CCCCC2C1"  # a fused ring system with a substituent: shape matters


def _with_conformers(smiles: str, n: int, seed: int = 7) -> Chem.Mol:
    mol = Chem.AddHs(Chem.MolFromSmiles(smiles))
    params = AllChem.ETKDGv3()
    params.randomSeed = seed
    AllChem.EmbedMultipleConfs(mol, numConfs=n, params=params)
    return mol


def test_ring_systems_merge_fused_rings_and_add_their_first_neighbours():
    systems = ring_systems(Chem.MolFromSmiles(DECALIN_ETHYL))
    assert [len(s) for s in systems] == [11]  # ten ring carbons and the ethyl's first carbon


def test_copies_of_one_conformer_are_docked_once():
    mol = _with_conformers(DECALIN_ETHYL, 1)
    for _ in range(3):
        mol.AddConformer(Chem.Conformer(mol.GetConformer(0)), assignId=True)
    assert distinct_ring_conformers(mol, ring_rmsd=0.3, limit=10) == [0]


def test_a_changed_ring_shape_is_docked_again():
    mol = _with_conformers(DECALIN_ETHYL, 1)
    bent = Chem.Conformer(mol.GetConformer(0))
    ring_atom = next(a.GetIdx() for a in mol.GetAtoms() if a.IsInRing())
    p = bent.GetAtomPosition(ring_atom)
    bent.SetAtomPosition(ring_atom, Point3D(p.x + 1.5, p.y, p.z))
    mol.AddConformer(bent, assignId=True)
    assert distinct_ring_conformers(mol, ring_rmsd=0.3, limit=10) == [0, 1]
    assert distinct_ring_conformers(mol, ring_rmsd=0.3, limit=1) == [0]


def test_the_rmsd_sees_a_shifted_pose():
    reference = reference_ligand()
    assert heavy_rmsd(Chem.MolToMolBlock(reference), reference) < 1e-6
    shifted = Chem.Mol(reference)
    conformer = shifted.GetConformer()
    for i in range(shifted.GetNumAtoms()):
        p = conformer.GetAtomPosition(i)
        conformer.SetAtomPosition(i, Point3D(p.x + 3.0, p.y, p.z))
    assert heavy_rmsd(Chem.MolToMolBlock(shifted), reference) == pytest.approx(3.0, abs=1e-3)


@pytest.mark.parametrize(("field", "value"), [("n_embedded", 0), ("max_docked", 31), ("ring_rmsd", -1.0),
                                              ("exhaustiveness", 0), ("processes", 0)])
def test_settings_refuse_out_of_range_values_naming_the_field(field, value):
    with pytest.raises(ValueError, match=f"redock.{field}"):
        RedockSettings(**{field: value})
