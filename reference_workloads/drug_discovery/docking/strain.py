"""MMFF94 ligand strain of docked poses, the intramolecular energy Vina's score leaves out.

meeko keeps rings rigid, so Vina's intramolecular term covers only what its torsions move:
a pose whose built ring shapes are strained costs nothing extra, and a strained conformer
that happens to fill the pocket can outscore an unstrained near-native one. The strain of a
pose is measured as docking programs that count it do: relax the pose locally (hydrogens
free, each heavy atom free within ``TOLERANCE`` of where Vina put it and softly held beyond,
so bond lengths and angles settle but the pose stays the pose) and take its MMFF94 energy, minus the lowest energy any of the poses reaches when relaxed
without restraint (the ligand's nearest thing to a free minimum that costs nothing extra).
The restraint is soft: a clash that a few atoms can ease by half an angstrom mostly goes,
a ring shape that would need the whole ring to move stays and is counted. RDKit minimises
on one thread, so the numbers are bitwise the same on every machine.
"""

from __future__ import annotations

from rdkit import Chem
from rdkit.Chem import AllChem

TOLERANCE = 0.3
"""Angstrom each heavy atom may move freely in the local relaxation (flat-bottomed restraint)."""
RESTRAINT = 10.0
"""kcal/mol/A^2 beyond the tolerance."""
LOCAL_STEPS = 2000
FREE_STEPS = 5000


def _force_field(mol: Chem.Mol):
    properties = AllChem.MMFFGetMoleculeProperties(mol)
    if properties is None:
        raise ValueError(f"MMFF94 has no parameters for {Chem.MolToSmiles(Chem.RemoveHs(mol))!r}")
    return AllChem.MMFFGetMoleculeForceField(mol, properties)


def relax_locally(pose: Chem.Mol) -> Chem.Mol:
    """``pose`` (with hydrogens) relaxed in place, each heavy atom free within ``TOLERANCE`` of
    its docked position and the hydrogens (meeko rebuilds the nonpolar ones) free."""
    restrained = _force_field(pose)
    for atom in pose.GetAtoms():
        if atom.GetAtomicNum() > 1:
            restrained.MMFFAddPositionConstraint(atom.GetIdx(), TOLERANCE, RESTRAINT)
    restrained.Minimize(maxIts=LOCAL_STEPS)
    return pose


def _energies(molblock: str) -> tuple[float, float]:
    """(energy relaxed locally, energy relaxed from there without restraint)."""
    pose = relax_locally(Chem.MolFromMolBlock(molblock, removeHs=False))
    free = _force_field(pose)  # the restraint is not part of the strain: energy without it
    local = free.CalcEnergy()
    free.Minimize(maxIts=FREE_STEPS)
    return local, free.CalcEnergy()


def pose_strains(molblocks: list[str]) -> list[float]:
    """kcal/mol of MMFF94 strain of each pose (molblocks with hydrogens, one ligand)."""
    energies = [_energies(block) for block in molblocks]
    reference = min(free for _local, free in energies)
    return [local - reference for local, _free in energies]
