"""One molecule docked with AutoDock Vina: best score over K built conformers, and its pose.

Vina runs on one CPU with the run's seed (one process per core is how the stage scales),
so a molecule's score and pose depend on the molecule, the receptor and the settings only:
bitwise the same in any process and for any number of ranks. Conformers are embedded with a
per-molecule seed derived from the run seed and the parent molecule's canonical SMILES
(``physics.molecule_seed``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from rdkit import Chem

from reference_workloads.core.recipes import require

from ..physics import molecule_seed
from .ligand import (
    ELEMENT_NOT_ALLOWED,
    EMBED_FAILED,
    PARSE_FAILED,
    PREPARATION_FAILED,
    TOO_LARGE,
    LigandRejected,
    embedded_conformers,
    parent_molecule,
    pdbqt_strings,
)
from .receptor import Pocket

OK = "ok"
SCORE_OUT_OF_RANGE = "score_out_of_range"
STATUSES = (OK, PARSE_FAILED, ELEMENT_NOT_ALLOWED, TOO_LARGE, EMBED_FAILED, PREPARATION_FAILED, SCORE_OUT_OF_RANGE)


@dataclass(kw_only=True, frozen=True, slots=True)
class DockingSettings:
    """How hard the docking stage works per molecule."""

    exhaustiveness: int = 4
    """Vina's independent Monte Carlo runs per conformer; cost grows linearly with it."""
    n_conformers: int = 4
    """K: ETKDGv3 conformers built per molecule and docked; the best score is kept (rings stay rigid in Vina)."""
    max_heavy_atoms: int = 60
    """Larger molecules are rejected as too_large before any work."""
    padding: float = 4.0
    """Angstrom added on every side of the reference ligand's box."""
    max_score: float = 0.0
    """A score that is not finite or not below this (kcal/mol) is rejected: a pose that does
    not bind, or the +1e9 Vina gives some metal complexes."""

    def __post_init__(self) -> None:
        require(1 <= self.exhaustiveness <= 64, "docking.exhaustiveness", "an integer in [1, 64]", self.exhaustiveness)
        require(1 <= self.n_conformers <= 100, "docking.n_conformers", "an integer in [1, 100]", self.n_conformers)
        require(1 <= self.max_heavy_atoms <= 200, "docking.max_heavy_atoms", "an integer in [1, 200]", self.max_heavy_atoms)
        require(0 <= self.padding <= 30, "docking.padding", "angstrom in [0, 30]", self.padding)
        require(math.isfinite(self.max_score) and -20 <= self.max_score <= 10, "docking.max_score",
                "kcal/mol in [-20, 10]", self.max_score)


# Vina reads seed 0 as "draw a random seed", which made run seed 0 (every recipe's default)
# dock differently on every run; 0 maps to the largest seed instead (recipe seeds are below it).
VINA_SEED_FOR_ZERO = 2**31 - 1


def vina_seed(seed: int) -> int:
    """The seed Vina gets for a run seed: the same, except 0, which Vina would randomise."""
    return seed if seed else VINA_SEED_FOR_ZERO


def score_is_sane(score: float, max_score: float) -> bool:
    """Finite and below the bound: Vina reports +1e9 for poses it could not score."""
    return math.isfinite(score) and score < max_score


def _rejected(status: str, heavy_atoms: int = -1) -> dict:
    return {"status": status, "score": math.nan, "best_conformer": -1, "heavy_atoms": heavy_atoms,
            "molblock": ""}


def vina_with_maps(receptor_pdbqt: Path, pocket: Pocket, *, seed: int):
    """A one-CPU Vina with the run's seed and the receptor's affinity maps over the pocket."""
    from vina import Vina

    vina = Vina(sf_name="vina", cpu=1, seed=vina_seed(seed), verbosity=0)
    vina.set_receptor(str(receptor_pdbqt))
    vina.compute_vina_maps(center=list(pocket.center), box_size=list(pocket.size))
    return vina


def dock_once(vina, pdbqt: str, exhaustiveness: int) -> tuple[float, str]:
    """One conformer docked: the best pose's score (kcal/mol) and the pose as PDBQT."""
    vina.set_ligand_from_string(pdbqt)
    vina.dock(exhaustiveness=exhaustiveness, n_poses=1)
    return float(vina.energies(n_poses=1)[0][0]), vina.poses(n_poses=1)


class Docker:
    """A Vina instance with the receptor's affinity maps computed once, docking molecule by molecule."""

    def __init__(self, receptor_pdbqt: Path, pocket: Pocket, settings: DockingSettings, *, seed: int) -> None:
        self.settings = settings
        self.seed = seed
        self.vina = vina_with_maps(receptor_pdbqt, pocket, seed=seed)

    def _dock_one(self, pdbqt: str) -> tuple[float, str]:
        return dock_once(self.vina, pdbqt, self.settings.exhaustiveness)

    def dock(self, smiles: str) -> dict:
        """The molecule's row: status, best score (kcal/mol), which conformer, heavy atoms, pose."""
        try:
            mol = parent_molecule(smiles, self.settings.max_heavy_atoms)
            heavy = mol.GetNumHeavyAtoms()
            # Seeded by the parent's canonical SMILES: a salt or another spelling docks as its parent.
            seed = molecule_seed(self.seed, Chem.MolToSmiles(mol))
            built = embedded_conformers(mol, self.settings.n_conformers, seed)
            ligands = pdbqt_strings(built)
        except LigandRejected as rejection:
            return _rejected(rejection.reason)
        docked = [self._dock_one(text) for text in ligands]
        best = min(range(len(docked)), key=lambda i: (docked[i][0], i))
        score, pose = docked[best]
        if not score_is_sane(score, self.settings.max_score):
            return _rejected(SCORE_OUT_OF_RANGE, heavy)
        return {"status": OK, "score": score, "best_conformer": best, "heavy_atoms": heavy,
                "molblock": pose_molblock(pose)}


def pose_molblock(pose_pdbqt: str) -> str:
    """The docked pose as an MDL block with hydrogens, bond orders from meeko's record."""
    from meeko import PDBQTMolecule, RDKitMolCreate

    molecules = RDKitMolCreate.from_pdbqt_mol(PDBQTMolecule(pose_pdbqt, skip_typing=True))
    return Chem.MolToMolBlock(molecules[0])
