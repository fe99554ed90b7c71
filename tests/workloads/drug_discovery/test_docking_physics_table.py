"""The physics stage's table (fixed interface 2): docking scores for docked rows, NaN otherwise,
the MMFF descriptor beside them with its own status, one row per library record."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from reference_workloads.drug_discovery.physics import LABELS
from reference_workloads.drug_discovery.physics_table import learnable, physics_table


def _docking():
    return pd.DataFrame({"record": [2, 0, 1, 3], "name": ["c", "a", "b", "d"], "smiles": ["CCO", "CC", "C[Zn]", "CN"],
                         "status": ["ok", "ok", "element_not_allowed", "score_out_of_range"],
                         # a rejected row with a number in it must still read NaN (a shard may carry +1e9)
                         "score": [-5.5, -4.0, math.nan, 1e9], "best_conformer": [1, 0, -1, -1],
                         "heavy_atoms": [3, 2, -1, 2]})


def _mmff():
    rows = pd.DataFrame({"record": [0, 1, 2, 3], "name": ["a", "b", "c", "d"], "smiles": ["CC", "C[Zn]", "CCO", "CN"],
                         "status": ["ok", "no_mmff_params", "ok", "ok"]})
    for label in LABELS:
        rows[label] = [1.0, math.nan, 2.0, 3.0]
    return rows


def test_docked_rows_have_scores_and_the_rest_nan_in_record_order():
    table = physics_table(_docking(), _mmff())
    assert table["record"].tolist() == [0, 1, 2, 3] and table["smiles"].tolist() == ["CC", "C[Zn]", "CCO", "CN"]
    ok = table["status"] == "ok"
    assert table.loc[ok, "docking_score"].tolist() == [-4.0, -5.5]
    assert table.loc[~ok, "docking_score"].isna().all()
    assert table["mmff_status"].tolist() == ["ok", "no_mmff_params", "ok", "ok"]
    assert table["energy_min"].tolist()[2:] == [2.0, 3.0] and {"docking_score", "energy_min", "status"} <= set(table)


def test_learnable_rows_are_docked_with_a_finite_target():
    table = physics_table(_docking(), _mmff())
    assert learnable(table, "docking_score")["record"].tolist() == [0, 2]
    # record 3 has an MMFF energy but did not dock: not in the docked pool for any target
    assert learnable(table, "energy_min")["record"].tolist() == [0, 2]


def test_tables_over_different_libraries_are_refused():
    with pytest.raises(ValueError, match="not the same ones"):
        physics_table(_docking(), _mmff().iloc[:3])
    with pytest.raises(ValueError, match="docking table holds a record twice"):
        physics_table(pd.concat([_docking(), _docking().iloc[:1]]), _mmff())
