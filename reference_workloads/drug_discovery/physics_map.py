"""The physics stage on a worker map (Ray actors, or in-process): the MPI stage's shards and tables.

The pipeline's physics stage docks the library and computes the MMFF descriptors either on
MPI ranks (``docking.mpi``, ``physics_mpi``) or, with ``AI4S_MAP_BACKEND=ray`` or
``inprocess``, here. Everything but the map is theirs: the plan (the receptor, the shard key,
the molecules no row under the key holds), the shard folders and row format, the assembly in
record order and the stats file. So the tables are bitwise the same on either backend and
the stage's marker, which names neither, is one a later run under MPI resumes from.

Docking times vary by orders of magnitude, so both maps are dynamic: one molecule per item,
costliest first, each to the first free worker (the MPI stages' fetch-and-add queue). A
worker is built once from what it needs by value, the receptor's PDBQT text and not its path,
since a Ray worker shares no file system with the driver; the driver writes every row it gets
back into shards, so a killed job resumes from them.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from reference_workloads.core.worker_map import Map

from .docking.mpi import finish as finish_docking
from .docking.mpi import plan_docking
from .docking.receptor import RECEPTOR_PDBQT, Pocket
from .docking.vina_dock import Docker, DockingSettings
from .docking.work_queue import dispatch_order
from .physics import PhysicsSettings, compute_molecule
from .physics_mpi import ShardWriter, missing, read_library, settings_key
from .physics_mpi import finish as finish_mmff

Molecule = tuple[int, str]
"""(record, SMILES): one item of the map."""
Progress = Callable[[int, int], None]

# as many rows per shard file as the MPI stages' defaults: a killed job loses fewer than this
DOCKING_SHARD_SIZE = 8
MMFF_SHARD_SIZE = 16


@dataclass(frozen=True, slots=True)
class DockingWorker:
    """Builds one Vina with the receptor's maps, then docks a molecule per call."""

    pdbqt: str
    pocket: Pocket
    settings: DockingSettings
    seed: int
    key: str

    def __call__(self) -> Callable[[Molecule], dict]:
        # Vina reads the receptor once, while computing its maps; the file is not needed after
        with tempfile.TemporaryDirectory(prefix="ai4s-receptor-") as folder:
            path = Path(folder) / RECEPTOR_PDBQT
            path.write_text(self.pdbqt)
            docker = Docker(path, self.pocket, self.settings, seed=self.seed)
        return lambda molecule: {"record": molecule[0], "smiles": molecule[1], "shard_key": self.key,
                                 **docker.dock(molecule[1])}


@dataclass(frozen=True, slots=True)
class MmffWorker:
    """Computes a molecule's MMFF94 descriptors per call (nothing to build)."""

    settings: PhysicsSettings
    seed: int
    key: str

    def __call__(self) -> Callable[[Molecule], dict]:
        return lambda molecule: {"record": molecule[0], "smiles": molecule[1], "shard_key": self.key,
                                 **compute_molecule(molecule[1], self.settings, seed=self.seed)}


def _write_as_shards(rows: Iterable[dict], shard_dir: Path, shard_size: int, total: int,
                     on_progress: Progress) -> int:
    done = 0
    with ShardWriter(shard_dir, shard_size) as shards:
        for done, row in enumerate(rows, start=1):
            shards.add(row)
            on_progress(done, total)
    return done


def dock(library_path: Path, out: Path, settings: DockingSettings, seed: int, *, pmap: Map, workers: int,
         shard_root: Path, receptor_folder: Path, code_version: str, on_progress: Progress) -> None:
    """``docking.mpi``'s stage on ``pmap``: shards under ``shard_root/<key>``, the table in ``out``."""
    library, smiles = read_library(library_path)
    plan = plan_docking(smiles, settings, seed, code_version, receptor_folder=receptor_folder,
                        shard_root=shard_root)
    worker = DockingWorker(plan.receptor.pdbqt.read_text(), plan.receptor.pocket, settings, seed, plan.key)
    started = time.perf_counter()
    computed = _write_as_shards(pmap(worker, [(r, smiles[r]) for r in plan.order], workers), plan.shard_dir,
                                DOCKING_SHARD_SIZE, len(plan.order), on_progress)
    wall = time.perf_counter() - started
    finish_docking(library, plan, out, computed=computed, wall=wall, workers=workers)


def mmff(library_path: Path, out: Path, settings: PhysicsSettings, seed: int, *, pmap: Map, workers: int,
         shard_dir: Path, code_version: str, on_progress: Progress) -> None:
    """``physics_mpi``'s stage on ``pmap``: shards in ``shard_dir``, the table in ``out``."""
    library, smiles = read_library(library_path)
    key = settings_key(settings, seed, code_version)
    todo = missing(smiles, shard_dir, key)
    order = dispatch_order(todo)
    started = time.perf_counter()
    computed = _write_as_shards(pmap(MmffWorker(settings, seed, key), [(r, smiles[r]) for r in order], workers),
                                shard_dir, MMFF_SHARD_SIZE, len(order), on_progress)
    wall = time.perf_counter() - started
    finish_mmff(library, shard_dir, out, key, computed=computed, reused=len(smiles) - len(todo), wall=wall,
                workers=workers)
