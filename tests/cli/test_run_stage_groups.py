"""`ai4s run --stage`: a cluster runs each stage group in its own pod, one after the other.

Each group stops after itself without writing a manifest, and the next group reuses the
previous groups' results under their keys (here through one run folder; on a cluster
through the data layer). Bitwise on CPU: the groups run one by one give the same hashes
as the reported partial results.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from reference_workloads.cli import app

runner = CliRunner()
SMALL = ["--set", "repeats.seeds=1", "--set", "train.epochs=1"]


def _run(out: Path, *args: str):
    return runner.invoke(app, ["run", "climate", "--recipe", "ci_tiny", "--out", str(out), *SMALL, *args])


def _markers(out: Path) -> set[str]:
    return {p.stem for p in (out / ".stages").glob("*.json")}


def _resumed(out: Path) -> set[str]:
    events = [json.loads(line.split(":::MLLOG ", 1)[1]) for line in
              (out / "events.log").read_text().splitlines() if ":::MLLOG " in line]
    return {e["metadata"]["stage"] for e in events if e["key"] == "stage_resumed"}


@pytest.mark.timeout(900)
def test_stage_groups_run_one_after_the_other_and_reuse_what_came_before(tmp_path: Path) -> None:
    out = tmp_path / "run"
    simulated = _run(out, "--stage", "simulate")
    assert simulated.exit_code == 0, simulated.output
    assert "stopped after simulate" in simulated.output
    assert _markers(out) == {"simulate"} and not (out / "manifest.json").exists()

    trained = _run(out, "--stage", "train")
    assert trained.exit_code == 0, trained.output
    assert _resumed(out) == {"simulate"}
    assert not any(name.startswith("evaluate") for name in _markers(out))
    assert not (out / "manifest.json").exists()

    whole = _run(out, "--stage", "evaluate")
    assert whole.exit_code == 0, whole.output
    manifest = json.loads((out / "manifest.json").read_text())
    assert {"simulate"} <= _resumed(out) and any(name.startswith("train") for name in _resumed(out))
    assert f'"dataset_hash": "{manifest["dataset_hash"]}"' in simulated.output
    assert f'"model_hash": "{manifest["model_hash"]}"' in trained.output


def test_an_unknown_stage_group_is_one_line_naming_the_accepted_ones(tmp_path: Path) -> None:
    result = _run(tmp_path / "run", "--stage", "serve")
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "stage='serve' is invalid: expected one of simulate, train, evaluate" in lines[0]
    assert not (tmp_path / "run").exists()


def test_the_drug_library_group_stops_before_the_mpi_physics(tmp_path: Path) -> None:
    out = tmp_path / "run"
    result = runner.invoke(app, ["run", "drug-discovery", "--recipe", "ci_tiny", "--out", str(out),
                                 "--stage", "library"])
    assert result.exit_code == 0, result.output
    assert "stopped after library" in result.output and '"library_hash"' in result.output
    assert _markers(out) == {"library"} and not (out / "manifest.json").exists()
