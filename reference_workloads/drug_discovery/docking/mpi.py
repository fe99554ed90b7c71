"""The docking stage under MPI: a rank-0 work queue, resumable shards, one table.

Layers: ``work_queue`` (the claim order and the claim loop, pure Python), this module (the
only code that touches MPI: a fetch-and-add counter in a one-sided window on rank 0, a
broadcast plan, gathered timings) and ``vina_dock`` (one molecule's science). Every rank
docks; there is no idle master, because claiming is one atomic operation on rank 0's window.

Shards mirror ``physics_mpi``: each row carries the SMILES it was computed from and the shard
key (the kit's stage-key hash of the settings, the seed, the prepared receptor's sha256 and
the code version); a rerun docks only the molecules no row under its key holds, matched by
SMILES, and the table is assembled in record order: identical for any number of ranks.
The plan (``plan_docking``) and the assembly with its stats (``finish``) take no MPI: the
physics stage's worker map (``physics_map``, the RayJob's path) uses them too.

Run: ``mpiexec -n 2 python -m mpi4py -m reference_workloads.drug_discovery.docking.mpi
--library library.parquet --out docking/ --settings '{"exhaustiveness": 4}' --seed 0``.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from reference_workloads.core.atomic import write_json
from reference_workloads.core.stages import inputs_hash

from ..physics_mpi import (
    ShardWriter,
    add_shard_stage_arguments,
    join_to_library,
    read_library,
    read_shards,
    reusable,
    table_counts,
)
from .ligand import quiet_rdkit
from .receptor import Receptor, prepare_receptor
from .vina_dock import Docker, DockingSettings
from .work_queue import claims, dispatch_order, docking_cost

TABLE = "docking.parquet"
SDF = "poses.sdf"
STATS = "docking_stats.json"


def shard_key(settings: DockingSettings, seed: int, receptor_sha256: str, code_version: str = "") -> str:
    """Shards are reused only under the same settings, seed, receptor and code."""
    return inputs_hash({"stage": "docking", "settings": asdict(settings), "seed": seed,
                        "receptor": receptor_sha256, "code": code_version})[:16]


class WindowCounter:
    """The work queue's head: one int64 on rank 0, advanced by MPI fetch-and-add from any rank."""

    def __init__(self, comm) -> None:
        from mpi4py import MPI

        self._mpi = MPI
        size = MPI.INT64_T.Get_size()
        self.window = MPI.Win.Allocate(size if comm.Get_rank() == 0 else 0, size, comm=comm)
        if comm.Get_rank() == 0:
            self.window.Lock(0, MPI.LOCK_EXCLUSIVE)
            np.frombuffer(self.window.tomemory(), dtype=np.int64)[:] = 0
            self.window.Unlock(0)
        comm.Barrier()

    def fetch_add(self, increment: int) -> int:
        before = np.zeros(1, dtype=np.int64)
        self.window.Lock(0, self._mpi.LOCK_SHARED)  # accumulate operations are atomic under a shared lock
        self.window.Fetch_and_op(np.array([increment], dtype=np.int64), before, 0, 0, self._mpi.SUM)
        self.window.Unlock(0)
        return int(before[0])

    def free(self) -> None:
        self.window.Free()


def assemble(library: pd.DataFrame, shards: pd.DataFrame | None, out: Path, key: str) -> pd.DataFrame:
    """Join shard rows to the library by SMILES in record order; write the table and the SDF."""
    if shards is None or "shard_key" not in shards:
        rows = reusable(shards, key)
    else:
        rows = shards[shards["shard_key"] == key]
    doubled = rows["smiles"][rows["smiles"].duplicated()].tolist()
    if doubled:
        raise RuntimeError(f"docking shards under key {key} hold {len(doubled)} molecules twice, e.g. {doubled[:2]}: "
                           "expected the work queue to hand each molecule out once")
    # OK is the docking stage's status (the same word as physics'), so the shared join applies
    return join_to_library(library, rows, out, key=key, stage="docking", table=TABLE, sdf=SDF,
                           tags=lambda row: {"record": row.record, "score": repr(row.score)})


@dataclass(kw_only=True, frozen=True, slots=True)
class DockingPlan:
    """What every docking backend (MPI ranks, a worker map) shares: rank 0's or the driver's plan."""

    receptor: Receptor
    """The prepared receptor (its sha256 is part of the key)."""
    key: str
    """The shard key (``shard_key``)."""
    shard_dir: Path
    """Where the rows under ``key`` live: the shard root's ``<key>`` folder."""
    order: tuple[int, ...]
    """The records still to dock, one per SMILES, costliest first (``dispatch_order``)."""
    reused: int
    """Library records whose SMILES a shard row under ``key`` already holds."""


def plan_docking(smiles: dict[int, str], settings: DockingSettings, seed: int, code_version: str, *,
                 receptor_folder: Path, shard_root: Path) -> DockingPlan:
    """Prepare the receptor, find the shard rows under this key, order what is left."""
    receptor = prepare_receptor(receptor_folder, settings.padding)
    key = shard_key(settings, seed, receptor.sha256, code_version)
    # the key is known only once the receptor is prepared (its sha256 is part of it)
    shard_dir = shard_root / key
    shard_dir.mkdir(parents=True, exist_ok=True)
    done = set(reusable(read_shards(shard_dir), key)["smiles"].tolist())
    first_record: dict[str, int] = {}
    for record, text in sorted(smiles.items()):
        if text not in done:
            first_record.setdefault(text, record)  # a SMILES listed twice is docked once
    order = dispatch_order({r: docking_cost(s) for s, r in first_record.items()})
    return DockingPlan(receptor=receptor, key=key, shard_dir=shard_dir, order=order,
                       reused=sum(text in done for text in smiles.values()))


def finish(library: pd.DataFrame, plan: DockingPlan, out: Path, *, computed: int, wall: float,
           **how: Any) -> pd.DataFrame:
    """Assemble the table from the shards and write the stats (``how``: the backend's own numbers)."""
    table = assemble(library, read_shards(plan.shard_dir), out, plan.key)
    write_json(out / STATS, {**how, "shard_key": plan.key, "computed": computed, "reused_from_shards": plan.reused,
                             "wall_seconds": wall, "receptor": plan.receptor.origin,
                             **table_counts(table)})
    return table


def _dock_claims(docker: Docker, order: tuple[int, ...], smiles: dict[int, str], counter, batch: int,
                 shard_dir: Path, shard_size: int, key: str) -> list[int]:
    done: list[int] = []
    with ShardWriter(shard_dir, shard_size) as shards:
        for claim in claims(order, batch, counter):
            for record in claim:
                shards.add({"record": record, "smiles": smiles[record], "shard_key": key,
                            **docker.dock(smiles[record])})
                done.append(record)
                # the queue position is global: every rank's line advances one bar for the stage
                print(f"progress {order.index(record) + 1}/{len(order)}", flush=True)
    return done


def main(argv: list[str] | None = None) -> None:
    parser = add_shard_stage_arguments(argparse.ArgumentParser(description="MPI docking stage"),
                                       settings="DockingSettings",
                                       shards="Shard root; shards go under ROOT/<key> [default: OUT/shards]")
    parser.add_argument("--batch", type=int, default=1, help="Molecules per claim from the queue")
    parser.add_argument("--shard-size", type=int, default=8, help="Molecules per shard file")
    parser.add_argument("--receptor", default=None, help="Prepared receptor folder [default: OUT/receptor]")
    options = parser.parse_args(argv)

    from mpi4py import MPI

    quiet_rdkit()
    comm = MPI.COMM_WORLD
    rank, size = comm.Get_rank(), comm.Get_size()
    settings = DockingSettings(**json.loads(options.settings))
    out = Path(options.out)
    library, smiles = read_library(options.library)

    plan = None
    if rank == 0:
        plan = plan_docking(smiles, settings, options.seed, options.code_version,
                            receptor_folder=Path(options.receptor) if options.receptor else out / "receptor",
                            shard_root=Path(options.shards) if options.shards else out / "shards")
    plan = comm.bcast(plan, root=0)
    docker = Docker(plan.receptor.pdbqt, plan.receptor.pocket, settings, seed=options.seed)
    counter = WindowCounter(comm)

    comm.Barrier()  # timed section starts together on every rank
    started = time.perf_counter()
    mine = _dock_claims(docker, plan.order, smiles, counter, options.batch, plan.shard_dir,
                        options.shard_size, plan.key)
    seconds = time.perf_counter() - started
    timings = comm.gather({"rank": rank, "molecules": len(mine), "records": mine, "seconds": seconds}, root=0)
    comm.Barrier()
    wall = time.perf_counter() - started
    counter.free()

    if rank == 0:
        finish(library, plan, out, computed=sum(t["molecules"] for t in timings), wall=wall,
               ranks=size, per_rank=timings)


if __name__ == "__main__":
    main()
