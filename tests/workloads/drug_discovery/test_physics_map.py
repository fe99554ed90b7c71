"""The drug physics stage on a worker map: the RayJob's path, mapped in-process (``ray`` is not
installed here, and the map is the only Ray-specific part).

Bitwise: the pipeline's physics stage on the map writes the MPI stage's shards (same keys,
folders, rows) and its physics table (same ``hash_dataframe``) and SDF; a later run on MPI
resumes the stage from the map's marker. A map that returns rows in another order (as Ray's
does) gives the same table.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from reference_workloads.cli import app
from reference_workloads.core import launch
from reference_workloads.core.hashing import hash_dataframe
from reference_workloads.core.worker_map import inprocess_map
from reference_workloads.drug_discovery import physics_map
from reference_workloads.drug_discovery.physics import PhysicsSettings
from reference_workloads.drug_discovery.physics_mpi import STATS, TABLE, read_shards

runner = CliRunner()
# docked, docked, a silicon the element whitelist rejects, docked, too large for the docking size limit
SMILES = ["CC(=O)Nc1ccc(O)cc1", "OCc1ccccc1", "C[Si](C)(C)c1ccccc1", "c1ccc2[nH]ccc2c1", "C" * 20]


@pytest.fixture(scope="module")
def sets(tmp_path_factory) -> list[str]:
    library = tmp_path_factory.mktemp("library") / "tiny.smi"
    library.write_text("".join(f"{s} m{i}\n" for i, s in enumerate(SMILES)))
    overrides = [f"data.library={library}", "data.activity_limit=20", "docking.max_heavy_atoms=14",
                 "physics.n_conformers=1", "physics.mmff_max_iters=50", "resources.physics_ranks=1"]
    return [flag for item in overrides for flag in ("--set", item)]


def _physics(out: Path, sets: list[str], backend: str | None):
    env = {launch.MAP_BACKEND_ENV: backend}  # None: unset, the default (mpi)
    return runner.invoke(app, ["run", "drug-discovery", "--recipe", "ci_tiny", *sets, "--out", str(out),
                               "--stage", "physics"], env=env)


def _marker(out: Path) -> dict:
    return json.loads((out / ".stages" / "physics.json").read_text())


def _resumed(out: Path) -> set[str]:
    events = [json.loads(line.split(":::MLLOG ", 1)[1]) for line in
              (out / "events.log").read_text().splitlines() if ":::MLLOG " in line]
    return {e["metadata"]["stage"] for e in events if e["key"] == "stage_resumed"}


def _shard_rows(folder: Path) -> pd.DataFrame:
    return read_shards(folder).sort_values("record").reset_index(drop=True)


def _no_mpi(*args, **kwargs):
    raise AssertionError("the physics stage ran on MPI")


@pytest.fixture(scope="module")
def mapped(tmp_path_factory, sets) -> Path:
    """A run folder whose physics stage ran on the in-process map, never launching MPI."""
    out = tmp_path_factory.mktemp("mapped") / "run"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(launch, "mpiexec", _no_mpi)
        result = _physics(out, sets, "inprocess")
    assert result.exit_code == 0, result.output
    return out


@pytest.mark.timeout(300)
def test_the_mapped_physics_stage_writes_the_mpi_stages_shards_and_table_bitwise(mapped, sets, tmp_path):
    mpi = tmp_path / "mpi"
    result = _physics(mpi, sets, "mpi")
    assert result.exit_code == 0, result.output
    ours, theirs = _marker(mapped), _marker(mpi)
    assert ours["inputs_hash"] == theirs["inputs_hash"]  # the backend is outside the stage key
    assert (ours["result"]["map_backend"], theirs["result"]["map_backend"]) == ("inprocess", "mpi")
    for name in ("physics_hash", "sdf_sha256", "shard_key", "status_counts", "mmff_status_counts"):
        assert ours["result"][name] == theirs["result"][name], name
    table = pd.read_parquet(mapped / ours["result"]["table"])
    assert hash_dataframe(table) == hash_dataframe(pd.read_parquet(mpi / theirs["result"]["table"]))
    assert table["status"].tolist() == ["ok", "ok", "element_not_allowed", "ok", "too_large"]
    assert table["docking_score"].iloc[[0, 1, 3]].lt(0).all() and table["docking_score"].iloc[[2, 4]].isna().all()
    for shards in ("docking-shards", "physics-shards"):
        (key,) = [p.name for p in (mapped / ".scratch" / shards).iterdir()]
        assert [p.name for p in (mpi / ".scratch" / shards).iterdir()] == [key]
        ours_rows = _shard_rows(mapped / ".scratch" / shards / key)
        assert hash_dataframe(ours_rows) == hash_dataframe(_shard_rows(mpi / ".scratch" / shards / key))


@pytest.mark.timeout(300)
def test_a_later_run_on_mpi_resumes_the_mapped_physics_stage(mapped, sets, monkeypatch):
    before = _marker(mapped)
    monkeypatch.setattr(launch, "mpiexec", _no_mpi)  # a recomputed stage would launch it
    again = _physics(mapped, sets, None)
    assert again.exit_code == 0, again.output
    assert {"library", "physics"} <= _resumed(mapped)
    assert _marker(mapped) == before


def _reversed_map(factory, items, workers):
    """A map whose results arrive last item first, as a Ray ActorPool's may."""
    work = factory()
    yield from (work(item) for item in reversed(items))


def test_the_order_rows_come_back_in_does_not_change_the_table_and_shards_are_reused(tmp_path):
    library = tmp_path / "library.parquet"
    pd.DataFrame({"record": range(4), "name": [f"m{i}" for i in range(4)], "smiles": SMILES[:4]}).to_parquet(library)
    settings = PhysicsSettings(n_conformers=1, mmff_max_iters=50)
    options = {"workers": 3, "code_version": "c", "on_progress": lambda done, total: None}
    physics_map.mmff(library, tmp_path / "a", settings, 5, pmap=inprocess_map, shard_dir=tmp_path / "sa", **options)
    physics_map.mmff(library, tmp_path / "b", settings, 5, pmap=_reversed_map, shard_dir=tmp_path / "sb", **options)
    assert hash_dataframe(pd.read_parquet(tmp_path / "a" / TABLE)) == hash_dataframe(
        pd.read_parquet(tmp_path / "b" / TABLE))
    physics_map.mmff(library, tmp_path / "c", settings, 5, pmap=_reversed_map, shard_dir=tmp_path / "sb", **options)
    stats = json.loads((tmp_path / "c" / STATS).read_text())
    assert (stats["computed"], stats["reused_from_shards"]) == (0, 4)


def test_a_bad_map_backend_is_one_line_naming_the_accepted_ones(tmp_path, sets):
    result = _physics(tmp_path / "run", sets, "spark")
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, lines
    assert "launch.map_backend ($AI4S_MAP_BACKEND)='spark' is invalid: expected one of mpi, ray, inprocess" in lines[0]
    assert not (tmp_path / "run").exists()


@pytest.mark.skipif(importlib.util.find_spec("ray") is not None, reason="ray is installed here")
def test_ray_without_the_ray_package_is_refused_before_any_work(tmp_path, sets):
    result = _physics(tmp_path / "run", sets, "ray")
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "AI4S_MAP_BACKEND='ray' needs the ray package" in lines[0], lines
    assert not (tmp_path / "run").exists()
