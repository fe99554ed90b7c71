"""What a check is: a function registered under a catalogue id, returning a Result.

Status is exactly one of passed | failed | skipped | unknown. `failed` is reserved for the
thing under test being wrong; a broken environment (tool missing, cluster unreachable)
raises EnvironmentProblem and becomes `unknown`; a requirement that does not apply here is
`skipped` with the reason.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

CHECK_MODULES = ("platform", "security", "scheduling", "observability", "operator",
                 "reproducibility", "quality", "provenance", "inference", "autoscaling",
                 "accelerators", "performance")
REPO_ROOT = Path(__file__).resolve().parent.parent


class Status(StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    SKIPPED = "skipped"
    UNKNOWN = "unknown"


class EnvironmentProblem(RuntimeError):
    """The environment cannot run the check (a tool is missing, a cluster is unreachable)."""


@dataclass(kw_only=True, frozen=True, slots=True)
class Result:
    """What one check found."""

    status: Status
    """passed, failed, skipped or unknown."""
    message: str
    """One line for people: why it passed, failed or was skipped."""
    evidence: dict[str, Any] = field(default_factory=dict)
    """Machine-readable measurements behind the verdict (JSON-serialisable)."""

    def __post_init__(self) -> None:
        if not isinstance(self.status, Status):
            raise ValueError(f"Result.status: expected one of {[s.value for s in Status]}, "
                             f"got {self.status!r}")


def passed(message: str, **evidence: Any) -> Result:
    return Result(status=Status.PASSED, message=message, evidence=evidence)


def failed(message: str, **evidence: Any) -> Result:
    return Result(status=Status.FAILED, message=message, evidence=evidence)


def skipped(message: str, **evidence: Any) -> Result:
    return Result(status=Status.SKIPPED, message=message, evidence=evidence)


def unknown(message: str, **evidence: Any) -> Result:
    return Result(status=Status.UNKNOWN, message=message, evidence=evidence)


NOT_APPLICABLE = "not_applicable"
"""Evidence key of a skip that assessed the requirement: it does not apply here."""


def not_applicable(message: str, **evidence: Any) -> Result:
    """`skipped` because the requirement does not apply (no accelerator, no autoscaler): the
    requirement was assessed, so a MUST skipped this way keeps a run complete. Any other
    skip of a MUST leaves the run incomplete."""
    return skipped(message, **{NOT_APPLICABLE: True, **evidence})


def verdict(ok: bool, good: str, bad: str, **evidence: Any) -> Result:
    """passed with `good` or failed with `bad`, same evidence either way."""
    return passed(good, **evidence) if ok else failed(bad, **evidence)


@dataclass(kw_only=True, frozen=True, slots=True)
class Context:
    """What every check may use; `cache` lets checks share expensive work (renders, runs)."""

    work_dir: Path
    """Scratch folder for renders and runs (inside the evidence folder)."""
    casestudies_root: Path = REPO_ROOT / "casestudies"
    """Where published case-study results are read from."""
    kubeconfig: str | None = None
    """Kubeconfig of a live cluster; None means the live checks are `unknown` (not assessed)."""
    bench_results: Path = REPO_ROOT / "bench" / "results.json"
    """The bench's results file, read by the performance checks."""
    quick: bool = False
    """Smaller workload runs (same checks, same bitwise claims)."""
    log: Callable[[str], None] = print
    """Progress lines; the runner points this at e2e.log."""
    cache: dict[str, Any] = field(default_factory=dict)
    """Shared results of expensive steps, keyed by the step."""

    def cached(self, key: str, make: Callable[[], Any]) -> Any:
        """`make()` once per context; an exception is cached too, so every check that needs
        the step reports the same error instead of redoing it."""
        if key not in self.cache:
            try:
                self.cache[key] = (True, make())
            except Exception as err:  # noqa: BLE001 - re-raised to each caller below
                self.cache[key] = (False, err)
        ok, value = self.cache[key]
        if not ok:
            raise value
        return value


Check = Callable[[Context], Result]
_REGISTRY: dict[str, Check] = {}


def check(requirement_id: str) -> Callable[[Check], Check]:
    """Register the decorated function as the check of `requirement_id`."""
    def register(fn: Check) -> Check:
        if requirement_id in _REGISTRY:
            raise ValueError(f"check for {requirement_id} registered twice "
                             f"({_REGISTRY[requirement_id].__module__} and {fn.__module__})")
        _REGISTRY[requirement_id] = fn
        return fn
    return register


def registry() -> dict[str, Check]:
    """Every registered check by requirement id (imports the check modules on first use)."""
    for name in CHECK_MODULES:
        importlib.import_module(f"conformance.checks.{name}")
    return dict(_REGISTRY)
