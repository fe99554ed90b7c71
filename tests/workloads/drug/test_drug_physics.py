"""Per-molecule physics: seeded, deterministic, physically sensible, failures reported."""

from __future__ import annotations

import math

import pytest
from rdkit import Chem

from reference_workloads.drug_discovery.physics import (
    EMBED_FAILED,
    NO_MMFF_PARAMS,
    OK,
    TOO_LARGE,
    PhysicsSettings,
    compute_molecule,
    molecule_seed,
)

SETTINGS = PhysicsSettings(n_conformers=3, mmff_max_iters=200)


def test_same_molecule_same_result_bitwise():
    first = compute_molecule("CCCCCCO", SETTINGS, seed=7)
    second = compute_molecule("CCCCCCO", SETTINGS, seed=7)
    assert first == second
    assert first["status"] == OK


def test_seed_changes_the_ensemble_but_not_the_validity():
    assert molecule_seed(0, "CCO") != molecule_seed(1, "CCO")
    a = compute_molecule("CCCCCCCCCO", SETTINGS, seed=0)
    b = compute_molecule("CCCCCCCCCO", SETTINGS, seed=1)
    assert a["status"] == b["status"] == OK
    assert a["molblock"] != b["molblock"]


def test_descriptors_are_physical():
    linear = compute_molecule("CCCCCCCCCCCC", SETTINGS, seed=0)
    compact = compute_molecule("C12C3C4C1C5C2C3C45", SETTINGS, seed=0)  # cubane
    assert linear["rgyr"] > compact["rgyr"] > 0
    assert linear["asphericity"] > compact["asphericity"]
    assert 0 <= compact["npr1"] <= compact["npr2"] <= 1
    assert linear["energy_spread"] >= 0
    # Cubane's strain shows up as a much higher MMFF energy than an unstrained alkane.
    assert compact["energy_min"] > linear["energy_min"]


def test_best_conformer_block_reads_back():
    row = compute_molecule("c1ccccc1O", SETTINGS, seed=0)
    mol = Chem.MolFromMolBlock(row["molblock"], removeHs=False)
    assert mol.GetNumConformers() == 1 and mol.GetConformer().Is3D()
    assert Chem.MolToSmiles(Chem.RemoveHs(mol)) == "Oc1ccccc1"


def test_failures_are_statuses_with_nan_labels():
    too_large = compute_molecule("C" * 30, PhysicsSettings(max_heavy_atoms=20), seed=0)
    assert too_large["status"] == TOO_LARGE and math.isnan(too_large["energy_min"])
    no_params = compute_molecule("CB(C)C", SETTINGS, seed=0)  # MMFF94 has no boron type
    assert no_params["status"] == NO_MMFF_PARAMS
    assert no_params["molblock"] == ""


def test_rdkit_invariant_violation_is_a_status_not_a_crash():
    # NCI record 4097, a mercury chelate: RDKit's bounds-matrix builder raises on it.
    chelate = "c1cc2c3c(c1)ccc[n+]3[Hg]1([O]2)[O]c2cccc3ccc[n+]1c23"
    row = compute_molecule(chelate, SETTINGS, seed=0)
    assert row["status"] == EMBED_FAILED and math.isnan(row["rgyr"])


def test_bad_settings_and_smiles():
    with pytest.raises(ValueError, match="physics.n_conformers=0"):
        PhysicsSettings(n_conformers=0)
    with pytest.raises(ValueError, match="smiles="):
        compute_molecule("C1CC", SETTINGS, seed=0)
