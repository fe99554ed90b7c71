"""``ai4s`` for the drug-discovery workload, through Typer's CliRunner.

The end-to-end test runs every stage for real (mpiexec, torchrun, the KServe server,
MLflow) on a cut-down ci_tiny, twice, and checks the acceptance hashes.
"""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from reference_workloads.cli import app
from reference_workloads.core.eventlog import read_events
from reference_workloads.core.tracing import read_spans

runner = CliRunner()
# docking.max_heavy_atoms keeps docking to the small molecules (the rest are refused before any
# work, counted as too_large): the plumbing is under test here, the CI budget is minutes
SMALL = ["data.library_limit=40", "data.activity_limit=120", "train.epochs=4", "physics.n_conformers=2",
         "docking.max_heavy_atoms=16",
         "baseline.n_estimators=20", "model.hidden=16"]


def _sets(overrides):
    return [flag for item in overrides for flag in ("--set", item)]


def test_recipes_lists_the_drug_recipes():
    result = runner.invoke(app, ["recipes", "drug-discovery"])
    assert result.exit_code == 0
    for name in ("ci_tiny", "laptop", "h100x1"):
        assert name in result.output


def test_validate_h100_recipe():
    result = runner.invoke(app, ["validate", "drug-discovery", "--recipe", "h100x1"])
    assert result.exit_code == 0, result.output
    assert '"device": "cuda"' in result.output


def test_bad_override_is_one_line_exit_2():
    result = runner.invoke(app, ["validate", "drug-discovery", "--recipe", "ci_tiny", "--set", "train.physics_target=dipole"])
    assert result.exit_code == 2
    assert "train.physics_target='dipole' is invalid" in result.output
    assert "Traceback" not in result.output


def test_empty_library_file_is_one_line_exit_2(tmp_path):
    empty = tmp_path / "empty.smi"
    empty.write_text("")
    result = runner.invoke(app, ["run", "drug-discovery", "--recipe", "ci_tiny", "--set", f"data.library={empty}",
                                 "--out", str(tmp_path / "run")])
    assert result.exit_code == 2, result.output
    assert "at least one valid molecule" in result.output and "Traceback" not in result.output


@pytest.mark.slow
def test_end_to_end_twice_gives_the_same_hashes(tmp_path):
    first = runner.invoke(app, ["run", "drug-discovery", "--recipe", "ci_tiny", *_sets(SMALL), "--out", str(tmp_path / "a")])
    assert first.exit_code == 0, first.output
    run_dir = tmp_path / "a"
    manifest = json.loads((run_dir / "manifest.json").read_text())
    results = json.loads((run_dir / "results.json").read_text())
    for task in ("physics", "activity"):
        for model in ("gnn", "random_forest"):
            assert set(results["metrics"][task][model]) == {"rmse", "r2", "spearman", "n"}
    screen = results["screen"]
    # the screen ranks the docked pool: every molecule docked, no other
    assert screen["molecules"] == manifest["physics_status_counts"]["ok"] >= 20
    assert 0 <= screen["recall_at_top_fraction"] <= 1
    assert screen["speedup"] > 0 and len(screen["top_candidates"]) == 10
    assert (run_dir / "physics" / "docking" / "poses.sdf").stat().st_size > 0
    assert (run_dir / "physics" / "mmff" / "best_conformers.sdf").stat().st_size > 0
    evaluation = (run_dir / json.loads((run_dir / "manifest.json").read_text())["results"]).parent
    assert all((evaluation / name).stat().st_size > 0 for name in ("parity.png", "enrichment.png"))
    assert manifest["world_size"] == {"mpi_ranks": 2, "ddp_processes": 2}
    assert manifest["invalid_molecules"]["library"]["records"] == 40
    assert manifest["tracking"]["model_version"] == "1"
    keys = [event["key"] for event in read_events(run_dir / "events.log")]
    assert keys[0] == "init_start" and "submission_benchmark" in keys and "run_start" in keys and keys[-1] == "run_stop"
    # 4 epochs for each of the two tasks, for each of the recipe's 2 training seeds
    assert keys.count("epoch_start") == 16 and len(manifest["seeds"]["training"]) == 2
    spans = {span["name"] for span in read_spans(run_dir)}
    assert {"stage.physics", "stage.train_physics", "stage.screen", "stage.track"} <= spans

    again = runner.invoke(app, ["run", "drug-discovery", "--recipe", "ci_tiny", *_sets(SMALL), "--out", str(run_dir)])
    assert again.exit_code == 0 and "already complete" in again.output
    assert json.loads((run_dir / "manifest.json").read_text())["model_hash"] == manifest["model_hash"]

    # one MPI rank gives the same physics table and, trained on it, the same surrogate; the
    # later stages only read those, so this run stops after training (the CI budget is minutes)
    one_rank = runner.invoke(app, ["run", "drug-discovery", "--recipe", "ci_tiny", "--stage", "train",
                                   *_sets([*SMALL, "resources.physics_ranks=1"]), "--out", str(tmp_path / "b")])
    assert one_rank.exit_code == 0 and "stopped after train" in one_rank.output, one_rank.output
    assert f'"dataset_hash": "{manifest["dataset_hash"]}"' in one_rank.output
    assert f'"model_hash": "{manifest["model_hash"]}"' in one_rank.output
    (physics,) = [span for span in read_spans(tmp_path / "b") if span["name"] == "stage.physics"]
    assert physics["attributes"]["mpi_ranks"] == 1
