"""`ai4s run climate --recipe ci_tiny` end to end: real mpiexec, torchrun and MLflow."""

import json
import sqlite3

import pytest
from typer.testing import CliRunner

from reference_workloads.cli import app
from reference_workloads.core.eventlog import read_events
from reference_workloads.core.tracing import read_spans

runner = CliRunner()


def _run(out, *extra):
    result = runner.invoke(app, ["run", "climate", "--recipe", "ci_tiny", "--out", str(out), *extra])
    assert result.exit_code == 0, result.output
    return json.loads((out / "manifest.json").read_text())


@pytest.fixture(scope="module")
def served_run(tmp_path_factory):
    """ci_tiny with tracking=server: the kit starts and stops an mlflow server on loopback."""
    root = tmp_path_factory.mktemp("runs")
    out = root / "climate" / "ci_tiny"  # where `ai4s casestudies --runs root` looks
    return root, out, _run(out, "--set", "tracking=server")


@pytest.mark.timeout(900)
def test_pipeline_writes_every_stage_output_and_tracks_the_model(served_run):
    root, out, manifest = served_run
    assert manifest["world_size"] == {"mpi_ranks": 2, "ddp_processes": 2}
    assert manifest["recipe_name"] == "ci_tiny" and len(manifest["dataset_hash"]) == 64
    assert manifest["packages"]["torch"].startswith("2.13.0")
    results = json.loads((out / manifest["results"]).read_text())
    assert len(manifest["repeats"]) == 2 and manifest["seeds"]["training"][0] == 1234
    assert len(results["emulator"]["nrmse"]) == 11  # leads 0..10
    assert results["emulator"]["nrmse"][0] == pytest.approx(0.0, abs=1e-6)
    assert all(r > 0 for r in results["persistence"]["nrmse"][1:])
    for figure in ("skill_vs_lead.png", "snapshots.png"):
        assert (out / manifest["results"]).with_name(figure).read_bytes()[:4] == b"\x89PNG"

    keys = [e["key"] for e in read_events(out / "events.log")]
    for key in ("seed", "global_batch_size", "run_start", "epoch_start", "eval_error", "run_stop"):
        assert key in keys
    stages = {s["name"]: s["attributes"] for s in read_spans(out)}
    assert stages["stage.simulate"]["nx"] == 32 and stages["stage.simulate"]["mpi_ranks"] == 2
    assert "stage.train" in stages and "stage.evaluate" in stages and "stage.track" in stages

    store = root / "climate" / "mlflow" / "server" / "mlflow.db"
    with sqlite3.connect(store) as db:
        tags = dict(db.execute(
            "select key, value from registered_model_tags where name='ai4s-climate-emulator'").fetchall())
        metrics = db.execute("select count(*) from metrics where key='train_loss'").fetchone()[0]
    assert tags["dataset_hash"] == manifest["dataset_hash"]
    assert tags["model_hash"] == manifest["model_hash"]
    assert tags["config_hash"] == manifest["config_hash"]
    assert metrics == 3  # one per epoch


@pytest.mark.timeout(900)
def test_same_recipe_twice_gives_identical_dataset_and_model_hashes(served_run, monkeypatch):
    root, first_out, first = served_run
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    second = _run(root / "second")  # embedded store this time; tracking does not touch the hashes
    assert second["dataset_hash"] == first["dataset_hash"]  # bitwise
    assert second["model_hash"] == first["model_hash"]  # bitwise
    assert (root / "mlflow" / "mlflow.db").exists()  # beside the second run folder


@pytest.mark.timeout(300)
def test_rerun_in_the_same_folder_skips_completed_stages(served_run):
    root, out, first = served_run
    result = runner.invoke(app, ["run", "climate", "--recipe", "ci_tiny", "--out", str(out),
                                 "--set", "tracking=server"])
    assert result.exit_code == 0, result.output
    # simulate, then train and evaluate for each of the two seeds; track is keyed by the whole recipe
    assert result.output.count("already complete, skipped") >= 5
    assert json.loads((out / "manifest.json").read_text())["model_hash"] == first["model_hash"]


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("simulation.nx=-4", "simulation.nx=-4 is invalid: expected an integer >= 4"),
        ("simulation.ranks=3", "ranks"),
        ("simulation.viscosity=abc", "simulation.viscosity='abc' is invalid"),
        ("train.nope=1", "unknown field 'train.nope'"),
    ],
)
def test_bad_input_fails_before_any_work_with_one_line(tmp_path, override, message):
    result = runner.invoke(app, ["run", "climate", "--recipe", "ci_tiny", "--out", str(tmp_path / "r"),
                                 "--set", override])
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "r").exists()


def test_unknown_recipe_and_workload_are_named():
    result = runner.invoke(app, ["validate", "climate", "--recipe", "huge"])
    assert result.exit_code == 2 and "recipe='huge' is invalid: expected one of ci_tiny, h100x1, laptop" in result.output
    result = runner.invoke(app, ["run", "weather"])
    assert result.exit_code != 0 and "workload='weather' is invalid" in result.output


@pytest.mark.timeout(600)
def test_case_study_is_published_with_summary_figures_and_an_ro_crate(served_run, tmp_path):
    from rocrate.rocrate import ROCrate

    root, out, manifest = served_run
    result = runner.invoke(app, ["casestudies", "--only", "climate", "--recipe", "ci_tiny",
                                 "--runs", str(root), "--dest", str(tmp_path)])
    assert result.exit_code == 0, result.output
    published = tmp_path / "climate" / "results"
    summary = json.loads((published / "summary.json").read_text())
    assert summary["hashes"]["model_hash"] == manifest["model_hash"]
    assert summary["command"] == "ai4s casestudies --only climate --recipe ci_tiny"
    headline = summary["headline"]
    assert headline["horizon_steps"] == 10 and headline["epochs"] == 3
    assert headline["beats_persistence_at_every_lead"] == (headline["leads_not_beating_persistence"] == [])
    seed = headline["seeds"][0]
    assert headline["seeds"] == manifest["seeds"]["training"] and headline["n_seeds"] == 2
    for name in ("manifest.json", "events.log", f"seed-{seed}-results.json", "skill_vs_lead.png", "snapshots.png"):
        assert (published / name).exists(), name
    crate = ROCrate(published)
    run = crate.get("#run")
    assert run.type == "CreateAction"
    assert {"summary.json", f"seed-{seed}-results.json", "skill_vs_lead.png"} <= {entity.id for entity in run["result"]}
    assert crate.get("workflow.json")["version"] == manifest["code_version"]
