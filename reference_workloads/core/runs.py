"""The frame every workload run shares: run folder, event log, tracing, stages, clean close."""

from __future__ import annotations

import os
import platform
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .eventlog import RESUMED_FROM, EventLog, constants
from .recipes import config_hash
from .stages import StageRunner
from .storage import open_storage
from .tracing import init_tracing, shutdown_tracing


@dataclass(frozen=True, slots=True)
class RunContext:
    """What a pipeline needs while its stages run."""

    run_dir: Path
    eventlog: EventLog
    stages: StageRunner


@contextmanager
def workload_run(workload: str, recipe_name: str, recipe: Any, out_dir: str | os.PathLike[str], *,
                 seed: int, code_version: str = "", **seed_metadata: int) -> Iterator[RunContext]:
    """Open a run: start its own event log, yield the context, log ``run_stop`` success or aborted.

    The log of an earlier invocation in the same folder is moved to ``logs/`` first and named
    in a ``resumed_from`` event, so each log holds exactly one run. With ``AI4S_STORAGE`` naming
    a bucket, stages exchange their results through it and a successful run publishes its
    manifest and logs there.
    """
    # the data layer is checked before anything is written: a refused bucket costs no work
    storage = open_storage()
    run_dir = Path(out_dir).resolve()
    run_dir.mkdir(parents=True, exist_ok=True)
    eventlog = EventLog(run_dir / "events.log", fresh=True)
    init_tracing(run_dir, f"ai4s-{workload}")
    try:
        eventlog.start(constants.INIT_START)
        eventlog.event(constants.SUBMISSION_ORG, "ai4s-kit")
        eventlog.event(constants.SUBMISSION_PLATFORM, f"{platform.system()}-{platform.machine()}")
        # Open division: the kit's benchmarks are its own, not the closed MLPerf HPC ones.
        eventlog.event(constants.SUBMISSION_DIVISION, constants.OPEN)
        eventlog.event(constants.SUBMISSION_STATUS, constants.RESEARCH)
        eventlog.event(constants.SUBMISSION_BENCHMARK, f"ai4s-{workload}")
        # Nothing is cleared: completed stages are reused, and each reuse is a stage_resumed event.
        eventlog.event(constants.CACHE_CLEAR, False)
        if eventlog.archived is not None:
            eventlog.event(RESUMED_FROM, eventlog.archived.relative_to(run_dir).as_posix())
        eventlog.event(constants.SEED, seed, **seed_metadata)
        eventlog.end(constants.INIT_STOP)
        eventlog.start(constants.RUN_START, recipe=recipe_name, config_hash=config_hash(recipe))
        yield RunContext(run_dir=run_dir, eventlog=eventlog, stages=StageRunner(run_dir, eventlog, code_version, storage))
        eventlog.end(constants.RUN_STOP, status="success")
    except BaseException:
        eventlog.end(constants.RUN_STOP, status="aborted")
        raise
    finally:
        eventlog.close()
        shutdown_tracing()
    storage.publish_run(run_dir)


class StageGroupError(ValueError):
    """``ai4s run --stage`` names no stage group of the workload."""


def check_stage_group(until: str | None, groups: tuple[str, ...]) -> None:
    """Refuse an unknown ``--stage`` before any work starts, naming the groups accepted."""
    if until is not None and until not in groups:
        raise StageGroupError(f"stage={until!r} is invalid: expected one of {', '.join(groups)}")


def stopped_after(group: str, **known: Any) -> dict[str, Any]:
    """What a run stopped after ``group`` returns instead of a manifest: the hashes known so far.
    No manifest is written, so a partial run is never taken for a whole one."""
    return {"stopped_after": group, **known}
