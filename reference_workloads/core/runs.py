"""The frame every workload run shares: run folder, event log, tracing, stages, clean close."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .eventlog import EventLog, constants
from .recipes import config_hash
from .stages import StageRunner
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
    """Open a run: log its start, yield the context, log ``run_stop`` success or aborted, close."""
    run_dir = Path(out_dir).resolve()
    run_dir.mkdir(parents=True, exist_ok=True)
    eventlog = EventLog(run_dir / "events.log")
    init_tracing(run_dir, f"ai4s-{workload}")
    try:
        eventlog.event(constants.SUBMISSION_BENCHMARK, f"ai4s-{workload}")
        eventlog.event(constants.SEED, seed, **seed_metadata)
        eventlog.start(constants.RUN_START, recipe=recipe_name, config_hash=config_hash(recipe))
        yield RunContext(run_dir=run_dir, eventlog=eventlog, stages=StageRunner(run_dir, eventlog, code_version))
        eventlog.end(constants.RUN_STOP, status="success")
    except BaseException:
        eventlog.end(constants.RUN_STOP, status="aborted")
        raise
    finally:
        eventlog.close()
        shutdown_tracing()
