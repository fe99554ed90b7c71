"""DistributedDataParallel plumbing: process groups and resumable, bitwise checkpoints."""

from __future__ import annotations

import os
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist

from .atomic import atomic_path
from .compute import process_group_backend, resolve_device


@dataclass(frozen=True, slots=True)
class DistContext:
    """Where this process stands in the job."""

    rank: int
    world_size: int
    local_rank: int
    device: torch.device

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def barrier(self) -> None:
        if dist.is_initialized():
            dist.barrier()


def init_distributed(device: str = "auto") -> DistContext:
    """Join the torchrun job (gloo on CPU, NCCL on CUDA); a plain process is world 1.

    ``device`` is the recipe's setting (auto, cpu, cuda); see ``compute.resolve_device``
    for how local ranks map onto the visible GPUs.
    """
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    resolved = resolve_device(device, local_rank)
    if resolved.type == "cuda":
        torch.cuda.set_device(resolved)
    if world > 1 and not dist.is_initialized():
        local_world = int(os.environ.get("LOCAL_WORLD_SIZE", "1"))
        dist.init_process_group(backend=process_group_backend(resolved, local_world))
    return DistContext(rank=rank, world_size=world, local_rank=local_rank, device=resolved)


def destroy() -> None:
    if dist.is_initialized():
        dist.destroy_process_group()


def rng_state() -> dict[str, Any]:
    state = {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


class CheckpointMismatch(RuntimeError):
    """A checkpoint written under another job key: resuming from it would mix two identities."""


class CheckpointManager:
    """One checkpoint file per epoch, written atomically by rank 0.

    A checkpoint holds the model, the optimiser, the scheduler and the RNG states of rank
    0, so a resumed run continues exactly where the interrupted one stopped. It also holds
    the key of the training job that wrote it (the stage key: config, data, seeds, code), and
    a job restores only checkpoints carrying its own key.
    """

    def __init__(self, directory: str | os.PathLike[str], keep: int = 2, key: str | None = None) -> None:
        self.directory = Path(directory)
        self.keep = keep
        self.key = key

    def _path(self, epoch: int) -> Path:
        return self.directory / f"epoch-{epoch:05d}.pt"

    def epochs(self) -> list[int]:
        if not self.directory.exists():
            return []
        return sorted(int(p.stem.split("-")[1]) for p in self.directory.glob("epoch-*.pt"))

    def save(self, ctx: DistContext, epoch: int, model: torch.nn.Module, optimizer: torch.optim.Optimizer,
             scheduler: Any = None, extra: dict[str, Any] | None = None) -> None:
        if ctx.is_main:
            payload = {
                "epoch": epoch,
                "model": model.state_dict(),
                "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict() if scheduler is not None else None,
                "rng": rng_state(),
                "extra": extra or {},
                "key": self.key,
            }
            with atomic_path(self._path(epoch)) as tmp:
                torch.save(payload, tmp)
            for old in self.epochs()[: -self.keep]:
                self._path(old).unlink(missing_ok=True)
        ctx.barrier()

    def latest(self) -> dict[str, Any] | None:
        epochs = self.epochs()
        if not epochs:
            return None
        payload = torch.load(self._path(epochs[-1]), map_location="cpu", weights_only=False)
        if payload.get("key") != self.key:
            raise CheckpointMismatch(
                f"checkpoint {self._path(epochs[-1])} was written by job key={payload.get('key')!r}, "
                f"which is invalid for this job: expected key={self.key!r}"
            )
        return payload

    def restore(self, model: torch.nn.Module, optimizer: torch.optim.Optimizer, scheduler: Any = None) -> int:
        """Load the newest checkpoint if any; return the first epoch still to train."""
        payload = self.latest()
        if payload is None:
            return 0
        model.load_state_dict(payload["model"])
        optimizer.load_state_dict(payload["optimizer"])
        if scheduler is not None and payload["scheduler"] is not None:
            scheduler.load_state_dict(payload["scheduler"])
        set_rng_state(payload["rng"])
        return int(payload["epoch"]) + 1
