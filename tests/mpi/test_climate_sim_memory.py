"""The memory estimates against tracemalloc on small runs: never below the measurement,
at most 1.5x it (NumPy reports its buffers to tracemalloc; numba's row buffers are a few
kilobytes and not counted)."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import pytest

from reference_workloads.climate.emulator import data
from reference_workloads.climate.simulation import memory
from reference_workloads.climate.simulation.config import SimulationConfig
from reference_workloads.climate.simulation.dataset import build_dataset, write_dataset
from reference_workloads.climate.simulation.decomposition import Decomposition
from reference_workloads.climate.simulation.ensemble import run_ensemble, serial_ensemble
from reference_workloads.climate.simulation.physics import fill_periodic_halo
from reference_workloads.climate.simulation.store import BlockWriter, prepare_store


class OneRank:
    """The three collectives BlockWriter uses, for a one-rank run in process."""

    def Get_rank(self) -> int:
        return 0

    def gather(self, value: object, root: int = 0) -> list[object]:
        return [value]

    def Barrier(self) -> None:
        pass


def _measured_simulation_peak(config: SimulationConfig, folder: Path) -> int:
    decomposition = Decomposition.for_ranks(config.nx, config.ny, 1)
    target = folder / "ensemble.zarr"
    prepare_store(target, config, decomposition, code_version="test")
    writer = BlockWriter(target, config, decomposition, OneRank())
    tracemalloc.start()
    try:
        run_ensemble(config, block=decomposition.block(0), fill_halo=fill_periodic_halo,
                     sink=writer)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize(("n", "trajectories"), [(32, 8)])
def test_the_simulate_estimate_bounds_a_measured_run(tmp_path: Path, n: int,
                                                     trajectories: int) -> None:
    # 18 steps, 9 saves: one float64 checkpoint (at save 8) happens inside the measurement.
    config = SimulationConfig(nx=n, ny=n, dt=300.0 * 32 / n, n_steps=18, save_every=2,
                              n_trajectories=trajectories)
    _measured_simulation_peak(config, tmp_path / "warm")  # imports and caches outside
    measured = _measured_simulation_peak(config, tmp_path / "run")
    estimate = memory.simulate_array_bytes(config, 1)
    assert measured <= estimate <= 1.5 * measured, (measured, estimate)


def test_the_training_data_estimate_bounds_a_measured_load(tmp_path: Path) -> None:
    config = SimulationConfig(nx=32, ny=32, n_steps=200, save_every=5, n_trajectories=3)
    path = write_dataset(build_dataset(config, serial_ensemble(config), code_version="test",
                                       nranks=1), tmp_path / "ensemble.nc")
    data.load_states(path, slice(0, 1))  # first-open caches outside the measurement
    tracemalloc.start()
    try:
        data.load_states(path, slice(0, 2))
        measured = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    estimate = memory.loaded_data_bytes(config, 2)
    assert measured <= estimate <= 1.5 * measured, (measured, estimate)
