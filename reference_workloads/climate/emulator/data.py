"""Training pairs from a simulated ensemble: state(t) and the next ``unroll`` states."""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import torch
import xarray as xr

VARIABLES = ("h", "u", "v")


def load_states(path: str | os.PathLike[str], trajectories: slice) -> np.ndarray:
    """Array (trajectory, time, channel, y, x) of h, u, v for the chosen trajectories."""
    with xr.open_dataset(path) as ds:
        ds = ds.isel(trajectory=trajectories)
        stacked = np.stack([ds[name].values for name in VARIABLES], axis=2)
    return stacked.astype(np.float32)


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
