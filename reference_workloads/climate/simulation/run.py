"""MPI entrypoint: every rank integrates its block and writes it into one Zarr store.

    mpiexec -n 2 python -m mpi4py -m reference_workloads.climate.simulation.run \\
        --config cfg.json --out ensemble.zarr [--code-version X]

A rerun after a crash or kill resumes from the store's last checkpoint (same parameters
and rank count); ``--stop-after N`` ends the run after N saves, as a kill would.

Run under ``python -m mpi4py`` so an exception on any rank aborts the whole job instead of
leaving the others blocked in a collective.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from reference_workloads.climate.simulation.config import SimulationConfig
from reference_workloads.climate.simulation.decomposition import Decomposition
from reference_workloads.climate.simulation.ensemble import run_ensemble
from reference_workloads.climate.simulation.exchange import HaloExchange
from reference_workloads.core.recipes import RecipeError

ROOT = 0


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="reference_workloads.climate.simulation.run",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--config", required=True, help="SimulationConfig as JSON")
    parser.add_argument("--out", required=True,
                        help="Zarr store to write (renamed into place when complete)")
    parser.add_argument("--code-version", default="unknown",
                        help="code version recorded in the dataset (e.g. git commit)")
    parser.add_argument("--stop-after", type=int, default=None,
                        help="stop after this many saves without publishing (restart tests)")
    return parser.parse_args(argv)


def load_config(path: str) -> SimulationConfig:
    with open(path, encoding="utf-8") as handle:
        return SimulationConfig.from_dict(json.load(handle))


def print_progress(done: int, total: int) -> None:
    print(f"progress {done}/{total}", flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    from mpi4py import MPI

    comm = MPI.COMM_WORLD
    try:
        # Every rank reads the same file, so every rank fails alike, before any work.
        config = load_config(args.config)
        config.validate_for_ranks(comm.Get_size())
    except (RecipeError, OSError, json.JSONDecodeError, TypeError) as error:
        if comm.Get_rank() == ROOT:
            print(f"error: {error}", file=sys.stderr, flush=True)
        # A non-zero exit under `python -m mpi4py` aborts the job; wait until rank 0 has
        # printed so the abort cannot swallow the message.
        comm.Barrier()
        return 2
    from reference_workloads.climate.simulation.store import (
        BlockWriter,
        prepare_store,
        publish_store,
    )

    decomposition = Decomposition.for_ranks(config.nx, config.ny, comm.Get_size())
    exchange = HaloExchange(comm, decomposition)
    # No try/finally: an exception here makes `python -m mpi4py` abort every rank, while a
    # collective clean-up in a finally block could wait forever for the failed rank.
    rank = exchange.cart.Get_rank()
    if rank == ROOT:
        resumed = prepare_store(args.out, config, decomposition, code_version=args.code_version)
        if resumed:
            print("resuming from the last checkpoint", flush=True)
    exchange.cart.Barrier()
    writer = BlockWriter(args.out, config, decomposition, exchange.cart)
    complete = run_ensemble(
        config, block=decomposition.block(rank), fill_halo=exchange, sink=writer,
        progress=print_progress if rank == ROOT else None, stop_after=args.stop_after,
    )
    # Nobody returns before every block is written and the store is in place.
    exchange.cart.Barrier()
    if complete and rank == ROOT:
        publish_store(args.out)
    exchange.cart.Barrier()
    exchange.free()
    return 0


if __name__ == "__main__":
    sys.exit(main())
