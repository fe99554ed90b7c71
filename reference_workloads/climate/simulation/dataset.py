"""The ensemble as a CF-1.8 NetCDF dataset, written atomically, with a content hash.

File layout: dims (trajectory, time, y, x); h, u, v float32 on cell centres (the model
state is float64 on a C grid; u and v are averaged from their faces); total_mass and
total_energy float64 per (trajectory, time), computed from the float64 state.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from reference_workloads.climate.simulation.config import SimulationConfig
from reference_workloads.climate.simulation.ensemble import Ensemble
from reference_workloads.core.atomic import atomic_path
from reference_workloads.core.hashing import hash_arrays, sha256_bytes

# Provenance that says how or when the data was made, not what it is: recorded in the file
# and in the run manifest, left out of the content hash so a documentation-only commit or a
# rerun tomorrow does not change the dataset's identity.
VOLATILE_ATTRS = frozenset({"history", "date_created", "code_version"})
# Added by the NetCDF writer, not by us: ignored so a file and its in-memory dataset agree.
_WRITER_ATTRS = frozenset({"_FillValue", "coordinates", "_NCProperties"})

TIME_UNITS = "seconds since 2000-01-01 00:00:00"

_FIELD_ATTRS = {
    "h": {"standard_name": "sea_floor_depth_below_sea_surface", "units": "m",
          "long_name": "fluid depth of the shallow-water layer"},
    "u": {"standard_name": "sea_water_x_velocity", "units": "m s-1",
          "long_name": "x velocity, averaged from C-grid faces to cell centres"},
    "v": {"standard_name": "sea_water_y_velocity", "units": "m s-1",
          "long_name": "y velocity, averaged from C-grid faces to cell centres"},
}


def build_dataset(config: SimulationConfig, ensemble: Ensemble, *, code_version: str,
                  nranks: int) -> xr.Dataset:
    """Wrap the gathered ensemble with CF coordinates, units and provenance attributes."""
    x = (np.arange(config.nx) + 0.5) * config.dx
    y = (np.arange(config.ny) + 0.5) * config.dy
    time = np.arange(config.n_saves, dtype=np.float64) * (config.save_every * config.dt)
    dims = ("trajectory", "time", "y", "x")
    coords = {
        "trajectory": ("trajectory", np.arange(config.n_trajectories, dtype=np.int32),
                       {"standard_name": "realization", "long_name": "ensemble member",
                        "comment": "member k is seeded with numpy.random.default_rng((seed, k))"}),
        "time": ("time", time, {"standard_name": "time", "units": TIME_UNITS,
                                "calendar": "proleptic_gregorian", "axis": "T",
                                "long_name": "model time since the initial condition"}),
        "y": ("y", y, {"standard_name": "projection_y_coordinate", "units": "m", "axis": "Y",
                       "long_name": "y of cell centre (periodic)"}),
        "x": ("x", x, {"standard_name": "projection_x_coordinate", "units": "m", "axis": "X",
                       "long_name": "x of cell centre (periodic)"}),
    }
    data_vars = {
        name: (dims, getattr(ensemble, name), dict(attrs))
        for name, attrs in _FIELD_ATTRS.items()
    }
    data_vars["total_mass"] = (("trajectory", "time"), ensemble.mass, {
        "units": "m3", "long_name": "domain-integrated fluid volume (from the float64 state)"})
    data_vars["total_energy"] = (("trajectory", "time"), ensemble.energy, {
        "units": "m5 s-2",
        "long_name": "domain-integrated kinetic plus available potential energy per density"})
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    attrs = {
        "Conventions": "CF-1.8",
        "title": "Rotating shallow-water ensemble (ai4s-kit climate workload)",
        "institution": "ai4s-kit",
        "source": ("ai4s-kit reference_workloads.climate.simulation: rotating shallow water, "
                   "Arakawa C grid, energy-conserving vector-invariant form, SSP-RK3"),
        "references": "Sadourny (1975) J. Atmos. Sci. 32, 680; Shu & Osher (1988) J. Comput. "
                      "Phys. 77, 439",
        "comment": ("doubly periodic f-plane; model state float64, fields stored float32 "
                    "on cell centres"),
        "code_version": code_version,
        "seed": config.seed,
        "seeds": "trajectory k uses numpy.random.default_rng((seed, k))",
        "initial_condition": config.initial_condition,
        "parameters": json.dumps(config.physical_parameters(), sort_keys=True),
        "date_created": now,
        "history": (f"{now} simulated on {nranks} MPI rank(s) by "
                    "reference_workloads.climate.simulation.run"),
    }
    return xr.Dataset(data_vars=data_vars, coords=coords, attrs=attrs)


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
    with xr.open_dataset(source, decode_cf=False, engine="netcdf4") as dataset:
        return _content_hash(dataset.load())


def _content_hash(dataset: xr.Dataset) -> str:
    arrays = {str(name): variable.values for name, variable in dataset.variables.items()}
    metadata = {
        "variables": {
            str(name): {"dims": list(variable.dims),
                        "attrs": {k: v for k, v in variable.attrs.items() if k not in _WRITER_ATTRS}}
            for name, variable in dataset.variables.items()
        },
        "attrs": {k: v for k, v in dataset.attrs.items()
                  if k not in VOLATILE_ATTRS and k not in _WRITER_ATTRS},
    }
    blob = {"arrays": hash_arrays(arrays), "metadata": _plain(metadata)}
    return sha256_bytes(json.dumps(blob, sort_keys=True, separators=(",", ":")).encode())


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

