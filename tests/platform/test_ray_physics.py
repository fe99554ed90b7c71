"""The RayJob's physics entry point, mapped in-process (`ray` is not installed here; the map
function is the only Ray-specific part): the same table as the MPI stage, for any worker
count, and shards reused under their key."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from reference_workloads.core.hashing import hash_dataframe
from reference_workloads.core.launch import mpiexec
from reference_workloads.drug_discovery.library import load_library
from reference_workloads.drug_discovery.physics import PhysicsSettings
from reference_workloads.drug_discovery.physics_mpi import TABLE
from reference_workloads.platform.ray_physics import local_map, main, run_physics

SETTINGS = PhysicsSettings(n_conformers=2, mmff_max_iters=50, max_heavy_atoms=40)


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    path = tmp_path_factory.mktemp("lib") / "library.parquet"
    load_library("nci", limit=8).molecules.to_parquet(path, index=False)
    return path


def test_worker_count_does_not_change_the_table_and_it_equals_the_mpi_stage(library, tmp_path):
    one = run_physics(library, tmp_path / "one", SETTINGS, 5, workers=1, pmap=local_map)
    three = run_physics(library, tmp_path / "three", SETTINGS, 5, workers=3, pmap=local_map)
    assert one["computed"] == three["computed"] == 8
    table = pd.read_parquet(tmp_path / "three" / TABLE)
    assert hash_dataframe(pd.read_parquet(tmp_path / "one" / TABLE)) == hash_dataframe(table)
    mpiexec(1, "reference_workloads.drug_discovery.physics_mpi",
            ["--library", str(library), "--out", str(tmp_path / "mpi"), "--seed", "5",
             "--settings", json.dumps({"n_conformers": 2, "mmff_max_iters": 50, "max_heavy_atoms": 40})], timeout=120)
    assert hash_dataframe(pd.read_parquet(tmp_path / "mpi" / TABLE)) == hash_dataframe(table)


def test_a_rerun_reuses_the_shards_of_its_key_and_another_seed_does_not(library, tmp_path):
    shards = tmp_path / "shards"
    args = ["--library", str(library), "--out", str(tmp_path / "a"), "--seed", "5", "--workers", "2",
            "--settings", json.dumps({"n_conformers": 2, "mmff_max_iters": 50, "max_heavy_atoms": 40}),
            "--shards", str(shards / "k"), "--local"]
    main(args)
    again = run_physics(library, tmp_path / "b", SETTINGS, 5, workers=2, pmap=local_map, shard_dir=shards / "k")
    assert (again["computed"], again["reused_from_shards"]) == (0, 8)
    other = run_physics(library, tmp_path / "c", SETTINGS, 6, workers=2, pmap=local_map, shard_dir=shards / "k")
    assert other["computed"] == 8  # a row under another key (seed) is never joined
