"""The CF-1.8 dataset: layout, metadata, stable content hash, and atomic writes."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from reference_workloads.climate.simulation.config import SimulationConfig
from reference_workloads.climate.simulation.dataset import (
    VOLATILE_ATTRS,
    build_dataset,
    dataset_content_hash,
    write_dataset,
)
from reference_workloads.climate.simulation.ensemble import serial_ensemble
from reference_workloads.climate.simulation.initial import initial_fields

CONFIG = SimulationConfig(nx=16, ny=12, n_trajectories=3, n_steps=20, save_every=5)


@pytest.fixture(scope="module")
def dataset() -> xr.Dataset:
    return build_dataset(CONFIG, serial_ensemble(CONFIG), code_version="abc123", nranks=1)


def test_layout_dims_and_dtypes(dataset: xr.Dataset) -> None:
    for name in ("h", "u", "v"):
        assert dataset[name].dims == ("trajectory", "time", "y", "x")
        assert dataset[name].dtype == np.float32
        assert dataset[name].shape == (3, CONFIG.n_saves, 12, 16)
    assert dataset["total_mass"].dims == ("trajectory", "time")
    assert dataset["total_mass"].dtype == np.float64
    assert np.allclose(np.diff(dataset["time"].values), CONFIG.save_every * CONFIG.dt)
    assert np.allclose(np.diff(dataset["x"].values), CONFIG.dx)
    assert dataset["x"].values[0] == pytest.approx(CONFIG.dx / 2)


def test_cf_metadata(dataset: xr.Dataset) -> None:
    attrs = dataset.attrs
    assert attrs["Conventions"] == "CF-1.8"
    for key in ("title", "institution", "source", "history", "references"):
        assert attrs[key]
    assert attrs["code_version"] == "abc123"
    assert attrs["seed"] == CONFIG.seed
    assert "default_rng((seed, k))" in attrs["seeds"]
    rebuilt = SimulationConfig.from_dict({**json.loads(attrs["parameters"]), "ranks": 1})
    assert rebuilt == dataclasses.replace(CONFIG, ranks=1)
    for name in ("h", "u", "v"):
        assert {"standard_name", "units", "long_name"} <= set(dataset[name].attrs)
    for name, axis, units in (("x", "X", "m"), ("y", "Y", "m"),
                              ("time", "T", "seconds since 2000-01-01 00:00:00")):
        assert dataset[name].attrs["axis"] == axis
        assert dataset[name].attrs["units"] == units
    # CF 4.4.1: a time axis names its calendar, or readers must guess one.
    assert dataset["time"].attrs["calendar"] == "proleptic_gregorian"
    assert dataset["trajectory"].attrs["standard_name"] == "realization"


def test_velocities_are_face_averages_on_cell_centres(dataset: xr.Dataset) -> None:
    """u at centre i is the mean of faces i-1/2 and i+1/2 of the model's C grid."""
    _, u_face, v_face = initial_fields(CONFIG, [0])
    expected_u = 0.5 * (u_face[0] + np.roll(u_face[0], 1, axis=-1))
    expected_v = 0.5 * (v_face[0] + np.roll(v_face[0], 1, axis=-2))
    assert np.array_equal(dataset["u"].values[0, 0], expected_u.astype(np.float32))
    assert np.array_equal(dataset["v"].values[0, 0], expected_v.astype(np.float32))


def test_file_round_trip_keeps_the_hash_and_decodes_for_readers(dataset: xr.Dataset,
                                                                 tmp_path: Path) -> None:
    path = write_dataset(dataset, tmp_path / "ensemble.nc")
    assert dataset_content_hash(path) == dataset_content_hash(dataset)
    with xr.open_dataset(path) as reread:
        assert np.array_equal(reread["h"].values, dataset["h"].values)
        assert reread.attrs["Conventions"] == "CF-1.8"
        assert np.issubdtype(reread["time"].dtype, np.datetime64)  # CF time decodes
    assert not list(tmp_path.glob(".*"))  # no temporary left behind
    assert path.stat().st_mode & 0o777 == 0o644  # readable by the training stage's user


def test_hash_ignores_volatile_attrs_but_not_content(dataset: xr.Dataset) -> None:
    reference = dataset_content_hash(dataset)
    later = dataset.copy()
    later.attrs.update({key: "another time, another rank count" for key in VOLATILE_ATTRS})
    assert dataset_content_hash(later) == reference

    changed_value = dataset.copy(deep=True)
    changed_value["u"].values[1, 2, 3, 4] = np.nextafter(changed_value["u"].values[1, 2, 3, 4],
                                                          np.float32(np.inf))
    assert dataset_content_hash(changed_value) != reference

    for key, value in (("seed", 1), ("Conventions", "CF-1.6")):
        changed_attr = dataset.copy()
        changed_attr.attrs[key] = value
        assert dataset_content_hash(changed_attr) != reference

    changed_units = dataset.copy(deep=True)
    changed_units["h"].attrs["units"] = "cm"
    assert dataset_content_hash(changed_units) != reference


def test_a_crash_mid_write_leaves_no_file_at_the_target(dataset: xr.Dataset, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "ensemble.nc"
    real_to_netcdf = xr.Dataset.to_netcdf

    def crash_after_half(self: xr.Dataset, path: Path, **kwargs: object) -> None:
        real_to_netcdf(self, path, **kwargs)
        data = Path(path).read_bytes()
        Path(path).write_bytes(data[: len(data) // 2])  # a torn file, as a kill would leave
        raise OSError("disk vanished")

    monkeypatch.setattr(xr.Dataset, "to_netcdf", crash_after_half)
    with pytest.raises(OSError, match="disk vanished"):
        write_dataset(dataset, target)
    assert not target.exists()
    assert list(tmp_path.iterdir()) == []


def test_a_crash_keeps_the_previous_file_intact(dataset: xr.Dataset, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    target = write_dataset(dataset, tmp_path / "ensemble.nc")
    before = target.read_bytes()

    def crash(self: xr.Dataset, path: Path, **kwargs: object) -> None:
        Path(path).write_bytes(b"CDF\x01 partial")
        raise KeyboardInterrupt

    monkeypatch.setattr(xr.Dataset, "to_netcdf", crash)
    with pytest.raises(KeyboardInterrupt):
        write_dataset(dataset, target)
    assert target.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["ensemble.nc"]


def test_diagnostics_show_mass_conserved_in_the_dataset(dataset: xr.Dataset) -> None:
    mass = dataset["total_mass"].values
    assert np.abs(mass / mass[:, :1] - 1).max() < 1e-14
    expected = dataset["h"].values[:, 0].astype(np.float64).sum(axis=(-2, -1)) * CONFIG.dx * CONFIG.dy
    assert np.allclose(mass[:, 0], expected, rtol=1e-6)  # float32 storage of h
