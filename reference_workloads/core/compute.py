"""Where and how a trainer computes: device choice, precision, compilation.

Every trainer reads the same few recipe fields (``device``, ``precision``, ``compile``,
``deterministic``) and hands them here, so the CPU reproducibility checks and a GPU run
differ only in those fields, never in the training code.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:  # torch is imported where it is used: recipes read this module's names without it
    import torch

DeviceSetting = Literal["auto", "cpu", "cuda"]
DEVICE_SETTINGS: tuple[str, ...] = ("auto", "cpu", "cuda")
Precision = Literal["fp32", "bf16"]
PRECISIONS: tuple[str, ...] = ("fp32", "bf16")


class DeviceUnavailable(RuntimeError):
    """The recipe asks for a device this host does not have."""


def resolve_device(setting: str, local_rank: int = 0) -> torch.device:
    """The device of the process with ``local_rank``: ``auto`` takes CUDA when present.

    Ranks map to GPUs modulo the visible count, so a one-GPU host running two processes
    shares ``cuda:0`` instead of asking for a ``cuda:1`` that does not exist.
    """
    import torch

    if setting not in DEVICE_SETTINGS:
        raise ValueError(f"device={setting!r} is invalid: expected one of {', '.join(DEVICE_SETTINGS)}")
    if setting == "cpu" or (setting == "auto" and not torch.cuda.is_available()):
        return torch.device("cpu")
    count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if count == 0:
        raise DeviceUnavailable("device='cuda' is invalid on this host: no CUDA device is visible; "
                                "expected auto or cpu")
    return torch.device("cuda", local_rank % count)


def device_kind(setting: str) -> str:
    """``cpu`` or ``cuda``: what ``setting`` means on this host (for servers that take a kind)."""
    return resolve_device(setting).type


def process_group_backend(device: torch.device, local_world_size: int = 1) -> str:
    """NCCL when every local rank has a GPU of its own; gloo otherwise.

    NCCL refuses two ranks on one GPU, which is what a one-GPU host running two processes
    has; gloo reduces CUDA tensors too, so such a job still runs, only slower.
    """
    import torch

    if device.type == "cuda" and local_world_size <= torch.cuda.device_count():
        return "nccl"
    return "gloo"


def configure_precision(device: torch.device, precision: str) -> None:
    """TF32 matmuls and convolutions on CUDA under ``bf16``; nothing changes on other devices."""
    import torch

    if precision not in PRECISIONS:
        raise ValueError(f"precision={precision!r} is invalid: expected one of {', '.join(PRECISIONS)}")
    if device.type == "cuda":
        fast = precision == "bf16"
        torch.backends.cuda.matmul.allow_tf32 = fast
        torch.backends.cudnn.allow_tf32 = fast


@contextlib.contextmanager
def autocast(device: torch.device, precision: str) -> Iterator[None]:
    """bf16 autocast on CUDA when asked for; a plain float32 region everywhere else.

    The CPU path stays float32 on purpose: the bitwise reproducibility checks run there.
    """
    import torch

    if device.type == "cuda" and precision == "bf16":
        with torch.autocast(device_type="cuda", dtype=torch.bfloat16):
            yield
    else:
        yield


def maybe_compile(module: torch.nn.Module, enabled: bool) -> torch.nn.Module:
    """``torch.compile`` the module when the recipe switches it on (the weights are shared)."""
    import torch

    return torch.compile(module) if enabled else module


def to_device(tensor: torch.Tensor, device: torch.device) -> torch.Tensor:
    """Copy a host tensor to ``device`` without a host sync: pinned memory, non-blocking copy."""
    if device.type == "cuda" and tensor.device.type == "cpu":
        return tensor.pin_memory().to(device, non_blocking=True)
    return tensor.to(device)
