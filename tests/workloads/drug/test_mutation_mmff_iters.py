"""Mutation: the MMFF ``maxIters`` setting ignored (RDKit's default of 200 used instead).

Every other physics test runs at 200 iterations, RDKit's default, so dropping the keyword
changed nothing they could see. Here one iteration must leave the conformers unconverged and
their energies above the 200-iteration ones, and the setting must reach RDKit's call.
"""

from __future__ import annotations

from reference_workloads.drug_discovery import physics
from reference_workloads.drug_discovery.physics import PhysicsSettings, compute_molecule

FLEXIBLE = "CCCCCCCCO"  # a chain whose embedded conformers are far from an MMFF minimum


def test_one_iteration_does_not_converge_and_differs_from_the_default():
    short = compute_molecule(FLEXIBLE, PhysicsSettings(n_conformers=2, mmff_max_iters=1), seed=0)
    default = compute_molecule(FLEXIBLE, PhysicsSettings(n_conformers=2, mmff_max_iters=200), seed=0)
    assert short["status"] == default["status"] == physics.OK
    assert short["converged_fraction"] == 0.0
    assert default["converged_fraction"] == 1.0
    assert short["energy_min"] > default["energy_min"] + 1e-3


def test_the_setting_reaches_rdkit(monkeypatch):
    seen: list[int | None] = []
    real = physics.ff.MMFFOptimizeMoleculeConfs

    def spy(mol, *args, **kwargs):
        seen.append(kwargs.get("maxIters"))
        return real(mol, *args, **kwargs)

    monkeypatch.setattr(physics.ff, "MMFFOptimizeMoleculeConfs", spy)
    compute_molecule("CCO", PhysicsSettings(n_conformers=1, mmff_max_iters=37), seed=0)
    assert seen == [37]
