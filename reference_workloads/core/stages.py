"""Resumable stages: a stage whose inputs have not changed and whose outputs exist is skipped."""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from rich.console import Console

from .atomic import write_json
from .eventlog import STAGE_RESUMED, STAGE_START, STAGE_STOP, EventLog
from .tracing import stage_span

console = Console(stderr=True)


def inputs_hash(inputs: dict[str, Any]) -> str:
    blob = json.dumps(inputs, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


class StageRunner:
    """Runs the stages of one run folder, each at most once for the same inputs.

    A stage's completion marker is written only after its function returned, and its
    outputs are written atomically by the stage itself, so an interrupted run restarts at
    the first stage that did not finish.
    """

    def __init__(self, run_dir: str | os.PathLike[str], eventlog: EventLog) -> None:
        self.run_dir = Path(run_dir)
        self.eventlog = eventlog
        self.markers = self.run_dir / ".stages"

    def _marker(self, name: str) -> Path:
        return self.markers / f"{name}.json"

    def completed(self, name: str, inputs: dict[str, Any], outputs: Sequence[Path]) -> dict | None:
        marker = self._marker(name)
        if not marker.exists():
            return None
        record = json.loads(marker.read_text())
        if record.get("inputs_hash") != inputs_hash(inputs):
            return None
        if not all(Path(p).exists() for p in outputs):
            return None
        return record.get("result")

    def run(
        self,
        name: str,
        fn: Callable[[], dict[str, Any]],
        *,
        inputs: dict[str, Any],
        outputs: Sequence[Path] = (),
        attributes: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        done = self.completed(name, inputs, outputs)
        if done is not None:
            console.print(f"[dim]stage {name}: already complete, skipped[/dim]")
            self.eventlog.event(STAGE_RESUMED, stage=name, stage_key=inputs_hash(inputs))
            return done
        console.print(f"[bold]stage {name}[/bold]")
        self.eventlog.start(STAGE_START, stage=name, stage_key=inputs_hash(inputs))
        started = time.perf_counter()
        with stage_span(f"stage.{name}", stage=name, **(attributes or {})) as span:
            result = fn()
            seconds = time.perf_counter() - started
            span.set_attribute("duration_s", seconds)
        self.eventlog.end(STAGE_STOP, stage=name, stage_key=inputs_hash(inputs), duration_s=round(seconds, 3))
        write_json(
            self._marker(name),
            {"stage": name, "inputs_hash": inputs_hash(inputs), "seconds": seconds, "result": result},
        )
        console.print(f"[green]stage {name}: done in {seconds:.1f} s[/green]")
        return result
