"""The ensemble as a CF-1.8 dataset (the variables, coordinates and attributes shared by the
MPI run's Zarr store and the in-memory NetCDF path) and its content hash.

Layout: dims (trajectory, time, y, x); h, u, v float32 on cell centres (the model state is
float64 on a C grid; u and v are averaged from their faces); total_mass, total_energy and
the normalisation statistics float64 per (trajectory, time); per-trajectory time sums of
h, u, v for the climatology.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import xarray as xr

from reference_workloads.climate.simulation.config import SimulationConfig
from reference_workloads.climate.simulation.physics import VARIABLES
from reference_workloads.core.atomic import atomic_path
from reference_workloads.core.hashing import sha256_bytes

if TYPE_CHECKING:  # the time loop (and its compiled kernel) is not needed to read a dataset
    from reference_workloads.climate.simulation.ensemble import Ensemble

# Provenance that says how or when the data was made, not what it is: recorded in the file
# and in the run manifest, left out of the content hash so a documentation-only commit or a
# rerun tomorrow does not change the dataset's identity.
VOLATILE_ATTRS = frozenset({"history", "date_created", "code_version"})
# Added by the NetCDF writer, not by us: ignored so a file and its in-memory dataset agree.
_WRITER_ATTRS = frozenset({"_FillValue", "coordinates", "_NCProperties", "_ARRAY_DIMENSIONS"})

TIME_UNITS = "seconds since 2000-01-01 00:00:00"

_FIELD_ATTRS = {
    "h": {"standard_name": "sea_floor_depth_below_sea_surface", "units": "m",
          "long_name": "fluid depth of the shallow-water layer"},
    "u": {"standard_name": "sea_water_x_velocity", "units": "m s-1",
          "long_name": "x velocity, averaged from C-grid faces to cell centres"},
    "v": {"standard_name": "sea_water_y_velocity", "units": "m s-1",
          "long_name": "y velocity, averaged from C-grid faces to cell centres"},
}


def coordinates(config: SimulationConfig) -> dict[str, tuple[str, np.ndarray, dict[str, Any]]]:
    """CF coordinate variables: (dim, values, attrs) by name."""
    x = (np.arange(config.nx) + 0.5) * config.dx
    y = (np.arange(config.ny) + 0.5) * config.dy
    time = np.arange(config.n_saves, dtype=np.float64) * (config.save_every * config.dt)
    return {
        "trajectory": ("trajectory", np.arange(config.n_trajectories, dtype=np.int32),
                       {"standard_name": "realization", "long_name": "ensemble member",
                        "comment": "member k is seeded with numpy.random.default_rng((seed, k))"}),
        "time": ("time", time, {"standard_name": "time", "units": TIME_UNITS,
                                "calendar": "proleptic_gregorian", "axis": "T",
                                "long_name": "model time since the end of the spin-up"}),
        "y": ("y", y, {"standard_name": "projection_y_coordinate", "units": "m", "axis": "Y",
                       "long_name": "y of cell centre (periodic)"}),
        "x": ("x", x, {"standard_name": "projection_x_coordinate", "units": "m", "axis": "X",
                       "long_name": "x of cell centre (periodic)"}),
    }


def data_variables() -> dict[str, tuple[tuple[str, ...], type, dict[str, Any]]]:
    """Every data variable: (dims, dtype, attrs) by name."""
    grid = ("trajectory", "time", "y", "x")
    series = ("trajectory", "time")
    specs: dict[str, tuple[tuple[str, ...], type, dict[str, Any]]] = {
        name: (grid, np.float32, dict(attrs)) for name, attrs in _FIELD_ATTRS.items()
    }
    specs["total_mass"] = (series, np.float64, {
        "units": "m3", "long_name": "domain-integrated fluid volume (from the float64 state)",
        "comment": "correctly rounded sum over cells"})
    specs["total_energy"] = (series, np.float64, {
        "units": "m5 s-2",
        "long_name": "domain-integrated kinetic plus available potential energy per density",
        "comment": "correctly rounded sum over cells"})
    for name in VARIABLES:
        units = _FIELD_ATTRS[name]["units"]
        for kind, long_name, unit in (
                ("sum", f"sum over cells of the stored {name}", units),
                ("sum_sq", f"sum over cells of the stored {name} squared", f"({units})2"),
                ("increment_sum_sq", f"sum over cells of the squared change of the stored "
                                     f"{name} since the previous time (0 at the first)",
                 f"({units})2")):
            specs[f"{name}_{kind}"] = (series, np.float64, {
                "units": unit, "long_name": long_name,
                "comment": "normalisation statistic; correctly rounded sum over cells"})
        specs[f"{name}_time_sum"] = (("trajectory", "y", "x"), np.float64, {
            "units": units, "long_name": f"sum over saved times of the stored {name}",
            "comment": "climatology numerator: divide by the number of times"})
    return specs


def global_attributes(config: SimulationConfig, *, code_version: str,
                      nranks: int) -> dict[str, Any]:
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "Conventions": "CF-1.8",
        "title": "Rotating shallow-water ensemble (ai4s-kit climate workload)",
        "institution": "ai4s-kit",
        "source": ("ai4s-kit reference_workloads.climate.simulation: rotating shallow water, "
                   "Arakawa C grid, energy-conserving vector-invariant form, SSP-RK3"),
        "references": "Sadourny (1975) J. Atmos. Sci. 32, 680; Shu & Osher (1988) J. Comput. "
                      "Phys. 77, 439",
        "comment": ("doubly periodic f-plane; model state float64, fields stored float32 "
                    "on cell centres"),
        "forcing": (f"steady Kolmogorov momentum forcing F sin(2 pi n y / ly) on u with "
                    f"F = {config.forcing_amplitude:g} m s-2, n = {config.forcing_wavenumber}; "
                    f"linear drag {config.drag:g} s-1 on u and v; Laplacian viscosity "
                    f"{config.viscosity:g} m2 s-1"),
        "spinup": (f"{config.spinup_steps} steps ({config.spinup_steps * config.dt:g} s) from "
                   "the seeded initial condition before time 0"),
        "code_version": code_version,
        "seed": config.seed,
        "seeds": "trajectory k uses numpy.random.default_rng((seed, k))",
        "initial_condition": config.initial_condition,
        "parameters": json.dumps(config.physical_parameters(), sort_keys=True),
        "date_created": now,
        "history": (f"{now} simulated on {nranks} MPI rank(s) by "
                    "reference_workloads.climate.simulation.run"),
    }


def build_dataset(config: SimulationConfig, ensemble: Ensemble, *, code_version: str,
                  nranks: int) -> xr.Dataset:
    """Wrap an in-memory ensemble with CF coordinates, units and provenance attributes."""
    values = {"h": ensemble.h, "u": ensemble.u, "v": ensemble.v, **ensemble.series}
    for channel, name in enumerate(VARIABLES):
        values[f"{name}_time_sum"] = ensemble.time_sum[channel]
    data_vars = {name: (dims, values[name].astype(dtype, copy=False), attrs)
                 for name, (dims, dtype, attrs) in data_variables().items()}
    return xr.Dataset(data_vars=data_vars, coords=coordinates(config),
                      attrs=global_attributes(config, code_version=code_version, nranks=nranks))


def write_dataset(dataset: xr.Dataset, path: str | os.PathLike[str]) -> Path:
    """Write NetCDF-4 through a temporary file renamed into place: never a partial file."""
    target = Path(path)
    encoding = {name: {"_FillValue": None} for name in dataset.variables}
    with atomic_path(target) as tmp:
        dataset.to_netcdf(tmp, engine="netcdf4", format="NETCDF4", encoding=encoding)
        # The temporary file is created owner-only; a dataset is meant to be shared.
        os.chmod(tmp, 0o644)
    return target


def dataset_content_hash(source: str | os.PathLike[str] | xr.Dataset) -> str:
    """sha256 over every variable's name, dtype, shape, bytes and attributes plus the
    global attributes except VOLATILE_ATTRS; equal content gives equal hashes whether
    read from a file or taken from memory."""
    if isinstance(source, xr.Dataset):
        return _content_hash(source)
    with open_dataset(source, decode_cf=False) as dataset:
        return _content_hash(dataset)


def open_dataset(path: str | os.PathLike[str], **kwargs: Any) -> xr.Dataset:
    """A Zarr store (a directory, what the simulation writes) or a NetCDF file, lazily."""
    if Path(path).is_dir():
        return xr.open_dataset(path, engine="zarr", consolidated=False, **kwargs)
    return xr.open_dataset(path, engine="netcdf4", **kwargs)


def _content_hash(dataset: xr.Dataset) -> str:
    metadata = {
        "variables": {
            str(name): {"dims": list(variable.dims),
                        "attrs": {k: v for k, v in variable.attrs.items() if k not in _WRITER_ATTRS}}
            for name, variable in dataset.variables.items()
        },
        "attrs": {k: v for k, v in dataset.attrs.items()
                  if k not in VOLATILE_ATTRS and k not in _WRITER_ATTRS},
    }
    blob = {"arrays": _hash_logical_arrays(dataset), "metadata": _plain(metadata)}
    return sha256_bytes(json.dumps(blob, sort_keys=True, separators=(",", ":")).encode())


def _hash_logical_arrays(dataset: xr.Dataset) -> str:
    """sha256 of every variable's name, dtype, shape and C-order bytes (the digest of
    core.hashing.hash_arrays), fed one leading-axis slice at a time so a lazily opened store
    is read a trajectory at a time. Chunk files, their layout (which follows the rank
    count) and compression never enter."""
    digest = hashlib.sha256()
    for name in sorted(str(n) for n in dataset.variables):
        variable = dataset.variables[name]
        digest.update(f"{name}|{np.dtype(variable.dtype).str}|{tuple(variable.shape)}|".encode())
        if variable.ndim == 0:
            digest.update(np.ascontiguousarray(variable.values).tobytes())
            continue
        for index in range(variable.shape[0]):
            digest.update(np.ascontiguousarray(variable[index].values).tobytes())
    return digest.hexdigest()


def _plain(value: Any) -> Any:
    """NumPy scalars and arrays from a file become the Python values written from memory."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, np.ndarray):
        return [_plain(v) for v in value.tolist()]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value

