"""A stack's outputs and objects for rendering, and the stacks' own checks on rendered objects.

Workloads import nothing of the platform layer (``infra``), so its render and verification
are reached by module name, as ``ai4s platform`` is mounted; where ``infra`` is not
installed, a folder written by ``ai4s platform render`` serves instead, and only the
workload rules run.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from . import checks
from .target import load_outputs


def load_stack(stack: str) -> tuple[str, dict[str, Any], list[dict[str, Any]]]:
    """(stack name, outputs, objects) of a stack name under ``stacks/`` or a render folder."""
    folder = Path(stack)
    if (folder / "outputs.json").is_file():
        objects = [doc for path in sorted((folder / "objects").glob("*.yaml"))
                   for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc]
        return folder.name.removeprefix("stack-"), load_outputs(folder / "outputs.json"), objects
    try:
        render = importlib.import_module("infra.verify.render")
    except ModuleNotFoundError:
        raise ValueError(f"stack={stack!r} is invalid: the platform package is not installed; pass a "
                         "folder written by `ai4s platform render` instead") from None
    monitor, _ = render.run_stack(stack)
    return stack, render.stack_exports(), render.kubernetes_objects(monitor.registrations)


def findings(manifests: Sequence[dict[str, Any]], stack_objects: Sequence[dict[str, Any]]) -> list[str]:
    """Schema, reference and policy findings of the stacks' verification (when installed) and
    the workload rules, over the workload objects placed among the stack's objects."""
    together = [*stack_objects, *manifests]
    found = [str(f) for f in checks.check_objects(manifests, stack_objects)]
    try:
        validate = importlib.import_module("infra.verify.validate")
        policy = importlib.import_module("infra.verify.policy")
    except ModuleNotFoundError:
        return found
    return [str(f) for f in validate.validate_objects(together)] + [str(v) for v in policy.check(together)] + found
