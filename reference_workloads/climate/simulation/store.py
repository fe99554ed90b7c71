"""The simulation's Zarr store: every rank writes its own blocks; rank 0 writes the small
series and the metadata. No field of the ensemble ever passes through one rank.

Layout (Zarr format 2, the CF variables of ``dataset.data_variables``): each field is
chunked one trajectory, one time and one rank's block per chunk, so no two ranks ever
touch the same chunk file. The chunk layout follows the rank count; the content hash is
defined over the logical arrays (``dataset.dataset_content_hash``), so it does not.

Restart: while running, the store lives at ``.<name>.partial`` next to the target, with a
float64 checkpoint of the state (and the running time sums) every ``CHECKPOINT_EVERY``
saves and a marker ``restart.json`` that rank 0 rewrites atomically after all ranks have
written. A rerun with the same parameters and decomposition resumes from the marker; the
saves it replays are recomputed bit for bit. On success the checkpoint and marker are
removed and the store is renamed into place.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import zarr

from reference_workloads.climate.simulation.config import SimulationConfig
from reference_workloads.climate.simulation.dataset import (
    coordinates,
    data_variables,
    global_attributes,
)
from reference_workloads.climate.simulation.decomposition import Decomposition
from reference_workloads.climate.simulation.ensemble import Checkpoint
from reference_workloads.climate.simulation.physics import VARIABLES
from reference_workloads.climate.simulation.snapshot import SERIES, Snapshot, exact_total
from reference_workloads.core.atomic import write_json

ROOT = 0
# Saves between float64 checkpoints: a checkpoint is 4x a save's float32 fields, so every
# 8th save costs half the output volume again, and a restart replays at most 7 saves.
CHECKPOINT_EVERY = 8
MARKER = "restart.json"
CHECKPOINT = "checkpoint"


def partial_path(target: str | os.PathLike[str]) -> Path:
    target = Path(target)
    return target.parent / f".{target.name}.partial"


def _identity(config: SimulationConfig, decomposition: Decomposition) -> dict[str, Any]:
    return {"parameters": config.physical_parameters(),
            "decomposition": [decomposition.px, decomposition.py]}


def prepare_store(target: str | os.PathLike[str], config: SimulationConfig,
                  decomposition: Decomposition, *, code_version: str) -> bool:
    """Rank 0, before the others open it: keep a resumable partial store of the same run,
    or create an empty one. Returns True when resuming."""
    path = partial_path(target)
    marker = path / MARKER
    if marker.exists():
        recorded = json.loads(marker.read_text(encoding="utf-8"))
        if recorded.get("identity") == json.loads(json.dumps(_identity(config, decomposition))):
            return True
    shutil.rmtree(path, ignore_errors=True)
    group = zarr.open_group(path, mode="w", zarr_format=2)
    group.attrs.update(global_attributes(config, code_version=code_version,
                                         nranks=decomposition.nranks))
    for name, (dim, values, attrs) in coordinates(config).items():
        array = group.create_array(name, shape=values.shape, chunks=values.shape,
                                   dtype=values.dtype, fill_value=None, compressors=None,
                                   attributes={**attrs, "_ARRAY_DIMENSIONS": [dim]})
        array[...] = values
    block = (decomposition.local_ny, decomposition.local_nx)
    for name, (dims, dtype, attrs) in data_variables().items():
        shape = tuple(len(coordinates(config)[d][1]) for d in dims)
        chunks = {4: (1, 1, *block), 3: (1, *block), 2: shape}[len(dims)]
        group.create_array(name, shape=shape, chunks=chunks, dtype=dtype, fill_value=None,
                           compressors=None, attributes={**attrs, "_ARRAY_DIMENSIONS": list(dims)})
    group.create_array(CHECKPOINT, shape=(6, config.n_trajectories, config.ny, config.nx),
                       chunks=(6, 1, *block), dtype=np.float64, fill_value=None,
                       compressors=None)
    write_json(marker, {"identity": _identity(config, decomposition), "batch": 0, "save": -1})
    return False


def publish_store(target: str | os.PathLike[str]) -> Path:
    """Rank 0, after every rank is done: drop the restart data, rename into place."""
    target, path = Path(target), partial_path(target)
    shutil.rmtree(path / CHECKPOINT)
    (path / MARKER).unlink()
    old = target.parent / f".{target.name}.old"
    shutil.rmtree(old, ignore_errors=True)
    if target.exists():
        os.replace(target, old)
    os.replace(path, target)
    shutil.rmtree(old, ignore_errors=True)
    return target


class BlockWriter:
    """One rank's side of the store: a ``Sink`` for ``ensemble.run_ensemble``."""

    def __init__(self, target: str | os.PathLike[str], config: SimulationConfig,
                 decomposition: Decomposition, comm: Any) -> None:
        self.path = partial_path(target)
        self.config = config
        self.comm = comm
        self.rank = comm.Get_rank()
        self.rows, self.cols = decomposition.block(self.rank)
        group = zarr.open_group(self.path, mode="r+", zarr_format=2)
        self.arrays = {name: group[name] for name in (*data_variables(), CHECKPOINT)}
        self.marker = json.loads((self.path / MARKER).read_text(encoding="utf-8"))
        # Rank 0 keeps the small per-(trajectory, time) series in memory and flushes them
        # with every marker move (rewriting a whole series chunk per save would dominate).
        self.series = ({name: self.arrays[name][...] for name in SERIES}
                       if self.rank == ROOT else {})

    def checkpoint(self, members: slice) -> Checkpoint | None:
        batch, save = self.marker["batch"], self.marker["save"]
        if batch > members.start:
            last = self.config.n_saves - 1
            return Checkpoint(save=last, state=np.empty(0), time_sum=np.empty(0),
                              fields=np.empty(0))
        if batch < members.start or save < 0:
            return None
        saved = self.arrays[CHECKPOINT][:, members, self.rows, self.cols]
        fields = np.stack([self.arrays[name][members, save, self.rows, self.cols]
                           for name in VARIABLES])
        return Checkpoint(save=save, state=saved[:3], time_sum=saved[3:], fields=fields)

    def write(self, members: slice, save: int, snapshot: Snapshot, state: np.ndarray,
              time_sum: np.ndarray) -> None:
        for channel, name in enumerate(VARIABLES):
            self.arrays[name][members, save, self.rows, self.cols] = snapshot.fields[channel]
        everyone = self.comm.gather(snapshot.partials, root=ROOT)
        if self.rank == ROOT:
            for name in SERIES:
                self.series[name][members, save] = [
                    exact_total([rank_partials[member][name] for rank_partials in everyone])
                    for member in range(members.stop - members.start)]
        if 0 < save < self.config.n_saves - 1 and save % CHECKPOINT_EVERY == 0:
            # One member (one chunk) at a time: zarr holds copies of what it writes.
            checkpoint = self.arrays[CHECKPOINT]
            for offset in range(members.stop - members.start):
                checkpoint[:, members.start + offset, self.rows, self.cols] = np.concatenate(
                    [state[:, offset], time_sum[:, offset]])
            self._advance(members.start, save)

    def write_time_sum(self, members: slice, time_sum: np.ndarray) -> None:
        for channel, name in enumerate(VARIABLES):
            self.arrays[f"{name}_time_sum"][members, self.rows, self.cols] = time_sum[channel]
        self._advance(members.stop, -1)

    def _advance(self, batch: int, save: int) -> None:
        """Everything up to here is on disk on every rank; then rank 0 moves the marker."""
        if self.rank == ROOT:
            for name, values in self.series.items():
                self.arrays[name][...] = values
        self.comm.Barrier()
        self.marker = {**self.marker, "batch": batch, "save": save}
        if self.rank == ROOT:
            write_json(self.path / MARKER, self.marker)
