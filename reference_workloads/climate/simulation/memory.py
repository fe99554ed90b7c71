"""Peak host memory of the simulate stage (per MPI rank) and of loading training data.

Both are counted from the arrays the code allocates (sizes, not guesses) plus, for a
process, the measured resident size of an idle rank with its libraries loaded. Tests check
the array part against tracemalloc on small runs: the estimate is never below the
measurement and at most 1.5x it.
"""

from __future__ import annotations

from reference_workloads.climate.simulation.config import SimulationConfig
from reference_workloads.climate.simulation.decomposition import Decomposition
from reference_workloads.climate.simulation.ensemble import TRAJECTORY_BATCH

# Resident size of a simulation rank after importing NumPy, numba (with the kernel loaded
# from its cache), zarr, xarray and mpi4py: 255 MiB measured on x86-64, Python 3.11.
PROCESS_BASELINE_BYTES = 256 * 2**20
_FLOAT64, _FLOAT32 = 8, 4


def simulate_array_bytes(config: SimulationConfig, nranks: int) -> int:
    """Peak bytes of arrays on one rank of the simulate stage."""
    decomposition = Decomposition.for_ranks(config.nx, config.ny, nranks)
    batch = min(TRAJECTORY_BATCH, config.n_trajectories)
    ly, lx = decomposition.local_ny, decomposition.local_nx
    block = batch * ly * lx * _FLOAT64  # one float64 field of the batch on the block
    padded = 3 * batch * (ly + 2) * (lx + 2) * _FLOAT64
    # the block's padded momentum forcing, held by the stepper for the whole run
    forcing = 2 * (ly + 2) * (lx + 2) * _FLOAT64
    # state and the two stage buffers; the running time sums; the previous float32 fields
    persistent = 3 * padded + 3 * block + 3 * block // 2 + forcing
    # the snapshot's float64 temporaries (centre velocities, stacked fields, kinetic and
    # energy densities) and its float32 fields
    snapshot = 11 * block
    # a checkpoint writes a member at a time (6 fields, and zarr's two copies of them)
    # while the snapshot's fields are held
    checkpoint = 3 * block // 2 + 3 * 6 * block // batch
    # the initial condition is built on the global grid, stacked, wrapped and sliced
    global_fields = 3 * batch * config.ny * config.nx * _FLOAT64
    wrapped = 3 * batch * (config.ny + 2) * (config.nx + 2) * _FLOAT64
    initial = 2 * global_fields + wrapped + padded
    halo = 2 * 3 * batch * 2 * (ly + lx + 2) * _FLOAT64  # send and receive buffers
    return persistent + max(snapshot, checkpoint, initial) + halo


def simulate_peak_bytes(config: SimulationConfig, nranks: int) -> int:
    """Peak resident bytes of one simulate rank (the recipe's ``resources`` counts ranks)."""
    return PROCESS_BASELINE_BYTES + simulate_array_bytes(config, nranks)


def shard_bytes(config: SimulationConfig) -> int:
    """One trajectory of the stored fields: (time, channel, y, x) float32."""
    return config.n_saves * 3 * config.ny * config.nx * _FLOAT32


# What opening a dataset costs regardless of its size (coordinates, attributes, reader
# state): 70 KiB measured, doubled for margin.
_READER_FIXED_BYTES = 128 * 2**10


def loaded_data_bytes(config: SimulationConfig, n_trajectories: int) -> int:
    """Peak bytes of ``emulator.data.load_states`` for ``n_trajectories``: what it returns
    plus the reader's copies of an eighth of one variable at a time (measured 0.14 of a
    shard on a 64x64 grid; a sixth allowed) and its fixed cost. Normalisation from the
    stored statistics adds nothing field-sized."""
    return (n_trajectories * shard_bytes(config) + shard_bytes(config) // 6
            + _READER_FIXED_BYTES)


# A batch (inputs and stacked targets, and the targets' list before stacking) is at most
# this fraction of the shard it is gathered from, so shard + reader + batch stays under 1.5.
_BATCH_SHARE_OF_SHARD = 4


def batch_states(global_batch: int, unroll: int) -> int:
    """States alive while one batch is gathered: inputs, targets and their unstacked list."""
    return global_batch * (1 + 2 * unroll)


def trajectories_per_shard(n_times: int, global_batch: int, unroll: int) -> int:
    """Trajectories the trainer reads as one shard: enough for one full batch of pairs, and
    enough that a batch is at most a quarter of the shard (the 1.5x bound holds by size)."""
    pairs = max(1, n_times - unroll)
    for_a_batch = -(-global_batch // pairs)
    for_the_bound = -(-_BATCH_SHARE_OF_SHARD * batch_states(global_batch, unroll) // n_times)
    return max(1, for_a_batch, for_the_bound)


def training_data_bytes(config: SimulationConfig, n_trajectories: int, global_batch: int,
                        unroll: int) -> int:
    """Peak host bytes of the trainer's streamed data: one shard (``trajectories_per_shard``,
    at most ``n_trajectories``), the reader's copies of a sixth of a trajectory, one batch
    and the reader's fixed cost. The whole set is never on the host at once."""
    per_shard = min(n_trajectories, trajectories_per_shard(config.n_saves, global_batch, unroll))
    state = 3 * config.ny * config.nx * _FLOAT32
    return (per_shard * shard_bytes(config) + shard_bytes(config) // 6
            + batch_states(global_batch, unroll) * state + _READER_FIXED_BYTES)
