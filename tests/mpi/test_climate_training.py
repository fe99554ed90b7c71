"""Real torchrun (2 processes, gloo): bitwise-repeatable training and kill-and-resume."""

import json
import os

import pytest

from reference_workloads.climate.emulator.train import KILL_AFTER_EPOCH
from reference_workloads.climate.recipes import book
from reference_workloads.climate.simulation.dataset import build_dataset, write_dataset
from reference_workloads.climate.simulation.ensemble import serial_ensemble
from reference_workloads.core import launch
from reference_workloads.core.atomic import write_json
from reference_workloads.core.recipes import recipe_dict

MODULE = "reference_workloads.climate.emulator.train"


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    # 11 saves (the recipe's horizon of 10 must fit); no spin-up: training needs data, not a climate
    recipe = book.get("ci_tiny", ["simulation.save_every=10", "simulation.n_steps=100",
                                  "simulation.spinup_steps=0", "train.epochs=3",
                                  "train.global_batch_size=8"])
    folder = tmp_path_factory.mktemp("training")
    data = folder / "ensemble.nc"
    dataset = build_dataset(recipe.simulation, serial_ensemble(recipe.simulation), code_version="test", nranks=1)
    write_dataset(dataset, data)
    config = folder / "config.json"
    write_json(config, recipe_dict(recipe))
    return folder, data, config


def _train(folder, data, config, out, env=None):
    return launch.torchrun(2, MODULE, ["--config", str(config), "--data", str(data), "--out", str(out),
                                       "--eventlog", str(out / "events.log")], timeout=300, env=env)


def _summary(out):
    return json.loads((out / "training.json").read_text())


@pytest.mark.timeout(900)
def test_training_repeats_bitwise_and_a_killed_run_resumes_to_the_same_weights(tiny):
    folder, data, config = tiny
    _train(folder, data, config, folder / "first")
    _train(folder, data, config, folder / "second")
    first = _summary(folder / "first")
    assert first["world_size"] == 2
    assert first["model_hash"] == _summary(folder / "second")["model_hash"]  # bitwise

    killed = folder / "killed"
    with pytest.raises(launch.LaunchError):
        _train(folder, data, config, killed, env={KILL_AFTER_EPOCH: "0"})
    assert not (killed / "model.pt").exists()
    assert sorted(p.name for p in (killed / "checkpoints").iterdir()) == ["epoch-00000.pt"]
    _train(folder, data, config, killed)
    resumed = _summary(killed)
    assert resumed["model_hash"] == first["model_hash"]  # bitwise, not statistical
    assert [h["train_loss"] for h in resumed["history"]] == [h["train_loss"] for h in first["history"]]
    events = (killed / "events.log").read_text()
    assert '"key": "resume", "value": 1' in events
    assert os.environ.get(KILL_AFTER_EPOCH) is None
