"""Structured event logs in the MLPerf format (``:::MLLOG {...}`` lines), rank 0 writing."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

from mlperf_logging.mllog import constants
from mlperf_logging.mllog.mllog import MLLogger

__all__ = ["EventLog", "constants", "read_events"]


class EventLog:
    """One run's event log; ranks other than 0 log nothing, so a log has one writer."""

    def __init__(self, path: str | os.PathLike[str], rank: int = 0) -> None:
        self.path = Path(path)
        self.rank = rank
        self._logger: MLLogger | None = None
        if rank == 0:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            base = logging.getLogger(f"ai4s.mllog.{id(self)}")
            base.propagate = False
            base.setLevel(logging.INFO)
            handler = logging.FileHandler(self.path, mode="a")
            handler.setFormatter(logging.Formatter("%(message)s"))
            base.addHandler(handler)
            self._handler = handler
            self._logger = MLLogger(logger=base, default_stack_offset=2)

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


def read_events(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Parse an event log back into its JSON records."""
    records = []
    for line in Path(path).read_text().splitlines():
        if line.startswith(":::MLLOG "):
            records.append(json.loads(line[len(":::MLLOG ") :]))
    return records
