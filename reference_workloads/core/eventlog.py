"""Structured event logs in the MLPerf format (``:::MLLOG {...}`` lines), rank 0 writing.

One invocation, one log: the process that frames a run starts the log (``fresh=True``) and
moves whatever log the run folder held into ``logs/``; the training processes it launches
join that log (the default) and append to it. Every writer opens the file in append mode,
so each line lands at the current end of the file whoever wrote before it; a writer that
opened with ``"w"`` would keep its own offset and overwrite what a child wrote meanwhile.
"""

from __future__ import annotations

import json
import logging
import os
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mlperf_logging.mllog import constants
from mlperf_logging.mllog.mllog import MLLogger

__all__ = ["EARLIER_LOGS", "EVAL_ERROR", "RESUMED_FROM", "STAGE_RESUMED", "STAGE_START", "STAGE_STOP",
           "EventLog", "archive_log", "constants", "read_events"]

EARLIER_LOGS = "logs"
"""Folder, next to the current log, that keeps the logs of earlier invocations."""

# A pipeline stage is not an MLPerf block (a block is a run of epochs between two evals, with
# ``epoch_count`` and ``first_epoch_num``), so stages have keys of their own.
STAGE_START = "stage_start"
STAGE_STOP = "stage_stop"
STAGE_RESUMED = "stage_resumed"
RESUMED_FROM = "resumed_from"
"""The earlier log (relative to the run folder) whose completed stages this invocation reuses."""

# The HPC rules' key for a lower-is-better metric (CosmoFlow's MAE, OpenCatalyst's force
# error); ``eval_accuracy`` is higher-is-better and never holds a loss. mllog 4.1 has no
# constant for it.
EVAL_ERROR = "eval_error"

# Caller file names are logged relative to the checkout, never as absolute local paths.
_SOURCE_ROOT = Path(__file__).resolve().parents[2]


def read_events(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Parse an event log back into its JSON records."""
    records = []
    for line in Path(path).read_text().splitlines():
        if line.startswith(":::MLLOG "):
            records.append(json.loads(line[len(":::MLLOG ") :]))
    return records


def archive_log(path: str | os.PathLike[str]) -> Path | None:
    """Move an earlier invocation's log into ``logs/``, named by when it started; None if none.

    Nothing is lost and nothing is mixed: the earlier log keeps its bytes under a new name.
    """
    path = Path(path)
    if not path.exists():
        return None
    records = read_events(path)
    started = records[0]["time_ms"] / 1000 if records else path.stat().st_mtime
    stamp = datetime.fromtimestamp(started, UTC).strftime("%Y%m%dT%H%M%SZ")
    folder = path.parent / EARLIER_LOGS
    folder.mkdir(exist_ok=True)
    target = folder / f"{path.stem}-{stamp}{path.suffix}"
    suffix = 1
    while target.exists():
        target = folder / f"{path.stem}-{stamp}-{suffix}{path.suffix}"
        suffix += 1
    path.rename(target)
    return target


class EventLog:
    """One invocation's event log; ranks other than 0 log nothing, so a log has one writer at a time.

    ``fresh=True`` starts the invocation's log (an earlier log at ``path`` is archived first,
    see ``archived``); the default joins the log an enclosing invocation started, or starts
    one when a training script runs on its own.
    """

    def __init__(self, path: str | os.PathLike[str], rank: int = 0, *, fresh: bool = False) -> None:
        self.path = Path(path)
        self.rank = rank
        self.archived: Path | None = None
        self._logger: MLLogger | None = None
        if rank == 0:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if fresh:
                self.archived = archive_log(self.path)
                self.path.touch(exist_ok=False)
            base = logging.getLogger(f"ai4s.mllog.{id(self)}")
            base.propagate = False
            base.setLevel(logging.INFO)
            handler = logging.FileHandler(self.path, mode="a")
            handler.setFormatter(logging.Formatter("%(message)s"))
            base.addHandler(handler)
            self._handler = handler
            self._logger = MLLogger(logger=base, default_stack_offset=2,
                                    root_dir=re.escape(str(_SOURCE_ROOT)))

    def event(self, key: str, value: Any = None, **metadata: Any) -> None:
        if self._logger:
            self._logger.event(key=key, value=value, metadata=metadata or None)

    def start(self, key: str, value: Any = None, **metadata: Any) -> None:
        if self._logger:
            self._logger.start(key=key, value=value, metadata=metadata or None)

    def end(self, key: str, value: Any = None, **metadata: Any) -> None:
        if self._logger:
            self._logger.end(key=key, value=value, metadata=metadata or None)

    def close(self) -> None:
        if self._logger:
            self._handler.close()
            self._logger.logger.removeHandler(self._handler)
            self._logger = None
