"""Surrogate training under real torchrun with 2 gloo processes.

Bitwise: two runs of the same config give the same model hash, and a run killed after an
epoch and resumed from its checkpoint ends with the same weights as an uninterrupted one.
"""

from __future__ import annotations

import dataclasses
import json

import pandas as pd
import pytest

from reference_workloads.core import launch
from reference_workloads.drug_discovery.recipes import book
from reference_workloads.drug_discovery.surrogate import Surrogate
from reference_workloads.drug_discovery.train import KILL_AFTER_EPOCH

MODULE = "reference_workloads.drug_discovery.train"
SMILES = ["CCO", "CCCO", "CCCCO", "CCCCCO", "c1ccccc1", "c1ccccc1O", "c1ccccc1N", "CCN", "CCCN",
          "CCCCN", "CC(=O)O", "CCC(=O)O", "c1ccncc1", "c1ccc2ccccc2c1", "OCCO", "NCCN", "CCOCC",
          "CC(C)O", "CC(C)(C)O", "C1CCCCC1", "C1CCNCC1", "C1CCOCC1", "CCCl", "CCBr"]


@pytest.fixture(scope="module")
def task(tmp_path_factory):
    folder = tmp_path_factory.mktemp("task")
    parts = ["test" if i % 6 == 0 else "val" if i % 6 == 1 else "train" for i in range(len(SMILES))]
    table = pd.DataFrame({"smiles": SMILES, "target": [float(len(s)) for s in SMILES], "part": parts})
    table.to_parquet(folder / "task.parquet", index=False)
    recipe = book.get("ci_tiny", ["train.epochs=3", "train.batch_size=8", "model.hidden=16", "model.layers=2"])
    (folder / "config.json").write_text(json.dumps(dataclasses.asdict(recipe)))
    return folder


def _train(task, out, env=None):
    launch.torchrun(2, MODULE, ["--config", str(task / "config.json"), "--task", str(task / "task.parquet"),
                                "--out", str(out), "--eventlog", str(out / "events.log"), "--name", "physics"],
                    timeout=300, env=env)
    return json.loads((out / "training.json").read_text())


@pytest.fixture(scope="module")
def reference(task, tmp_path_factory):
    out = tmp_path_factory.mktemp("reference")
    return out, _train(task, out)


def test_two_runs_same_hash_and_outputs(task, reference, tmp_path):
    folder, first = reference
    second = _train(task, tmp_path / "b")
    assert first["world_size"] == 2 and len(first["history"]) == 3
    assert first["model_hash"] == second["model_hash"]
    assert Surrogate(folder / "surrogate").model_hash == first["model_hash"]
    predictions = pd.read_parquet(folder / "predictions.parquet")
    assert sorted(predictions["smiles"]) == sorted(SMILES)
    events = (folder / "events.log").read_text()
    assert events.count('"key": "epoch_start"') == 3 and '"key": "global_batch_size"' in events


def test_killed_run_resumes_to_the_same_weights(task, reference, tmp_path):
    _, full = reference
    out = tmp_path / "killed"
    with pytest.raises(launch.LaunchError):
        _train(task, out, env={KILL_AFTER_EPOCH: "1"})
    assert (out / "checkpoints").exists() and not (out / "training.json").exists()
    resumed = _train(task, out)
    assert resumed["model_hash"] == full["model_hash"]
    assert [h["val_loss"] for h in resumed["history"]] == [h["val_loss"] for h in full["history"]]
    assert '"key": "resume"' in (out / "events.log").read_text()


def test_changed_data_never_resumes_old_checkpoints(task, reference, tmp_path):
    folder, full = reference
    changed = tmp_path / "changed"
    changed.mkdir()
    table = pd.read_parquet(task / "task.parquet")
    table.assign(target=table["target"].to_numpy()[::-1]).to_parquet(changed / "task.parquet", index=False)
    (changed / "config.json").write_text((task / "config.json").read_text())
    retrained = _train(changed, folder)  # same output folder, old checkpoints still there
    assert len(retrained["history"]) == 3 and retrained["model_hash"] != full["model_hash"]
    assert '"key": "resume"' not in (folder / "events.log").read_text()
