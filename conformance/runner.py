"""Select requirements, run their checks, never let one check stop the run."""

from __future__ import annotations

import time
import traceback
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from .catalogue import Catalogue, Requirement
from .registry import (
    NOT_APPLICABLE,
    Check,
    Context,
    EnvironmentProblem,
    Result,
    Status,
    registry,
    unknown,
)


class Verdict(StrEnum):
    CONFORMANT = "conformant"
    NOT_CONFORMANT = "not conformant"
    INCOMPLETE = "incomplete"


EXIT_CODES = {Verdict.CONFORMANT: 0, Verdict.NOT_CONFORMANT: 1, Verdict.INCOMPLETE: 3}
"""Exit status of a run by verdict; 2 is taken by bad arguments."""


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
           layers: Iterable[str] = (), profile: str | None = None) -> list[Requirement]:
    """Active requirements of `profile` (all without one) and `layers` that `only` names;
    `only` entries may be ids (AI4S-REPRO-001) or categories (reproducibility), and an
    empty `only` means all."""
    only = list(only)
    in_profile = set(catalogue.profile(profile).requirements) if profile else None
    ids = [x for x in only if x.startswith("AI4S-")]
    categories = [x for x in only if not x.startswith("AI4S-")]
    wanted = {r.id for r in catalogue.select(ids=ids)} if ids else set()
    if categories:
        wanted |= {r.id for r in catalogue.select(categories=categories)}
    return [r for r in catalogue.select(layers=layers) if (not only or r.id in wanted)
            and (in_profile is None or r.id in in_profile)]


def counts(outcomes: Iterable[Outcome]) -> dict[str, int]:
    found = {s.value: 0 for s in Status}
    for o in outcomes:
        found[o.result.status.value] += 1
    return found


def must_failures(outcomes: Iterable[Outcome]) -> list[Outcome]:
    """Outcomes that make the run fail: a MUST whose check failed."""
    return [o for o in outcomes if o.requirement.level == "MUST" and o.result.status is Status.FAILED]


def assessed(outcome: Outcome) -> bool:
    """passed or failed, or skipped because it does not apply; unknown and any other skip
    mean nothing was observed."""
    status = outcome.result.status
    return status in (Status.PASSED, Status.FAILED) or (
        status is Status.SKIPPED and outcome.result.evidence.get(NOT_APPLICABLE) is True)


def must_not_assessed(outcomes: Iterable[Outcome]) -> list[Outcome]:
    return [o for o in outcomes if o.requirement.level == "MUST" and not assessed(o)]


def verdict(outcomes: Iterable[Outcome]) -> tuple[Verdict, dict[str, str]]:
    """One verdict for the requirements run, and the reason per MUST that decided it: a
    failed MUST makes the run not conformant, else a MUST not assessed makes it incomplete.
    SHOULDs are reported and never decide."""
    outcomes = list(outcomes)
    failures = must_failures(outcomes)
    if failures:
        return Verdict.NOT_CONFORMANT, {o.requirement.id: o.result.message for o in failures}
    missing = must_not_assessed(outcomes)
    if missing:
        return Verdict.INCOMPLETE, {o.requirement.id: f"{o.result.status.value}: {o.result.message}"
                                    for o in missing}
    return Verdict.CONFORMANT, {}
