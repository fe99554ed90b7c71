"""The standard docking sanity check: the receptor's own ligand, built from its SMILES alone,
docks back within 2 A heavy-atom RMSD of its given pose, for every seed fixed beforehand.

Symmetry-aware RMSD in the receptor's frame (RDKit ``CalcRMS``: no realignment). Nothing of
the given pose reaches the docking: conformers are embedded from ``REFERENCE_SMILES``; the
pose only defines the box (``PADDING`` A around it), as the standard check does. The
procedure is ``docking.redock.redock`` with ``REDOCK``: 30 ETKDGv3 conformers from random
coordinates, at most 12 with distinct ring-system shapes docked at exhaustiveness 1 over
two processes, best score kept.

SEEDS were fixed before the procedure was first run (0, 1, 2) and are not to be changed
after looking.

NOT ROBUST (measured 2026-12-01 on the shared 2-core machine under load 5-6, the lead's
docking run alongside, so times are pessimistic; idle, a seed takes about 2.5 min):
  seed 0: 0.54 A, score -13.01 (conformer 0 of 12), 694 s
  seed 1: 5.25 A, score -13.10 (conformer 4); near-native poses scored worse, 475 s
  seed 2: 1.13 A, score -12.35 (conformer 2), 402 s
2 of 3. Seed 1 fails by scoring, not by sampling alone: a wrong pose at -13.10 beats the
given pose's own Vina score (-12.44, -13.04 after local optimisation in this receptor), as
srETKDGv3 conformers did before (-13.1 at 4.9 A). Over ten seeds (``python -m
tests.bench.redock 0-9``, 2026-12-02, idle) it is 4 of 10, although 8 of 10 docked a pose
within 2 A; the redock module's docstring has those numbers and what was tried (MMFF94
minimised conformers, Vinardo rescoring, the protonated amine, a strain penalty), none
robust. Seed 1 is marked as an expected failure (strict, so a fix shows up), and the test
only runs when AI4S_REDOCK_ACCEPTANCE=1: three seeds cost minutes of both cores, far over the
CI budget.
"""

from __future__ import annotations

import os

import pytest

from reference_workloads.drug_discovery.docking.receptor import (
    REFERENCE_SMILES,
    pocket_box,
    reference_ligand,
)
from reference_workloads.drug_discovery.docking.redock import RedockSettings, heavy_rmsd, redock
from reference_workloads.drug_discovery.docking.vina_dock import OK

REDOCK = RedockSettings(n_embedded=30, max_docked=12, exhaustiveness=1, processes=2)
PADDING = 2.0
SEEDS = (0, 1, 2)

KNOWN_FAILING = {1: "measured 5.25 A: a wrong pose at -13.10 kcal/mol outscores the near-native ones"}

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(os.environ.get("AI4S_REDOCK_ACCEPTANCE") != "1",
                       reason="minutes of both cores per seed; set AI4S_REDOCK_ACCEPTANCE=1 to run"),
]


@pytest.mark.parametrize("seed", [
    pytest.param(seed, marks=pytest.mark.xfail(strict=True, reason=KNOWN_FAILING[seed]))
    if seed in KNOWN_FAILING else seed
    for seed in SEEDS
])
def test_the_reference_ligand_redocks_from_its_smiles_within_2_angstrom(receptor, seed):
    reference = reference_ligand()
    row = redock(REFERENCE_SMILES, receptor.pdbqt, pocket_box(reference, PADDING), REDOCK, seed=seed)
    assert row["status"] == OK
    rmsd = heavy_rmsd(row["molblock"], reference)
    print(f"seed {seed}: redocked at {rmsd:.2f} A, score {row['score']}, {row['n_docked']} conformers docked")
    assert rmsd < 2.0, (f"seed {seed}: redocked at {rmsd:.2f} A (score {row['score']}, conformer "
                        f"{row['best_conformer']} of {row['n_docked']} docked; scores {row['scores']})")
