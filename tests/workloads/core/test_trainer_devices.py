"""Every parameter, buffer and batch of each trainer lives on the configured device.

Run here on the ``meta`` device: a dry run that computes nothing, yet any tensor left on the
CPU fails the same way it would on a GPU ("Tensor on device cpu is not on the expected
device"). The trainers are run in-process through their real ``train`` functions with the
process-group setup replaced by one that hands out the meta device; ``DeviceProbe`` checks
each module call and stops the run at its first validation forward pass.
"""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pandas as pd
import pytest
import torch
import xarray as xr

from reference_workloads.climate.emulator import train as climate_train
from reference_workloads.climate.recipes import book as climate_book
from reference_workloads.core import ddp
from reference_workloads.core.device_probe import DeviceProbe
from reference_workloads.core.recipes import recipe_dict
from reference_workloads.drug_discovery import train as drug_train
from reference_workloads.drug_discovery.recipes import book as drug_book

META = torch.device("meta")
SMILES = ["CCO", "CCCO", "c1ccccc1", "c1ccccc1O", "CCN", "CC(=O)O", "c1ccncc1", "OCCO", "NCCN", "CCOCC",
          "CC(C)O", "C1CCCCC1", "C1CCNCC1", "CCCl", "CCBr", "CCCCN"]


@pytest.fixture
def on_meta(monkeypatch):
    """The trainers' process group hands out the meta device; torch's global settings are restored."""
    threads, deterministic = torch.get_num_threads(), torch.are_deterministic_algorithms_enabled()
    context = ddp.DistContext(rank=0, world_size=1, local_rank=0, device=META)
    monkeypatch.setattr(ddp, "init_distributed", lambda *args, **kwargs: context)
    yield
    torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(deterministic)


def _ensemble(path, members: int, times: int, ny: int, nx: int) -> None:
    """A synthetic dataset in the simulator's layout: only shapes matter to the device check."""
    rng = np.random.default_rng(0)
    dims = ("trajectory", "time", "y", "x")
    shape = (members, times, ny, nx)
    fields = {name: (dims, rng.standard_normal(shape, dtype=np.float32)) for name in ("h", "u", "v")}
    # the stored statistics the trainer normalises with (any positive sums will do here)
    sums = {f"{name}_{kind}": (("trajectory", "time"), np.ones((members, times)))
            for name in ("h", "u", "v") for kind in ("sum", "sum_sq", "increment_sum_sq")}
    xr.Dataset({**fields, **sums}).to_netcdf(path)


def _probe_climate(tmp_path, recipe) -> DeviceProbe:
    sim, cfg = recipe.simulation, recipe.train
    data = tmp_path / "ensemble.nc"
    _ensemble(data, cfg.train_trajectories + cfg.val_trajectories, cfg.unroll + 4, sim.ny, sim.nx)
    with DeviceProbe(META) as probe:
        climate_train.train(recipe_dict(recipe), data, tmp_path / "out", tmp_path / "events.log")
    return probe


def _probe_drug(tmp_path, recipe) -> DeviceProbe:
    parts = ["val" if i % 4 == 0 else "test" if i % 4 == 1 else "train" for i in range(len(SMILES))]
    task = tmp_path / "task.parquet"
    pd.DataFrame({"smiles": SMILES, "target": [float(len(s)) for s in SMILES], "part": parts}).to_parquet(task)
    with DeviceProbe(META) as probe:
        drug_train.train(json.loads(json.dumps(dataclasses.asdict(recipe))), task, tmp_path / "out",
                         tmp_path / "events.log", "physics")
    return probe


def _assert_all_on_meta(probe: DeviceProbe) -> None:
    assert probe.training_calls > 0 and probe.validation_calls > 0, "the probe saw no training or no validation"
    assert probe.misplaced == [], "\n".join(probe.misplaced[:10])


CLIMATE = {
    "ci_tiny": ["train.epochs=1", "train.global_batch_size=4", "train.nproc=1"],
    # h100x1's model and training settings on a few synthetic members of its 256 x 256 grid
    "h100x1": ["train.train_trajectories=8", "train.val_trajectories=1", "train.compile=false"],
}


@pytest.mark.parametrize("name", sorted(CLIMATE))
def test_climate_trainer_keeps_model_batches_and_validation_on_the_device(on_meta, tmp_path, name):
    recipe = climate_book.get(name, CLIMATE[name])
    _assert_all_on_meta(_probe_climate(tmp_path, recipe))


@pytest.mark.parametrize("name", ["ci_tiny", "h100x1"])
def test_drug_trainer_keeps_model_batches_and_validation_on_the_device(on_meta, tmp_path, name):
    recipe = drug_book.get(name, ["train.epochs=1", "train.batch_size=4", "train.num_workers=0"])
    _assert_all_on_meta(_probe_drug(tmp_path, recipe))


def test_the_probe_names_a_parameter_left_on_the_cpu():
    """The broken input: a CPU layer fed a meta batch is named, not silently accepted."""
    layer = torch.nn.Linear(3, 2)
    with DeviceProbe(META) as probe, pytest.raises(RuntimeError):
        layer(torch.zeros(1, 3, device=META))
    assert any("parameter weight on cpu" in line for line in probe.misplaced)
