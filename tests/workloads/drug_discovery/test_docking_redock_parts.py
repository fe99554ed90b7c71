"""The cheap parts of the redock procedure, each with the broken input that makes it fail."""

from __future__ import annotations

import pytest
from rdkit import Chem
from rdkit.Chem import AllChem
from rdkit.Geometry import Point3D

from reference_workloads.drug_discovery.docking.receptor import reference_ligand
from reference_workloads.drug_discovery.docking.redock import (
    RedockSettings,
    built_conformers,
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


def _mmff_energies(mol: Chem.Mol) -> list[float]:
    properties = AllChem.MMFFGetMoleculeProperties(mol)
    return [AllChem.MMFFGetMoleculeForceField(mol, properties, confId=c.GetId()).CalcEnergy()
            for c in mol.GetConformers()]


def test_built_conformers_are_minimised_only_when_asked_and_reproducibly():
    parent = Chem.MolFromSmiles(DECALIN_ETHYL)
    raw = _mmff_energies(built_conformers(parent, 4, seed=3))
    minimised = built_conformers(parent, 4, seed=3, mmff_max_iters=2000)
    # every conformer ends lower in MMFF94 energy than as embedded: the minimisation ran on each
    assert all(after < before - 0.1 for after, before in zip(_mmff_energies(minimised), raw, strict=True))
    again = built_conformers(parent, 4, seed=3, mmff_max_iters=2000)
    assert Chem.MolToMolBlock(again, confId=3) == Chem.MolToMolBlock(minimised, confId=3)  # bitwise, same seed


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
                                              ("exhaustiveness", 0), ("processes", 0), ("mmff_max_iters", -1),
                                              ("max_score", float("nan")), ("max_score", 50.0)])
def test_settings_refuse_out_of_range_values_naming_the_field(field, value):
    with pytest.raises(ValueError, match=f"redock.{field}"):
        RedockSettings(**{field: value})
