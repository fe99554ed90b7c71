"""MPI entrypoint: every rank integrates its block, rank 0 gathers and writes the dataset.

    mpiexec -n 2 python -m mpi4py -m reference_workloads.climate.simulation.run \\
        --config cfg.json --out data.nc [--code-version X]

Run under ``python -m mpi4py`` so an exception on any rank aborts the whole job instead of
leaving the others blocked in a collective.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

import numpy as np

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
    parser.add_argument("--out", required=True, help="NetCDF file to write (atomically)")
    parser.add_argument("--code-version", default="unknown",
                        help="code version recorded in the dataset (e.g. git commit)")
    return parser.parse_args(argv)


def load_config(path: str) -> SimulationConfig:
    with open(path, encoding="utf-8") as handle:
        return SimulationConfig.from_dict(json.load(handle))


def make_gather(comm: Any, decomposition: Decomposition):
    """Collective: rank 0 receives every block with one upper-case Gather and assembles."""
    from mpi4py import MPI

    def gather(local: np.ndarray) -> np.ndarray | None:
        if comm.Get_rank() != ROOT:
            comm.Gather([local, MPI.DOUBLE], None, root=ROOT)
            return None
        received = np.empty((decomposition.nranks, *local.shape), dtype=np.float64)
        comm.Gather([local, MPI.DOUBLE], [received, MPI.DOUBLE], root=ROOT)
        fields = np.empty((*local.shape[:-2], decomposition.ny, decomposition.nx))
        for rank in range(decomposition.nranks):
            rows, cols = decomposition.block(rank)
            fields[..., rows, cols] = received[rank]
        return fields

    return gather


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
    decomposition = Decomposition.for_ranks(config.nx, config.ny, comm.Get_size())
    exchange = HaloExchange(comm, decomposition)
    # No try/finally: an exception here makes `python -m mpi4py` abort every rank, while a
    # collective clean-up in a finally block could wait forever for the failed rank.
    rank = exchange.cart.Get_rank()
    ensemble = run_ensemble(
        config, block=decomposition.block(rank), fill_halo=exchange,
        gather=make_gather(exchange.cart, decomposition),
        progress=print_progress if rank == ROOT else None,
    )
    if rank == ROOT:
        from reference_workloads.climate.simulation.dataset import build_dataset, write_dataset

        assert ensemble is not None
        dataset = build_dataset(config, ensemble, code_version=args.code_version,
                                nranks=decomposition.nranks)
        write_dataset(dataset, args.out)
    # Nobody returns before the file is in place.
    exchange.cart.Barrier()
    exchange.free()
    return 0


if __name__ == "__main__":
    sys.exit(main())
