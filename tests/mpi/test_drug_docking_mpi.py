"""The MPI docking stage with real mpiexec: a dynamic work queue, rank-count independence, resumability.

Bitwise: the table and the SDF from 1 and 2 ranks hash the same; a resumed run that reuses
shards equals a run from scratch. The queue hands each molecule to exactly one rank.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest

from reference_workloads.core import launch
from reference_workloads.core.hashing import hash_dataframe, sha256_file
from reference_workloads.drug_discovery.docking.mpi import SDF, STATS, TABLE, assemble
from reference_workloads.drug_discovery.docking.receptor import prepare_receptor

MODULE = "reference_workloads.drug_discovery.docking.mpi"
SETTINGS = json.dumps({"exhaustiveness": 1, "n_conformers": 1})
SMILES = ["CC(=O)Nc1ccc(O)cc1", "O=C(N)c1ccc(O)cc1", "c1ccc2[nH]ccc2c1", "C[Si](C)(C)c1ccccc1",
          "OCc1ccccc1", "c1ccc2[nH]ccc2c1", "CC(=O)Nc1ccc(O)cc1.Cl"]  # record 5 repeats record 2


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("docking")
    library = pd.DataFrame({"record": range(len(SMILES)), "name": [f"m{i}" for i in range(len(SMILES))],
                            "smiles": SMILES})
    library.to_parquet(folder / "library.parquet", index=False)
    prepare_receptor(folder / "receptor")
    return folder


def _run(inputs, out, ranks):
    launch.mpiexec(ranks, MODULE, ["--library", str(inputs / "library.parquet"), "--out", str(out),
                                   "--receptor", str(inputs / "receptor"), "--settings", SETTINGS,
                                   "--seed", "3", "--shard-size", "2"], timeout=600)
    return pd.read_parquet(out / TABLE), json.loads((out / STATS).read_text())


@pytest.fixture(scope="module")
def two_ranks(inputs):
    return _run(inputs, inputs / "two", 2)


def test_one_and_two_ranks_give_the_same_table_and_each_molecule_is_docked_once(inputs, two_ranks):
    two, stats_two = two_ranks
    one, stats_one = _run(inputs, inputs / "one", 1)
    assert hash_dataframe(one) == hash_dataframe(two)
    assert sha256_file(inputs / "one" / SDF) == sha256_file(inputs / "two" / SDF)
    assert two["record"].tolist() == list(range(len(SMILES)))
    claimed = [r for rank in stats_two["per_rank"] for r in rank["records"]]
    assert len(claimed) == len(set(claimed)) == stats_two["computed"] == 6  # the repeated SMILES docked once
    assert {r["rank"] for r in stats_two["per_rank"]} == {0, 1}
    assert stats_two["status_counts"] == {"element_not_allowed": 1, "ok": 6}
    assert two.loc[5, "score"] == two.loc[2, "score"] and two["score"].iloc[[0, 1, 2, 4, 6]].lt(0).all()


def test_a_rerun_docks_only_the_lost_molecules_and_matches(inputs, two_ranks):
    reference, _ = two_ranks
    out = inputs / "two"
    shards = sorted(next((out / "shards").iterdir()).glob("part-*.parquet"))
    lost = pd.concat([pd.read_parquet(s) for s in shards[::2]])
    for shard in shards[::2]:  # an interrupted run: half the shards never written
        shard.unlink()
    resumed, stats = _run(inputs, out, 2)
    lost_smiles = set(lost["smiles"])
    assert stats["computed"] == len(lost) and stats["reused_from_shards"] == sum(s not in lost_smiles for s in SMILES)
    assert sorted(r for rank in stats["per_rank"] for r in rank["records"]) == sorted(lost["record"])
    assert hash_dataframe(resumed) == hash_dataframe(reference)


def test_assemble_refuses_a_molecule_docked_twice(inputs, two_ranks, tmp_path):
    table, stats = two_ranks
    library = pd.read_parquet(inputs / "library.parquet")
    shards = pd.concat([pd.read_parquet(f) for f in next((inputs / "two" / "shards").iterdir()).glob("*.parquet")])
    doubled = pd.concat([shards, shards.iloc[:1]], ignore_index=True)
    with pytest.raises(RuntimeError, match="hold 1 molecules twice"):
        assemble(library, doubled, tmp_path, stats["shard_key"])
    with pytest.raises(RuntimeError, match="lack 1 molecules"):
        assemble(library, shards.iloc[1:], tmp_path, stats["shard_key"])
