"""Training pairs from a simulated ensemble: state(t) and the next ``unroll`` states.

Memory. A trajectory is (time, channel, y, x) float32. Reading goes one trajectory, one
variable and an eighth of its times at a time into the destination, so loading adds about a
tenth of a trajectory to what it returns, and ``iter_trajectories`` streams with a peak of
about 1.1 trajectories (tests bound both at 1.5). The trainer reads through
``ShardedPairs``: a shard is a group of trajectories sized by
``simulation.memory.trajectories_per_shard`` so that a batch is at most a quarter of it,
and an epoch holds one shard, the reader's tenth and a batch: at most 1.5 shards (tested).
Normalisation and the climatology come from statistics stored with the dataset
(``simulation.snapshot.STATISTICS`` and the time sums), never from the fields.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch

from reference_workloads.climate.simulation.dataset import open_dataset
from reference_workloads.climate.simulation.memory import trajectories_per_shard
from reference_workloads.climate.simulation.physics import VARIABLES


def _trajectory_ids(n: int, trajectories: slice) -> range:
    return range(n)[trajectories]


def load_states(path: str | os.PathLike[str], trajectories: slice) -> np.ndarray:
    """Array (trajectory, time, channel, y, x) of h, u, v for the chosen trajectories."""
    with open_dataset(path, decode_cf=False) as ds:
        ids = _trajectory_ids(ds.sizes["trajectory"], trajectories)
        states = np.empty((len(ids), ds.sizes["time"], len(VARIABLES), ds.sizes["y"],
                           ds.sizes["x"]), np.float32)
        for slot, trajectory in enumerate(ids):
            _read_trajectory(ds, trajectory, states[slot])
    return states


def iter_trajectories(path: str | os.PathLike[str], trajectories: slice) -> Iterator[np.ndarray]:
    """Each chosen trajectory as (time, channel, y, x) float32, streamed. The yielded array
    is reused for the next trajectory (copy it to keep it), so at most one shard plus one
    variable of it is in memory."""
    with open_dataset(path, decode_cf=False) as ds:
        shard = np.empty((ds.sizes["time"], len(VARIABLES), ds.sizes["y"], ds.sizes["x"]),
                         np.float32)
        for trajectory in _trajectory_ids(ds.sizes["trajectory"], trajectories):
            _read_trajectory(ds, trajectory, shard)
            yield shard


# Times read per call: readers (netCDF4, xarray) hold up to two copies of what they read,
# so reading an eighth of a variable at a time keeps the overhead near a tenth of a shard.
_TIME_PIECES = 8


def _read_trajectory(ds, trajectory: int, out: np.ndarray) -> None:
    step = max(1, -(-out.shape[0] // _TIME_PIECES))
    for channel, name in enumerate(VARIABLES):
        for first in range(0, out.shape[0], step):
            out[first:first + step, channel] = ds[name][trajectory, first:first + step].values


def normalisation_from_dataset(path: str | os.PathLike[str], trajectories: slice
                               ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``normalisation`` of the chosen trajectories, from the stored per-(trajectory, time)
    sums: no field is read. Sums are combined with math.fsum, so the result does not depend
    on the order of trajectories."""
    with open_dataset(path, decode_cf=False) as ds:
        ids = list(_trajectory_ids(ds.sizes["trajectory"], trajectories))
        times, cells = ds.sizes["time"], ds.sizes["y"] * ds.sizes["x"]

        def total(name: str) -> float:
            return math.fsum(ds[name].values[ids].ravel().tolist())

        mean, std, increment_std = [], [], []
        for name in VARIABLES:
            count = len(ids) * times * cells
            m = total(f"{name}_sum") / count
            s = math.sqrt(max(total(f"{name}_sum_sq") / count - m * m, 0.0))
            s = s if s > 0 else 1.0
            increments = len(ids) * (times - 1) * cells
            i = math.sqrt(total(f"{name}_increment_sum_sq") / increments) / s if increments else 0.0
            mean.append(m)
            std.append(s)
            increment_std.append(i if i > 0 else 1.0)
    return tuple(torch.tensor(a, dtype=torch.float32) for a in (mean, std, increment_std))


def climatology(path: str | os.PathLike[str], trajectories: slice) -> np.ndarray:
    """Mean state (channel, y, x) float32 over the chosen trajectories and every time, from
    the stored time sums (one field per trajectory, not the trajectories themselves)."""
    with open_dataset(path, decode_cf=False) as ds:
        ids = _trajectory_ids(ds.sizes["trajectory"], trajectories)
        out = np.zeros((len(VARIABLES), ds.sizes["y"], ds.sizes["x"]))
        for trajectory in ids:
            for channel, name in enumerate(VARIABLES):
                out[channel] += ds[f"{name}_time_sum"][trajectory].values
        return (out / (len(ids) * ds.sizes["time"])).astype(np.float32)


@dataclass(frozen=True, slots=True)
class PairIndex:
    """Which (trajectory, start time) pairs exist for a given unroll length."""

    n_trajectories: int
    n_times: int
    unroll: int

    def __len__(self) -> int:
        return self.n_trajectories * (self.n_times - self.unroll)

    def locate(self, index: int) -> tuple[int, int]:
        per = self.n_times - self.unroll
        return index // per, index % per


def normalisation(states: np.ndarray) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Per-channel state mean and spread, and spread of one-step increments in normalised units."""
    mean = states.mean(axis=(0, 1, 3, 4), dtype=np.float64)
    std = states.std(axis=(0, 1, 3, 4), dtype=np.float64)
    std = np.where(std > 0, std, 1.0)
    increments = np.diff(states, axis=1) / std[None, None, :, None, None]
    increment_std = np.sqrt(np.mean(increments**2, axis=(0, 1, 3, 4), dtype=np.float64))
    increment_std = np.where(increment_std > 0, increment_std, 1.0)
    return tuple(torch.tensor(a, dtype=torch.float32) for a in (mean, std, increment_std))


def batch(states: torch.Tensor, index: PairIndex, ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Inputs (b, c, y, x) and targets (b, unroll, c, y, x) for pair ids."""
    traj = ids // (index.n_times - index.unroll)
    start = ids % (index.n_times - index.unroll)
    inputs = states[traj, start]
    targets = torch.stack([states[traj, start + k] for k in range(1, index.unroll + 1)], dim=1)
    return inputs, targets


def epoch_order(n: int, seed: int, epoch: int) -> torch.Tensor:
    """The shuffled order of an epoch: a function of seed and epoch only (resumable)."""
    generator = torch.Generator().manual_seed(seed * 100_003 + epoch)
    return torch.randperm(n, generator=generator)


class ShardedPairs:
    """Training pairs read shard by shard: a shard is ``trajectories_per_shard`` consecutive
    trajectories, read into one reused buffer, so the host holds one shard (plus the reader's
    tenth of a trajectory and one batch) however large the set is.

    ``resident_on`` keeps the whole set in that device's memory instead (read there a
    trajectory at a time, so the host still holds one trajectory): the trainer asks for it
    on CUDA with ``data_on_device``. The order of pairs is the same either way.
    """

    def __init__(self, path: str | os.PathLike[str], trajectories: slice, global_batch: int,
                 unroll: int, resident_on: torch.device | None = None) -> None:
        self.path, self.unroll, self.global_batch = path, unroll, global_batch
        with open_dataset(path, decode_cf=False) as ds:
            ids = _trajectory_ids(ds.sizes["trajectory"], trajectories)
            self.shape = (ds.sizes["time"], len(VARIABLES), ds.sizes["y"], ds.sizes["x"])
        per = min(len(ids), trajectories_per_shard(self.shape[0], global_batch, unroll))
        self.shards = [ids[i:i + per] for i in range(0, len(ids), per)]
        self.first = ids.start
        self.resident: torch.Tensor | None = None
        self._buffer: np.ndarray | None = None  # the one host shard, reused for every shard
        if resident_on is not None:
            self.resident = torch.empty((len(ids), *self.shape), device=resident_on)
            for slot, trajectory in enumerate(iter_trajectories(path, trajectories)):
                self.resident[slot].copy_(torch.from_numpy(trajectory))

    @property
    def pairs_per_trajectory(self) -> int:
        return self.shape[0] - self.unroll

    def __len__(self) -> int:
        """Pairs in the set."""
        return sum(len(s) for s in self.shards) * self.pairs_per_trajectory

    def steps(self) -> int:
        """Full batches per epoch: each shard's pairs in whole batches (a shard's remainder is
        left out that epoch; which pairs are left out changes with the shuffle)."""
        return sum(len(s) * self.pairs_per_trajectory // self.global_batch for s in self.shards)

    def epoch(self, seed: int, epoch: int, rank: int, world_size: int
              ) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """This rank's (inputs, targets) batches of one epoch. The shard order and each
        shard's pair order come from one generator seeded by (seed, epoch), drawn alike on
        every rank, so ranks take disjoint slices of the same global batches and a resumed
        run sees the order an uninterrupted one saw."""
        generator = torch.Generator().manual_seed(seed * 100_003 + epoch)
        order = torch.randperm(len(self.shards), generator=generator).tolist()
        pair_orders = {n: torch.randperm(len(self.shards[n]) * self.pairs_per_trajectory, generator=generator)
                       for n in order}
        for number in order:
            states = self._shard(number)
            index = PairIndex(states.shape[0], states.shape[1], self.unroll)
            pairs = pair_orders[number].to(states.device)
            for step in range(len(index) // self.global_batch):
                ids = pairs[step * self.global_batch:(step + 1) * self.global_batch][rank::world_size]
                yield batch(states, index, ids)

    def _shard(self, number: int) -> torch.Tensor:
        shard = self.shards[number]
        if self.resident is not None:
            return self.resident[shard.start - self.first:shard.stop - self.first]
        if self._buffer is None:
            self._buffer = np.empty((len(self.shards[0]), *self.shape), np.float32)
        with open_dataset(self.path, decode_cf=False) as ds:
            for slot, trajectory in enumerate(shard):
                _read_trajectory(ds, trajectory, self._buffer[slot])
        return torch.from_numpy(self._buffer[:len(shard)])

    def scored(self, rank: int, world_size: int, chunk: int) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """Every pair once, in stored order, this rank taking every world_size-th pair of each
        shard, in batches of at most ``chunk``: for validation."""
        for number in range(len(self.shards)):
            states = self._shard(number)
            index = PairIndex(states.shape[0], states.shape[1], self.unroll)
            mine = torch.arange(len(index), device=states.device)[rank::world_size]
            for ids in mine.split(chunk):
                yield batch(states, index, ids)
