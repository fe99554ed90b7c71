"""The cheap parts of the redock procedure, each with the broken input that makes it fail."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from rdkit import Chem
from rdkit.Chem import AllChem, rdMolTransforms
from rdkit.Geometry import Point3D

from reference_workloads.drug_discovery.docking import redock as redock_module
from reference_workloads.drug_discovery.docking.receptor import reference_ligand
from reference_workloads.drug_discovery.docking.redock import (
    RedockSettings,
    built_conformers,
    distinct_ring_conformers,
    heavy_rmsd,
    redock,
    ring_systems,
)
from reference_workloads.drug_discovery.docking.strain import pose_strains, relax_locally

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


def _cyclohexanes() -> tuple[Chem.Mol, int, int]:
    """Cyclohexane with 40 MMFF94-minimised conformers from plain distance geometry (no
    torsion preferences, so twist-boats turn up): (molecule, a chair's id, a twist-boat's id)."""
    mol = Chem.AddHs(Chem.MolFromSmiles("C1CCCCC1"))
    params = AllChem.EmbedParameters()
    params.randomSeed, params.useRandomCoords = 5, True
    params.useExpTorsionAnglePrefs = params.useBasicKnowledge = False
    AllChem.EmbedMultipleConfs(mol, 40, params)
    energies = [energy for _converged, energy in AllChem.MMFFOptimizeMoleculeConfs(mol, maxIters=5000)]
    return mol, int(np.argmin(energies)), int(np.argmax(energies))


def test_a_twist_boat_pose_carries_its_strain_and_a_chair_none():
    mol, chair, twist_boat = _cyclohexanes()
    low, high = pose_strains([Chem.MolToMolBlock(mol, confId=chair), Chem.MolToMolBlock(mol, confId=twist_boat)])
    assert low == pytest.approx(0.0, abs=1e-3) and high == pytest.approx(5.9, abs=0.3)  # MMFF94's twist-boat


def test_bond_length_noise_is_relaxed_away_not_counted_as_strain():
    mol, chair, _ = _cyclohexanes()
    relaxed = Chem.Mol(mol, confId=chair)
    noisy = Chem.Mol(relaxed)
    conformer, shifts = noisy.GetConformer(), np.random.default_rng(3).normal(0, 0.06, (noisy.GetNumAtoms(), 3))
    for atom in noisy.GetAtoms():
        if atom.GetAtomicNum() > 1:
            p = conformer.GetAtomPosition(atom.GetIdx())
            dx, dy, dz = shifts[atom.GetIdx()]
            conformer.SetAtomPosition(atom.GetIdx(), Point3D(p.x + dx, p.y + dy, p.z + dz))
    properties = AllChem.MMFFGetMoleculeProperties(noisy)
    raw = (AllChem.MMFFGetMoleculeForceField(noisy, properties).CalcEnergy()
           - AllChem.MMFFGetMoleculeForceField(relaxed, properties).CalcEnergy())
    _, strain = pose_strains([Chem.MolToMolBlock(relaxed), Chem.MolToMolBlock(noisy)])
    assert raw > 5.0 and strain < 0.1  # as built it looks strained; locally relaxed it is not


def _largest_heavy_shift(before: Chem.Mol, after: Chem.Mol) -> float:
    heavy = [a.GetIdx() for a in before.GetAtoms() if a.GetAtomicNum() > 1]
    return max((before.GetConformer().GetAtomPosition(i) - after.GetConformer().GetAtomPosition(i)).Length()
               for i in heavy)


def test_the_local_relaxation_keeps_the_pose():
    # all-anti dodecane turned syn-eclipsed about its middle bond: free minimisation swings the
    # chain ends on to gauche, the local relaxation holds every heavy atom near its pose
    dodecane = Chem.AddHs(Chem.MolFromSmiles("CCCCCCCCCCCC"))
    AllChem.EmbedMolecule(dodecane, randomSeed=11)
    for start in range(9):
        rdMolTransforms.SetDihedralDeg(dodecane.GetConformer(), start, start + 1, start + 2, start + 3, 180)
    AllChem.MMFFOptimizeMolecule(dodecane, maxIters=5000)
    rdMolTransforms.SetDihedralDeg(dodecane.GetConformer(), 4, 5, 6, 7, 0)
    free = Chem.Mol(dodecane)
    AllChem.MMFFOptimizeMolecule(free, maxIters=5000)
    assert _largest_heavy_shift(dodecane, free) > 0.9
    assert _largest_heavy_shift(dodecane, relax_locally(Chem.Mol(dodecane))) < 0.45


@pytest.mark.parametrize(("weight", "chosen"), [(0.0, 0), (0.1, 1)])
def test_the_chosen_pose_pays_for_its_strain(monkeypatch, weight, chosen):
    # three docked conformers: the best Vina score is badly strained, the second barely
    scores = iter([-10.0, -9.5, -9.0])
    monkeypatch.setattr(redock_module, "_start_worker", lambda *start: None)
    monkeypatch.setattr(redock_module, "_dock", lambda job: (next(scores), job[0]))
    monkeypatch.setattr(redock_module, "pose_molblock", lambda pose: pose)
    monkeypatch.setattr(redock_module, "pose_strains", lambda blocks: [20.0, 1.0, 0.0])
    settings = RedockSettings(n_embedded=3, max_docked=3, ring_rmsd=0.0, processes=1, strain_weight=weight)
    row = redock(DECALIN_ETHYL, Path("unused.pdbqt"), None, settings, seed=0)
    assert row["n_docked"] == 3 and row["scores"] == [-10.0, -9.5, -9.0]
    assert row["best_conformer"] == chosen and row["score"] == [-10.0, -9.5][chosen]
    assert row["strain"] == [20.0, 1.0][chosen]


@pytest.mark.parametrize(("field", "value"), [("n_embedded", 0), ("max_docked", 31), ("ring_rmsd", -1.0),
                                              ("exhaustiveness", 0), ("processes", 0), ("mmff_max_iters", -1),
                                              ("max_score", float("nan")), ("max_score", 50.0),
                                              ("strain_weight", -0.1), ("strain_weight", float("inf"))])
def test_settings_refuse_out_of_range_values_naming_the_field(field, value):
    with pytest.raises(ValueError, match=f"redock.{field}"):
        RedockSettings(**{field: value})
