"""Restart under real mpiexec: a run stopped after k saves, rerun, gives the bits of a run
that never stopped (bitwise, by content hash and array equality)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from reference_workloads.climate.simulation import SimulationConfig, api
from reference_workloads.climate.simulation.dataset import (
    build_dataset,
    dataset_content_hash,
    open_dataset,
)
from reference_workloads.climate.simulation.decomposition import Decomposition
from reference_workloads.climate.simulation.ensemble import TRAJECTORY_BATCH, serial_ensemble
from reference_workloads.climate.simulation.store import (
    CHECKPOINT_EVERY,
    MARKER,
    partial_path,
    prepare_store,
)
from reference_workloads.core.launch import mpiexec

pytestmark = pytest.mark.timeout(300)

# Two batches of trajectories, 21 saves each: stopping after 21 + 12 saves leaves the first
# batch complete and the second checkpointed at save 8, with saves 9-12 written but lost.
CONFIG = SimulationConfig(nx=16, ny=16, dt=300.0, n_steps=100, save_every=5,
                          n_trajectories=TRAJECTORY_BATCH + 2, seed=3, ranks=2,
                          forcing_amplitude=3e-4, forcing_wavenumber=2, drag=3e-6,
                          spinup_steps=15)  # a resumed batch must not spin up again
STOP_AFTER = CONFIG.n_saves + 12
TIMEOUT = 120


def _run(config_file: Path, out: Path, *extra: str,
         progress: list[tuple[int, int]] | None = None) -> str:
    return mpiexec(2, api.ENTRYPOINT, ["--config", str(config_file), "--out", str(out), *extra],
                   timeout=TIMEOUT, on_progress=None if progress is None else
                   lambda done, total: progress.append((done, total)))


def test_a_stopped_run_resumes_from_its_checkpoint_and_gives_the_same_bits(tmp_path: Path) -> None:
    assert CHECKPOINT_EVERY == 8
    config_file = tmp_path / "simulation.json"
    config_file.write_text(json.dumps(CONFIG.to_dict()))
    out = tmp_path / "ensemble.zarr"

    _run(config_file, out, "--stop-after", str(STOP_AFTER))
    assert not out.exists()
    marker = json.loads((partial_path(out) / MARKER).read_text())
    assert (marker["batch"], marker["save"]) == (TRAJECTORY_BATCH, 8)

    progress: list[tuple[int, int]] = []
    resumed_log = _run(config_file, out, progress=progress)
    assert "resuming from the last checkpoint" in resumed_log
    # The finished first batch is skipped and the second replays from save 9.
    total = CONFIG.n_trajectories * CONFIG.n_saves
    assert progress[0] == (TRAJECTORY_BATCH * CONFIG.n_saves + 2 * 10, total)
    assert out.exists() and not partial_path(out).exists()

    serial = build_dataset(CONFIG, serial_ensemble(CONFIG), code_version="test", nranks=1)
    assert dataset_content_hash(out) == dataset_content_hash(serial)
    with open_dataset(out) as resumed:
        for name in ("h", "u", "v", "total_mass", "h_increment_sum_sq", "v_time_sum"):
            assert np.array_equal(resumed[name].values, serial[name].values), name


def test_a_partial_store_of_other_parameters_or_ranks_is_started_afresh(tmp_path: Path) -> None:
    out = tmp_path / "ensemble.zarr"
    two = Decomposition.for_ranks(CONFIG.nx, CONFIG.ny, 2)
    assert prepare_store(out, CONFIG, two, code_version="test") is False
    marker = partial_path(out) / MARKER
    marker.write_text(json.dumps({**json.loads(marker.read_text()), "batch": 8, "save": 8}))
    assert prepare_store(out, CONFIG, two, code_version="test") is True
    other_seed = SimulationConfig(**{**CONFIG.to_dict(), "seed": 4})
    four = Decomposition.for_ranks(CONFIG.nx, CONFIG.ny, 4)
    for config, decomposition in ((other_seed, two), (CONFIG, four)):
        marker.write_text(json.dumps({**json.loads(marker.read_text()), "batch": 8, "save": 8}))
        assert prepare_store(out, config, decomposition, code_version="test") is False
        assert json.loads(marker.read_text())["save"] == -1
