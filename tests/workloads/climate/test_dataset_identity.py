import dataclasses

from reference_workloads.climate.simulation.config import SimulationConfig
from reference_workloads.climate.simulation.dataset import build_dataset, dataset_content_hash
from reference_workloads.climate.simulation.ensemble import serial_ensemble


def test_content_hash_ignores_provenance_but_not_data_or_parameters():
    config = SimulationConfig(nx=16, ny=16, n_steps=20, save_every=10, n_trajectories=2, seed=1)
    ensemble = serial_ensemble(config)
    first = build_dataset(config, ensemble, code_version="aaa", nranks=1)
    assert first.attrs["code_version"] == "aaa"
    assert dataset_content_hash(first) == dataset_content_hash(
        build_dataset(config, ensemble, code_version="bbb+dirty", nranks=2))
    other_seed = dataclasses.replace(config, seed=2)
    assert dataset_content_hash(first) != dataset_content_hash(
        build_dataset(other_seed, serial_ensemble(other_seed), code_version="aaa", nranks=1))
