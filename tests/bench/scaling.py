"""MPI strong and weak scaling of the simulation kernel, timed inside the ranks.

One ``mpiexec -n 2`` job; launch, imports and compilation happen once, before any timing.
Each repeat times, in turn: the whole grid on rank 0 alone (periodic halo, no messages),
the same grid split over both ranks (non-blocking exchange overlapped with the interior),
and for weak scaling a grid twice as wide on both ranks against one rank's half on rank 0
alone. A barrier starts every timing and the slowest rank's time counts.

strong efficiency = t(1 rank, N) / (2 t(2 ranks, N)); weak efficiency = t(1 rank, N) /
t(2 ranks, 2N). Ratios are formed per repeat; median with a 95 % bootstrap interval.

    mpiexec -n 2 python -m mpi4py -m tests.bench.scaling --ranks-side REPEATS
"""

from __future__ import annotations

import dataclasses
import json
import sys
import time
from typing import Any

STEPS = 10
TRAJECTORIES = 8


def _config(nx: int, ny: int):
    from tests.bench.kernel import block_config

    base = block_config()
    return dataclasses.replace(base, nx=nx, ny=ny, lx=nx * base.dx, ly=ny * base.dy,
                               n_trajectories=TRAJECTORIES)


def _timer(config, comm, decomposition):
    """Seconds for STEPS steps of this rank's block, slowest rank of ``comm``."""
    from mpi4py import MPI

    from reference_workloads.climate.simulation.ensemble import padded_initial_state
    from reference_workloads.climate.simulation.exchange import HaloExchange
    from reference_workloads.climate.simulation.physics import block_forcing
    from reference_workloads.climate.simulation.stepping import FusedStepper

    exchange = HaloExchange(comm, decomposition)
    block = decomposition.block(exchange.cart.Get_rank())
    state = padded_initial_state(config, range(config.n_trajectories), block)
    stepper = FusedStepper(config, exchange, block_forcing(config, block))
    stepper.step(state)

    def run() -> float:
        exchange.cart.Barrier()
        started = time.perf_counter()
        for _ in range(STEPS):
            stepper.step(state)
        return exchange.cart.allreduce(time.perf_counter() - started, op=MPI.MAX)

    return run


def ranks_side(repeats: int) -> None:
    from mpi4py import MPI

    from reference_workloads.climate.simulation.decomposition import Decomposition

    world = MPI.COMM_WORLD
    alone = world.Split(0 if world.Get_rank() == 0 else MPI.UNDEFINED, 0)
    strong, weak = _config(128, 128), _config(256, 128)
    pair_strong = _timer(strong, world, Decomposition.for_ranks(128, 128, 2))
    pair_weak = _timer(weak, world, Decomposition.for_ranks(256, 128, 2))
    # One rank's share of the weak-scaling grid is the strong-scaling grid.
    single_rank = (_timer(strong, alone, Decomposition.for_ranks(128, 128, 1))
                   if world.Get_rank() == 0 else None)

    def alone_on_rank_0() -> float:
        """Rank 0's one-rank timing while rank 1 sleeps (a blocking barrier would spin on
        the core rank 0 may need)."""
        if single_rank is not None:
            seconds = single_rank()
            world.Ibarrier().Wait()
            return seconds
        request = world.Ibarrier()
        while not request.Test():
            time.sleep(0.0005)
        return 0.0

    singles, splits, wides = [], [], []
    for _ in range(repeats):
        single = alone_on_rank_0()
        split = pair_strong()
        wide = pair_weak()
        single_again = alone_on_rank_0()
        if world.Get_rank() == 0:
            singles.append(0.5 * (single + single_again))  # brackets the two-rank timings
            splits.append(2 * split)
            wides.append(wide)
    if world.Get_rank() == 0:
        print("SCALING " + json.dumps({"single": singles, "split": splits, "wide": wides}),
              flush=True)


def measure(repeats: int) -> list[dict[str, Any]]:
    from reference_workloads.core.launch import mpiexec
    from tests.bench.kernel import judged

    output = mpiexec(2, "tests.bench.scaling", ["--ranks-side", str(repeats)], timeout=600)
    line = next(line for line in output.splitlines() if line.startswith("SCALING "))
    measured = json.loads(line.removeprefix("SCALING "))
    grid = f"{TRAJECTORIES} trajectories, {STEPS} fused RK3 steps per timing, launch excluded"
    return [
        judged("AI4S-PERF-006", "mpi_strong_scaling_efficiency_2", measured["single"],
               measured["split"], "1", why=f"128x128 grid on 1 vs 2 ranks, {grid}"),
        judged(None, "mpi_weak_scaling_efficiency_2", measured["single"], measured["wide"], "1",
               why=f"128x128 on 1 rank vs 256x128 on 2 ranks, {grid}"),
    ]


if __name__ == "__main__":
    if sys.argv[1:2] == ["--ranks-side"]:
        ranks_side(int(sys.argv[2]))
