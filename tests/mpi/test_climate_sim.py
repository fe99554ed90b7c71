"""The simulation under real mpiexec: 1, 2 and 4 ranks write bitwise identical data.

Every assertion on results here is bitwise (content hash and array equality), except the
mass bound, which is stated.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from reference_workloads.climate.simulation import (
    SimulationConfig,
    api,
    dataset_content_hash,
    simulate,
)
from reference_workloads.climate.simulation.dataset import build_dataset, open_dataset
from reference_workloads.climate.simulation.decomposition import factor_ranks
from reference_workloads.climate.simulation.ensemble import serial_ensemble
from reference_workloads.core.launch import LaunchError, mpiexec
from reference_workloads.core.recipes import RecipeError

pytestmark = pytest.mark.timeout(300)

# Forced, damped and spun up: the forcing varies along y, so a y split (2 ranks) or a 2x2
# split (4) gives the same bits only if each block gets its slice of the global forcing.
CONFIG = SimulationConfig(nx=16, ny=16, dt=300.0, n_steps=60, save_every=10, n_trajectories=4,
                          seed=5, ranks=2, forcing_amplitude=3e-4, forcing_wavenumber=2,
                          drag=3e-6, spinup_steps=20)
TIMEOUT = 120


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[int, tuple[str, Path]]:
    out = tmp_path_factory.mktemp("sim")
    return {n: (simulate(CONFIG, out / f"ranks{n}.zarr", nranks=n, code_version="test",
                         timeout=TIMEOUT), out / f"ranks{n}.zarr") for n in (1, 2, 4)}


def test_one_two_and_four_ranks_give_the_same_bits(runs: dict[int, tuple[str, Path]]) -> None:
    assert factor_ranks(16, 16, 2) == (1, 2) and factor_ranks(16, 16, 4) == (2, 2)
    hashes = {n: digest for n, (digest, _) in runs.items()}
    assert len(set(hashes.values())) == 1, hashes
    with open_dataset(runs[1][1]) as one, open_dataset(runs[4][1]) as four:
        for name in ("h", "u", "v", "total_mass", "total_energy"):
            assert np.array_equal(one[name].values, four[name].values), name
        assert "4 MPI rank(s)" in four.attrs["history"]


def test_mpi_result_equals_the_in_process_serial_run(runs: dict[int, tuple[str, Path]]) -> None:
    serial = build_dataset(CONFIG, serial_ensemble(CONFIG), code_version="test", nranks=1)
    assert dataset_content_hash(serial) == runs[2][0]


def test_a_rerun_gives_the_same_hash(runs: dict[int, tuple[str, Path]], tmp_path: Path) -> None:
    assert simulate(CONFIG, tmp_path / "again.zarr", nranks=2, code_version="test",
                    timeout=TIMEOUT) == runs[2][0]


def test_mass_is_conserved_in_the_mpi_dataset(runs: dict[int, tuple[str, Path]]) -> None:
    """Relative change of total volume below 1e-14 at every saved step."""
    with open_dataset(runs[2][1]) as data:
        mass = data["total_mass"].values
        assert np.abs(mass / mass[:, :1] - 1).max() < 1e-14
        assert data["h"].std(dim="time").max() > 0.1  # and the fields did evolve


def test_a_split_along_x_matches_the_serial_run(tmp_path: Path) -> None:
    config = dataclasses.replace(CONFIG, nx=16, ny=12, initial_condition="jet")
    assert factor_ranks(16, 12, 2) == (2, 1)
    serial = build_dataset(config, serial_ensemble(config), code_version="test", nranks=1)
    assert simulate(config, tmp_path / "x.zarr", nranks=2, code_version="test",
                    timeout=TIMEOUT) == dataset_content_hash(serial)


def test_progress_reaches_the_total(tmp_path: Path) -> None:
    config = dataclasses.replace(CONFIG, n_steps=20, n_trajectories=2)
    seen: list[tuple[int, int]] = []
    simulate(config, tmp_path / "p.zarr", nranks=2, timeout=TIMEOUT,
             on_progress=lambda done, total: seen.append((done, total)))
    total = config.n_trajectories * config.n_saves
    assert seen[-1] == (total, total)
    assert [done for done, _ in seen] == sorted(done for done, _ in seen)


def test_ranks_that_do_not_divide_the_grid_fail_before_launch(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def must_not_launch(*args: object, **kwargs: object) -> str:
        raise AssertionError("mpiexec was launched")

    monkeypatch.setattr(api, "mpiexec", must_not_launch)
    with pytest.raises(RecipeError) as caught:
        simulate(CONFIG, tmp_path / "never.zarr", nranks=3)
    assert str(caught.value).startswith("ranks=3 is invalid: expected a count that splits")
    assert not (tmp_path / "never.zarr").exists()


@pytest.mark.parametrize(
    ("nranks", "config", "message"),
    [
        (2, {"nx": -4}, "error: nx=-4 is invalid: expected an integer >= 4"),
        (3, {"nx": 16, "ny": 16}, "error: ranks=3 is invalid: expected a count that splits"),
    ],
)
def test_the_entrypoint_rejects_bad_input_with_one_line(tmp_path: Path, nranks: int,
                                                        config: dict, message: str) -> None:
    config_path = tmp_path / "config.json"
    config_path.write_text(json.dumps(config))
    with pytest.raises(LaunchError) as caught:
        mpiexec(nranks, api.ENTRYPOINT,
                ["--config", str(config_path), "--out", str(tmp_path / "bad.zarr")],
                timeout=TIMEOUT)
    lines = [line for line in str(caught.value).splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and lines[0].startswith(message)
    assert not (tmp_path / "bad.zarr").exists()
