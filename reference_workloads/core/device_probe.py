"""Check that a trainer computes where its recipe says: every parameter, buffer and batch.

``DeviceProbe`` hooks every module call in the process (a global forward pre-hook), so it
sees a trainer's real modules and real batches without the trainer knowing. Used with the
``meta`` device it is a dry run: nothing is computed, yet a tensor left on the CPU fails
exactly as it would on a GPU. The probe stops the trainer at its first forward pass without
gradients (validation), after at least one training step has been seen.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import torch


class ProbeDone(Exception):
    """Raised inside the trainer once training and validation passes have both been seen."""


def tensors_in(value: Any, path: str = "input") -> Iterator[tuple[str, torch.Tensor]]:
    """Every tensor inside ``value``: nested tuples, lists, dicts and dataclasses (graph batches)."""
    if isinstance(value, torch.Tensor):
        yield path, value
    elif isinstance(value, (tuple, list)):
        for position, item in enumerate(value):
            yield from tensors_in(item, f"{path}[{position}]")
    elif isinstance(value, dict):
        for name, item in value.items():
            yield from tensors_in(item, f"{path}.{name}")
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for field in dataclasses.fields(value):
            yield from tensors_in(getattr(value, field.name), f"{path}.{field.name}")


@dataclasses.dataclass
class DeviceProbe:
    """Record every tensor a module call touches that is not on ``device``."""

    device: torch.device
    stop_at_validation: bool = True
    misplaced: list[str] = dataclasses.field(default_factory=list)
    training_calls: int = 0
    validation_calls: int = 0

    def _check(self, module: torch.nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        name = type(module).__name__
        where = [(f"{name} parameter {n}", t) for n, t in module.named_parameters()]
        where += [(f"{name} buffer {n}", t) for n, t in module.named_buffers()]
        where += [(f"{name} {p}", t) for p, t in tensors_in((args, kwargs))]
        for label, tensor in where:
            if tensor.device.type != self.device.type:
                self.misplaced.append(f"{label} on {tensor.device}, expected {self.device}")

    def __call__(self, module: torch.nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        self._check(module, args, kwargs)
        if torch.is_grad_enabled():
            self.training_calls += 1
            return
        self.validation_calls += 1
        if self.stop_at_validation and self.training_calls:
            raise ProbeDone

    def __enter__(self) -> DeviceProbe:
        self._handle = torch.nn.modules.module.register_module_forward_pre_hook(self._hook)
        return self

    def _hook(self, module: torch.nn.Module, args: tuple[Any, ...]) -> None:
        self(module, args, {})

    def __exit__(self, *exc: object) -> bool:
        self._handle.remove()
        return exc[0] is ProbeDone  # the planned stop is not an error
