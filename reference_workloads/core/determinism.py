"""The one place where a run is made deterministic."""

from __future__ import annotations

import os
import random

import numpy as np

_SEED_STRIDE = 1_000_003  # a prime, so rank seeds never collide for realistic world sizes


def rank_seed(seed: int, rank: int) -> int:
    """The seed of one rank: distinct per rank, fixed by the run's seed."""
    return (seed + _SEED_STRIDE * rank) % (2**31 - 1)


def seed_everything(seed: int, rank: int = 0, *, threads: int | None = None, deterministic: bool = True) -> int:
    """Seed Python, NumPy and torch for ``rank``; with ``deterministic``, force deterministic kernels.

    ``threads`` pins torch's intra-op thread count; CPU reductions are bitwise reproducible
    only for a fixed thread count, so recipes pass one explicitly. ``deterministic=False``
    (a recipe switch, for GPU throughput) lets cuDNN pick and benchmark its fastest kernels:
    runs are then only statistically reproducible.
    """
    import torch

    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    os.environ["PYTHONHASHSEED"] = str(seed)
    value = rank_seed(seed, rank)
    random.seed(value)
    np.random.seed(value)
    torch.manual_seed(value)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(value)
    torch.use_deterministic_algorithms(deterministic)
    torch.backends.cudnn.deterministic = deterministic
    torch.backends.cudnn.benchmark = not deterministic
    if threads is not None:
        torch.set_num_threads(threads)
    return value
