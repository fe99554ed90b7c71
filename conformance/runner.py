"""Select requirements, run their checks, never let one check stop the run."""

from __future__ import annotations

import time
import traceback
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from .catalogue import Catalogue, Requirement
from .registry import Check, Context, EnvironmentProblem, Result, Status, registry, unknown


@dataclass(kw_only=True, frozen=True, slots=True)
class Outcome:
    """One requirement's result in this run."""

    requirement: Requirement
    """The catalogue entry."""
    result: Result
    """What its check found."""
    seconds: float
    """Wall time of the check."""


def run_one(requirement: Requirement, fn: Check | None, context: Context) -> Outcome:
    """Run one check; an exception becomes `unknown` with the error, never `failed`."""
    started = time.perf_counter()
    context.log(f"START {requirement.id} {requirement.title}")
    if fn is None:
        result = unknown(f"no check is implemented for {requirement.id}")
    else:
        try:
            result = fn(context)
            if not isinstance(result, Result):
                raise TypeError(f"check returned {type(result).__name__}, not Result")
        except EnvironmentProblem as err:
            result = unknown(f"environment error: {err}", error_kind="environment")
        except Exception as err:  # noqa: BLE001 - any bug in a check is reported, not raised
            context.log(traceback.format_exc().rstrip())
            result = unknown(f"check raised {type(err).__name__}: {err}", error_kind="exception")
    seconds = time.perf_counter() - started
    context.log(f"END   {requirement.id} {result.status.value} ({seconds:.1f}s): {result.message}")
    return Outcome(requirement=requirement, result=result, seconds=seconds)


def run(requirements: Iterable[Requirement], context: Context,
        checks: Mapping[str, Check] | None = None) -> list[Outcome]:
    """Run the checks of `requirements` in catalogue order."""
    checks = registry() if checks is None else checks
    return [run_one(r, checks.get(r.id), context) for r in requirements]


def select(catalogue: Catalogue, *, only: Iterable[str] = (),
           layers: Iterable[str] = ()) -> list[Requirement]:
    """Active requirements of `layers` that `only` names; `only` entries may be ids
    (AI4S-REPRO-001) or categories (reproducibility), and an empty `only` means all."""
    only = list(only)
    ids = [x for x in only if x.startswith("AI4S-")]
    categories = [x for x in only if not x.startswith("AI4S-")]
    wanted = {r.id for r in catalogue.select(ids=ids)} if ids else set()
    if categories:
        wanted |= {r.id for r in catalogue.select(categories=categories)}
    return [r for r in catalogue.select(layers=layers) if not only or r.id in wanted]


def counts(outcomes: Iterable[Outcome]) -> dict[str, int]:
    found = {s.value: 0 for s in Status}
    for o in outcomes:
        found[o.result.status.value] += 1
    return found


def must_failures(outcomes: Iterable[Outcome]) -> list[Outcome]:
    """Outcomes that make the run fail: a MUST whose check failed."""
    return [o for o in outcomes if o.requirement.level == "MUST" and o.result.status is Status.FAILED]
