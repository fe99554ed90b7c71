"""Redocking success rate over seeds, outside CI: ``python -m tests.bench.redock 0-9``.

For each seed, the reference ligand is redocked from its SMILES with ``REDOCK`` (the
settings the acceptance test uses) and the heavy-atom RMSD to its given pose, the best
score, the number of conformers docked and the wall time are printed, then the success rate
(RMSD < 2 A). Seeds are given on the command line before anything is run.
"""

from __future__ import annotations

import sys
import tempfile
import time

from reference_workloads.drug_discovery.docking.receptor import (
    REFERENCE_SMILES,
    pocket_box,
    prepare_receptor,
    reference_ligand,
)
from reference_workloads.drug_discovery.docking.redock import heavy_rmsd, redock
from tests.workloads.drug_discovery.test_docking_redock import PADDING, REDOCK


def _seeds(text: str) -> list[int]:
    low, _, high = text.partition("-")
    return list(range(int(low), int(high or low) + 1))


def main(argv: list[str]) -> None:
    seeds = [seed for part in argv for seed in _seeds(part)] or [0, 1, 2]
    reference = reference_ligand()
    with tempfile.TemporaryDirectory() as folder:
        receptor = prepare_receptor(folder)
        pocket = pocket_box(reference, PADDING)
        passed = 0
        for seed in seeds:
            start = time.perf_counter()
            row = redock(REFERENCE_SMILES, receptor.pdbqt, pocket, REDOCK, seed=seed)
            rmsd = heavy_rmsd(row["molblock"], reference)
            passed += rmsd < 2.0
            print(f"seed {seed}: {rmsd:.2f} A, score {row['score']:.2f}, {row['n_docked']} docked, "
                  f"{time.perf_counter() - start:.0f} s", flush=True)
        print(f"{passed} of {len(seeds)} seeds within 2 A")


if __name__ == "__main__":
    main(sys.argv[1:])
