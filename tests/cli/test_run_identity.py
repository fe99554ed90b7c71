"""A run folder reused with other settings recomputes what changed and keeps the rest.

The reproduction of issue 8: changing the simulation seed and the learning rate in an old
run folder re-simulated but trained zero epochs (checkpoints lived in a plain folder). Bitwise
on CPU: the reused folder's model equals a fresh folder's model for the same settings.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from reference_workloads.cli import app, default_run_dir

runner = CliRunner()
ONE_SEED = ["--set", "repeats.seeds=1"]
CHANGED = ["--set", "simulation.seed=8", "--set", "train.learning_rate=0.001"]


def _run(out: Path, *overrides: str) -> dict:
    result = runner.invoke(app, ["run", "climate", "--recipe", "ci_tiny", "--out", str(out), *overrides])
    assert result.exit_code == 0, result.output
    return json.loads((out / "manifest.json").read_text())


def _stage_seconds(out: Path) -> dict[str, float]:
    return {p.stem: json.loads(p.read_text())["seconds"] for p in (out / ".stages").glob("*.json")}


@pytest.mark.timeout(900)
def test_new_seed_and_learning_rate_in_an_old_folder_train_from_scratch(tmp_path: Path) -> None:
    reused = tmp_path / "reused"
    first = _run(reused, *ONE_SEED)
    changed = _run(reused, *ONE_SEED, *CHANGED)
    fresh = _run(tmp_path / "fresh", *ONE_SEED, *CHANGED)
    assert changed["dataset_hash"] != first["dataset_hash"]
    assert changed["model_hash"] != first["model_hash"]
    assert changed["model_hash"] == fresh["model_hash"]
    seed = changed["seeds"]["training"][0]
    training = json.loads((reused / "repeats" / f"seed-{seed}" / "training" / "training.json").read_text())
    assert len(training["history"]) == 3  # every epoch trained, none "resumed" from the old job


@pytest.mark.timeout(900)
def test_a_rerun_skips_every_stage_and_a_changed_eval_field_reruns_only_evaluate_and_track(tmp_path: Path) -> None:
    out = tmp_path / "run"
    _run(out, *ONE_SEED)
    before = _stage_seconds(out)
    _run(out, *ONE_SEED)
    assert _stage_seconds(out) == before  # nothing reran: the markers are untouched
    _run(out, *ONE_SEED, "--set", "eval.starts_per_trajectory=1")
    after = _stage_seconds(out)
    rerun = {name for name in after if after[name] != before.get(name)}
    assert {n.split("@")[0] for n in rerun} == {"evaluate", "track"}


def test_default_run_folder_names_the_overrides() -> None:
    plain = default_run_dir("climate", "ci_tiny", [])
    assert plain == Path("runs/climate/ci_tiny")
    one = default_run_dir("climate", "ci_tiny", ["train.learning_rate=0.001"])
    other = default_run_dir("climate", "ci_tiny", ["train.learning_rate=0.002"])
    assert one != plain and one != other and one.parent == plain.parent
