"""The physics stage under MPI: size-balanced partition, resumable shards, one table.

Layers: ``balance`` (decomposition, pure Python, testable without MPI), ``main`` (the only
code that touches MPI: broadcast the plan, compute, gather timings), ``physics.py`` (the
per-molecule science). Each rank writes its finished molecules as small Parquet shards,
so a rerun (or a run with another rank count) computes only what is missing. Rank 0 then
assembles the table sorted by record: identical for any number of ranks. What is left to
compute (``missing``) and the assembly with its stats (``finish``) take no MPI: the physics
stage's worker map (``physics_map``, the RayJob's path) uses them too.

A shard row's identity is its molecule (the SMILES it was computed from) under one shard
key (physics settings, seed, code version), which every row carries: a new library in an
old run folder reuses exactly the molecules it shares with the old one, whatever their
record numbers, and a row computed under another key is never joined.

Run: ``mpiexec -n 2 python -m mpi4py -m reference_workloads.drug_discovery.physics_mpi
--library library.parquet --out physics/ --settings '{"n_conformers": 4}' --seed 0``.
"""

from __future__ import annotations

import argparse
import hashlib
import heapq
import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from reference_workloads.core.atomic import atomic_path, atomic_write, write_json

from .physics import OK, PhysicsSettings, compute_molecule, cost_estimate

TABLE = "physics.parquet"
SDF = "best_conformers.sdf"
STATS = "physics_stats.json"


@dataclass(kw_only=True, frozen=True, slots=True)
class Partition:
    """Which records each rank computes; every record appears exactly once."""

    assignments: tuple[tuple[int, ...], ...]
    loads: tuple[float, ...]

    def __post_init__(self) -> None:
        if len(self.assignments) != len(self.loads) or not self.assignments:
            raise ValueError(f"assignments has {len(self.assignments)} ranks, which is invalid: expected one load per rank, at least one rank")
        flat = [r for part in self.assignments for r in part]
        if len(flat) != len(set(flat)):
            raise ValueError("assignments is invalid: expected each record on exactly one rank")


def balance(costs: dict[int, float], nranks: int) -> Partition:
    """Longest-processing-time-first: the costliest molecule goes to the least-loaded rank.

    Ties (equal cost, equal load) are broken by record and rank number, so the plan depends
    on the inputs only. Each rank's records are returned in ascending order.
    """
    if nranks < 1:
        raise ValueError(f"nranks={nranks!r} is invalid: expected a positive integer")
    heap = [(0.0, rank) for rank in range(nranks)]
    parts: list[list[int]] = [[] for _ in range(nranks)]
    loads = [0.0] * nranks
    for record in sorted(costs, key=lambda r: (-costs[r], r)):
        load, rank = heapq.heappop(heap)
        parts[rank].append(record)
        loads[rank] = load + costs[record]
        heapq.heappush(heap, (loads[rank], rank))
    return Partition(assignments=tuple(tuple(sorted(p)) for p in parts), loads=tuple(loads))


def settings_key(settings: PhysicsSettings, seed: int, code_version: str = "") -> str:
    """Shards are only reused by a run with the same physics settings, seed and code."""
    blob = json.dumps({**asdict(settings), "seed": seed, "code": code_version}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def add_shard_stage_arguments(parser: argparse.ArgumentParser, *, settings: str,
                              shards: str = "Shard folder [default: OUT/shards/<key>]") -> argparse.ArgumentParser:
    """The arguments every sharded per-molecule stage takes (MPI physics, MPI docking, Ray
    physics): what to compute, where, with which settings and seed, and the shard key's code."""
    parser.add_argument("--library", required=True, help="Parquet with record, name, smiles")
    parser.add_argument("--out", required=True)
    parser.add_argument("--settings", default="{}", help=f"{settings} as JSON")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--shards", default=None, help=shards)
    parser.add_argument("--code-version", default="", help="Part of the shard key")
    return parser


def reusable(shards: pd.DataFrame | None, key: str) -> pd.DataFrame:
    """The shard rows computed under ``key``, one per SMILES."""
    if shards is None:
        return pd.DataFrame({"smiles": pd.Series(dtype=str)})
    if "shard_key" not in shards:
        return shards.iloc[0:0]
    return shards[shards["shard_key"] == key].drop_duplicates("smiles")


def read_shards(folder: Path) -> pd.DataFrame | None:
    files = sorted(folder.glob("part-*.parquet"))
    if not files:
        return None
    return pd.concat([pd.read_parquet(f) for f in files], ignore_index=True)


def write_shard(folder: Path, rows: list[dict]) -> None:
    records = ",".join(str(row["record"]) for row in rows)
    name = f"part-{rows[0]['record']:08d}-{hashlib.sha256(records.encode()).hexdigest()[:12]}.parquet"
    with atomic_path(folder / name) as tmp:
        pd.DataFrame(rows).to_parquet(tmp, index=False)


class ShardWriter:
    """Rows written as a shard every ``size`` rows, the rest on leaving the ``with`` block.

    Each row is a finished molecule, so the rest is written even when the block fails: a
    rerun then recomputes only what was in flight."""

    def __init__(self, folder: Path, size: int) -> None:
        self.folder, self.size = folder, size
        self.pending: list[dict] = []

    def add(self, row: dict) -> None:
        self.pending.append(row)
        if len(self.pending) >= self.size:
            self.flush()

    def flush(self) -> None:
        if self.pending:
            write_shard(self.folder, self.pending)
            self.pending = []

    def __enter__(self) -> ShardWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.flush()


def assemble(library: pd.DataFrame, shards: pd.DataFrame, out: Path, key: str) -> pd.DataFrame:
    """Join shards to the library by SMILES, in record order; write the table and the SDF atomically."""
    return join_to_library(library, reusable(shards, key), out, key=key, stage="physics", table=TABLE, sdf=SDF,
                           tags=lambda row: {"record": row.record, "name": row.name})


def read_library(path: str | Path) -> tuple[pd.DataFrame, dict[int, str]]:
    """The library table and its record -> SMILES map, as every sharded stage reads them."""
    library = pd.read_parquet(path)
    return library, dict(zip(library["record"].tolist(), library["smiles"].tolist(), strict=True))


def missing(smiles: dict[int, str], shard_dir: Path, key: str) -> dict[int, float]:
    """The records whose SMILES no shard row under ``key`` holds (in ``shard_dir``, created if
    new), with their estimated cost."""
    shard_dir.mkdir(parents=True, exist_ok=True)
    done = set(reusable(read_shards(shard_dir), key)["smiles"].tolist())
    return {r: cost_estimate(s) for r, s in smiles.items() if s not in done}


def table_counts(table: pd.DataFrame) -> dict[str, Any]:
    """The stats every sharded stage reports on its table: molecules, and how many per status."""
    return {"molecules": len(table),
            "status_counts": {k: int(v) for k, v in table["status"].value_counts().sort_index().items()}}


def finish(library: pd.DataFrame, shard_dir: Path, out: Path, key: str, *, computed: int, reused: int,
           wall: float, **how: Any) -> pd.DataFrame:
    """Assemble the table from the shards and write the stats (``how``: the backend's own numbers)."""
    table = assemble(library, read_shards(shard_dir), out, key)
    write_json(out / STATS, {**how, "computed": computed, "reused_from_shards": reused, "wall_seconds": wall,
                             **table_counts(table)})
    return table


def join_to_library(library: pd.DataFrame, rows: pd.DataFrame, out: Path, *, key: str, stage: str,
                    table: str, sdf: str, tags: Callable[[Any], dict[str, Any]]) -> pd.DataFrame:
    """The library's rows joined to per-molecule results by SMILES (a library that shares
    molecules with an old run reuses exactly those), in record order; written atomically as a
    Parquet table and an SDF of the successful molecules with ``tags`` as SD properties."""
    rows = rows.drop(columns=["record", "shard_key"]).set_index("smiles")
    missing = sorted(set(library["smiles"]) - set(rows.index))
    if missing:
        raise RuntimeError(f"{stage} shards under key {key} lack {len(missing)} molecules, e.g. {missing[:3]}")
    joined = library.set_index("record").join(rows, on="smiles", how="left")
    joined = joined.reset_index().sort_values("record", kind="stable").reset_index(drop=True)
    with atomic_write(out / sdf) as handle:
        for row in joined.itertuples():
            if row.status == OK:
                handle.write(row.molblock)
                handle.write("".join(f">  <{name}>\n{value}\n\n" for name, value in tags(row).items()) + "$$$$\n")
    joined = joined.drop(columns=["molblock"])
    with atomic_path(out / table) as tmp:
        joined.to_parquet(tmp, index=False)
    return joined


def _compute(records: list[int], smiles: dict[int, str], settings: PhysicsSettings, seed: int,
             shard_dir: Path, shard_size: int, report_progress: bool, key: str) -> int:
    with ShardWriter(shard_dir, shard_size) as shards:
        for done, record in enumerate(records, start=1):
            row = compute_molecule(smiles[record], settings, seed=seed)
            shards.add({"record": record, "smiles": smiles[record], "shard_key": key, **row})
            if report_progress:
                print(f"progress {done}/{len(records)}", flush=True)
    return len(records)


def main(argv: list[str] | None = None) -> None:
    parser = add_shard_stage_arguments(argparse.ArgumentParser(description="MPI physics stage"),
                                       settings="PhysicsSettings")
    parser.add_argument("--shard-size", type=int, default=16)
    options = parser.parse_args(argv)

    from mpi4py import MPI

    comm = MPI.COMM_WORLD
    rank, size = comm.Get_rank(), comm.Get_size()
    settings = PhysicsSettings(**json.loads(options.settings))
    out = Path(options.out)
    key = settings_key(settings, options.seed, options.code_version)
    shard_dir = Path(options.shards) if options.shards else out / "shards" / key
    library, smiles = read_library(options.library)

    plan = None
    if rank == 0:
        todo = missing(smiles, shard_dir, key)
        plan = {"partition": balance(todo, size), "reused": len(smiles) - len(todo)}
    plan = comm.bcast(plan, root=0)

    comm.Barrier()  # timed section starts together on every rank
    started = time.perf_counter()
    mine = list(plan["partition"].assignments[rank])
    computed = _compute(mine, smiles, settings, options.seed, shard_dir, options.shard_size, rank == 0, key)
    seconds = time.perf_counter() - started
    timings = comm.gather({"rank": rank, "molecules": computed, "seconds": seconds,
                           "planned_cost": plan["partition"].loads[rank]}, root=0)
    comm.Barrier()
    wall = time.perf_counter() - started

    if rank == 0:
        finish(library, shard_dir, out, key, computed=sum(t["molecules"] for t in timings),
               reused=plan["reused"], wall=wall, ranks=size, per_rank=timings)


if __name__ == "__main__":
    main()
