"""Climate workload, stage 1: an MPI rotating shallow-water ensemble written as CF NetCDF.

Layers: config (recipe), decomposition (blocks, no MPI), physics (pure NumPy), initial
(seeded fields), exchange (the only MPI code besides the entrypoint), ensemble (the time
loop with injected communication), dataset (CF-1.8 NetCDF and its content hash), run (the
``python -m mpi4py`` entrypoint) and api (``simulate``).

Names are resolved lazily so that ``python -m ...simulation.run`` does not pay for xarray
on every rank.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {
    "SimulationConfig": "config",
    "dataset_content_hash": "dataset",
    "ENTRYPOINT": "api",
    "simulate": "api",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{_EXPORTS[name]}"), name)
