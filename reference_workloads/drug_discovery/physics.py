"""The physics of one molecule: a seeded ETKDG conformer ensemble minimised with MMFF94.

Pure RDKit, no MPI: the MPI layer (physics_mpi.py) only decides which rank computes which
molecule. Every result depends on the molecule and the settings alone (the seed is derived
from the canonical SMILES, RDKit runs single-threaded), so the table is the same whatever
the number of ranks.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

from rdkit import Chem, RDLogger
from rdkit.Chem import AllChem, rdMolDescriptors
from rdkit.Chem import rdForceFieldHelpers as ff

from reference_workloads.core.recipes import require

# Status values of a molecule in the physics table; everything but "ok" has NaN labels.
OK = "ok"
TOO_LARGE = "too_large"
EMBED_FAILED = "embed_failed"
NO_MMFF_PARAMS = "no_mmff_params"
MMFF_FAILED = "mmff_failed"
STATUSES = (OK, TOO_LARGE, EMBED_FAILED, NO_MMFF_PARAMS, MMFF_FAILED)

# The physics labels and 3-D descriptors one molecule yields.
LABELS = (
    "energy_min",  # lowest MMFF94 energy over the minimised ensemble, kcal/mol
    "energy_spread",  # highest minus lowest minimised conformer energy: conformational strain
    "rgyr",  # radius of gyration of the best conformer, angstrom (heavy atoms and H)
    "asphericity",  # 0 for a sphere, 1 for a rod
    "npr1",  # normalised principal moments: (npr1, npr2) place the shape in the rod-disc-sphere triangle
    "npr2",
    "converged_fraction",  # fraction of conformers whose MMFF minimisation converged
)


@dataclass(kw_only=True, frozen=True, slots=True)
class PhysicsSettings:
    """How hard the physics stage works per molecule."""

    n_conformers: int = 8
    """Conformers embedded per molecule (ETKDGv3)."""
    mmff_max_iters: int = 500
    """MMFF94 minimiser iterations per conformer."""
    max_heavy_atoms: int = 70
    """Molecules above this size are reported as too_large and skipped."""

    def __post_init__(self) -> None:
        require(1 <= self.n_conformers <= 1000, "physics.n_conformers", "an integer in [1, 1000]", self.n_conformers)
        require(1 <= self.mmff_max_iters <= 100_000, "physics.mmff_max_iters", "an integer in [1, 100000]", self.mmff_max_iters)
        require(1 <= self.max_heavy_atoms <= 500, "physics.max_heavy_atoms", "an integer in [1, 500]", self.max_heavy_atoms)


def molecule_seed(seed: int, smiles: str) -> int:
    """A per-molecule seed fixed by the run seed and the molecule, never by its rank."""
    digest = hashlib.sha256(f"{seed}:{smiles}".encode()).digest()
    return int.from_bytes(digest[:4], "little") & 0x7FFFFFFF


def cost_estimate(smiles: str) -> float:
    """Relative cost of one molecule, for load balancing: MMFF terms grow ~ atoms^2."""
    mol = Chem.MolFromSmiles(smiles)
    atoms = mol.GetNumAtoms() + sum(a.GetTotalNumHs() for a in mol.GetAtoms()) if mol else 1
    return float(atoms * atoms)


def _empty(status: str) -> dict:
    row = {name: math.nan for name in LABELS}
    row.update(status=status, best_conformer=-1, molblock="")
    return row


def compute_molecule(smiles: str, settings: PhysicsSettings, *, seed: int) -> dict:
    """Physics labels, descriptors and the best conformer (MDL block) of one molecule.

    ``seed`` is the run seed; the molecule's own seed is derived from it and the SMILES.
    """
    mol = Chem.MolFromSmiles(smiles)
    if mol is None:
        raise ValueError(f"smiles={smiles!r} is invalid: expected a SMILES that RDKit parses")
    if mol.GetNumHeavyAtoms() > settings.max_heavy_atoms:
        return _empty(TOO_LARGE)
    mol = Chem.AddHs(mol)
    RDLogger.DisableLog("rdApp.*")  # metal atoms make the embedder's UFF typer chatty
    params = AllChem.ETKDGv3()
    params.randomSeed = molecule_seed(seed, smiles)
    params.numThreads = 1  # bitwise results must not depend on thread scheduling
    params.pruneRmsThresh = -1.0
    # RDKit raises on some exotic structures (e.g. bounds-matrix invariant violations for
    # chelated metals); such a molecule is a reported failure, never a crash of all ranks.
    try:
        conformer_ids = list(AllChem.EmbedMultipleConfs(mol, settings.n_conformers, params))
    except RuntimeError:
        return _empty(EMBED_FAILED)
    if not conformer_ids:
        return _empty(EMBED_FAILED)
    if not ff.MMFFHasAllMoleculeParams(mol):
        return _empty(NO_MMFF_PARAMS)
    try:
        results = ff.MMFFOptimizeMoleculeConfs(mol, numThreads=1, maxIters=settings.mmff_max_iters)
    except RuntimeError:
        return _empty(MMFF_FAILED)
    energies = [energy for _, energy in results]
    # Ties broken by conformer id, so the choice is deterministic.
    best_position = min(range(len(energies)), key=lambda i: (energies[i], i))
    best_id = conformer_ids[best_position]
    row = {
        "energy_min": float(energies[best_position]),
        "energy_spread": float(max(energies) - min(energies)),
        "rgyr": rdMolDescriptors.CalcRadiusOfGyration(mol, confId=best_id),
        "asphericity": rdMolDescriptors.CalcAsphericity(mol, confId=best_id),
        "npr1": rdMolDescriptors.CalcNPR1(mol, confId=best_id),
        "npr2": rdMolDescriptors.CalcNPR2(mol, confId=best_id),
        "converged_fraction": sum(1 for flag, _ in results if flag == 0) / len(results),
        "status": OK,
        "best_conformer": int(best_id),
    }
    best = Chem.Mol(mol, confId=best_id)
    best.SetProp("_Name", smiles)
    best.SetProp("energy_min_kcal_mol", f"{row['energy_min']:.6f}")
    row["molblock"] = Chem.MolToMolBlock(best, confId=best_id)
    return row
