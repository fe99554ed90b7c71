"""HaloExchange alone under real mpiexec: every rank's padded block, halo and corners
included, must equal the periodic wrap of the global field (bitwise)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from reference_workloads.core.launch import find_mpiexec, job_env, stream

pytestmark = pytest.mark.timeout(300)

PROGRAM = """
import sys
import numpy as np
from mpi4py import MPI
from reference_workloads.climate.simulation.decomposition import Decomposition
from reference_workloads.climate.simulation.exchange import HaloExchange
from reference_workloads.climate.simulation.physics import allocate_state, interior

nx, ny = int(sys.argv[1]), int(sys.argv[2])
comm = MPI.COMM_WORLD
decomposition = Decomposition.for_ranks(nx, ny, comm.Get_size())
exchange = HaloExchange(comm, decomposition)
rank = exchange.cart.Get_rank()
# Distinct values in every field, member and cell, so any misplaced halo shows.
whole = np.arange(3 * 2 * ny * nx, dtype=np.float64).reshape(3, 2, ny, nx) * 1.5 + 0.25
rows, cols = decomposition.block(rank)
state = allocate_state(2, decomposition.local_ny, decomposition.local_nx)
state[...] = -1.0
interior(state)[...] = whole[..., rows, cols]
exchange(state)
wrapped = np.pad(whole, ((0, 0), (0, 0), (1, 1), (1, 1)), mode="wrap")
expected = wrapped[..., rows.start:rows.stop + 2, cols.start:cols.stop + 2]
assert np.array_equal(state, expected), f"rank {rank}: halo differs"
exchange.free()
results = comm.gather(bool(np.array_equal(state, expected)), root=0)
if rank == 0:
    print(f"exchange ok on {decomposition.px}x{decomposition.py} ranks: {all(results)}")
"""


@pytest.mark.parametrize(
    ("nranks", "nx", "ny", "layout"),
    [(4, 8, 8, "2x2"), (3, 12, 4, "3x1"), (2, 6, 8, "1x2")],
)
def test_halo_exchange_matches_the_periodic_wrap(tmp_path: Path, nranks: int, nx: int, ny: int,
                                                 layout: str) -> None:
    script = tmp_path / "exchange_check.py"
    script.write_text(PROGRAM)
    command = [find_mpiexec(), "-n", str(nranks), "--oversubscribe", sys.executable, "-m",
               "mpi4py", str(script), str(nx), str(ny)]
    output = stream(command, timeout=180, env=job_env())
    assert f"exchange ok on {layout} ranks: True" in output
