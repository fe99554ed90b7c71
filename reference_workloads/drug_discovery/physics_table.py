"""The physics stage's table (fixed interface 2): the docking objective next to the MMFF descriptor.

One row per library molecule, keyed by ``record``, in record order: ``status`` is the docking
status (``"ok"`` when docked, else the rejection reason), ``docking_score`` the best Vina score
in kcal/mol (lower binds better; NaN unless ok), and the MMFF94 labels (``energy_min`` and the
3-D shape descriptors) with their own ``mmff_status``: a molecule can dock and lack MMFF
parameters, or the reverse, and neither hides the other.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .docking.vina_dock import OK
from .physics import LABELS

DOCKING_COLUMNS = {"status": "status", "score": "docking_score", "best_conformer": "docking_conformer",
                   "heavy_atoms": "heavy_atoms"}


def physics_table(docking: pd.DataFrame, mmff: pd.DataFrame) -> pd.DataFrame:
    """Join the docking table and the MMFF table (both one row per library record) by record."""
    for name, frame in (("docking", docking), ("mmff", mmff)):
        if frame["record"].duplicated().any():
            raise ValueError(f"{name} table holds a record twice: expected one row per library molecule")
    if set(docking["record"]) != set(mmff["record"]):
        raise ValueError(f"docking table has {len(docking)} records and the MMFF table {len(mmff)}, not the same "
                         "ones: expected both computed over the same library")
    library_columns = [c for c in docking.columns if c not in DOCKING_COLUMNS and c != "record"]
    docked = docking[["record", *library_columns, *DOCKING_COLUMNS]].rename(columns=DOCKING_COLUMNS)
    # a rejected molecule's score is NaN whatever a shard held: "NaN unless ok" is the contract
    docked["docking_score"] = docked["docking_score"].where(docked["status"] == OK, np.nan).astype(np.float64)
    descriptors = mmff[["record", "status", *LABELS]].rename(columns={"status": "mmff_status"})
    joined = docked.merge(descriptors, on="record", how="left", validate="one_to_one")
    return joined.sort_values("record", kind="stable").reset_index(drop=True)


def learnable(table: pd.DataFrame, target: str) -> pd.DataFrame:
    """The rows a surrogate can learn ``target`` from: docked (status ok) with a finite target."""
    finite = np.isfinite(table[target].to_numpy(np.float64))
    return table[(table["status"] == OK).to_numpy() & finite].reset_index(drop=True)
