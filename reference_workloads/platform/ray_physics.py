"""The drug physics stage as a Ray job: a parallel map of the per-molecule physics over shards.

The same plan, shard keys and table as the MPI stage (``physics_mpi``): molecules already in
the shard folder under this key (settings, seed, code version) are reused by SMILES, the
rest are balanced into one part per worker by estimated cost, each part is computed by a
task that returns its rows (workers share no file system with the driver), and the driver
writes them as shards and assembles the one table, sorted by record.

``ray`` is not a dependency of the kit: this runs in a RayJob on a cluster (the kit's image
with ``ray`` added); with ``--local`` it maps in-process, which is what the tests run.

Run: ``python -m reference_workloads.platform.ray_physics --library data/library.parquet
--out physics --settings '{"n_conformers": 4}' --seed 0 --workers 4``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import pandas as pd

from reference_workloads.core.atomic import write_json
from reference_workloads.drug_discovery.physics import (
    PhysicsSettings,
    compute_molecule,
    cost_estimate,
)
from reference_workloads.drug_discovery.physics_mpi import (
    STATS,
    add_shard_stage_arguments,
    assemble,
    balance,
    read_shards,
    reusable,
    settings_key,
    write_shard,
)

Part = tuple[list[tuple[int, str]], dict, int, str]
"""(records with their SMILES, settings as a dict, seed, shard key): one task's input."""


def compute_part(part: Part) -> list[dict]:
    """One task: the physics of each molecule of a part, as shard rows carrying the key."""
    molecules, settings, seed, key = part
    physics = PhysicsSettings(**settings)
    return [{"record": record, "smiles": smiles, "shard_key": key, **compute_molecule(smiles, physics, seed=seed)}
            for record, smiles in molecules]


def run_physics(library_path: Path, out: Path, settings: PhysicsSettings, seed: int, *, workers: int,
                pmap: Callable[[Callable[[Part], list[dict]], Sequence[Part]], list[list[dict]]],
                shard_dir: Path | None = None, code_version: str = "") -> dict:
    """Compute what the shards lack with ``pmap``, write shards, assemble the table; return the stats."""
    key = settings_key(settings, seed, code_version)
    shard_dir = shard_dir or out / "shards" / key
    shard_dir.mkdir(parents=True, exist_ok=True)
    library = pd.read_parquet(library_path)
    smiles = dict(zip(library["record"].tolist(), library["smiles"].tolist(), strict=True))
    done = set(reusable(read_shards(shard_dir), key)["smiles"].tolist())
    todo = {r: cost_estimate(s) for r, s in smiles.items() if s not in done}
    started = time.perf_counter()
    parts = [([(r, smiles[r]) for r in records], dataclasses.asdict(settings), seed, key)
             for records in balance(todo, workers).assignments if records] if todo else []
    for rows in pmap(compute_part, parts):
        if rows:
            write_shard(shard_dir, rows)
    table = assemble(library, read_shards(shard_dir), out, key)
    stats = {"workers": workers, "molecules": len(table), "computed": len(todo),
             "reused_from_shards": len(smiles) - len(todo), "wall_seconds": time.perf_counter() - started,
             "status_counts": {k: int(v) for k, v in table["status"].value_counts().sort_index().items()}}
    write_json(out / STATS, stats)
    return stats


def ray_map(function: Callable[[Part], list[dict]], parts: Sequence[Part]) -> list[list[dict]]:
    """One Ray task per part on the cluster the RayJob started."""
    import ray

    ray.init()
    task = ray.remote(function)
    return ray.get([task.remote(part) for part in parts])


def local_map(function: Callable[[Part], list[dict]], parts: Sequence[Part]) -> list[list[dict]]:
    return [function(part) for part in parts]


def main(argv: list[str] | None = None) -> None:
    parser = add_shard_stage_arguments(argparse.ArgumentParser(description="Ray physics stage"),
                                       settings="PhysicsSettings")
    parser.add_argument("--workers", type=int, default=1, help="parts to balance the molecules into")
    parser.add_argument("--local", action="store_true", help="map in this process instead of on Ray")
    options = parser.parse_args(argv)
    run_physics(Path(options.library), Path(options.out), PhysicsSettings(**json.loads(options.settings)),
                options.seed, workers=options.workers, pmap=local_map if options.local else ray_map,
                shard_dir=Path(options.shards) if options.shards else None, code_version=options.code_version)


if __name__ == "__main__":
    main()
