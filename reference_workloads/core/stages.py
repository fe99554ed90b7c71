"""Resumable stages keyed by everything they read (Bazel's action keys, DVC's stage locks).

A stage's key is the sha256 of the recipe fields it declares (and only those: the stage
function sees a ``RecipeView`` that refuses any other field), the content identity of the
upstream results it consumes, the extra inputs it names (input files' content hashes,
seeds) and the code version. A stage is skipped only when its marker holds the same key and
its outputs exist. Its scratch folder (shards, checkpoints) is named by the key, so work
done under another identity is never picked up.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console

from .atomic import write_json
from .eventlog import STAGE_RESUMED, STAGE_START, STAGE_STOP, EventLog
from .identity import RecipeView, project
from .storage import MARKERS, LocalStorage, Storage, file_record, files_under, written_since
from .tracing import stage_span

console = Console(stderr=True)


def inputs_hash(inputs: dict[str, Any]) -> str:
    blob = json.dumps(inputs, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Stage:
    """One step of a workload: what it reads, what it consumes, what it writes."""

    name: str
    """Stage name; also the marker's name and the span's (``stage.<name>``)."""
    fn: Callable[[StageCall], dict[str, Any]]
    """The work; returns a JSON-ready result (paths relative to the run folder)."""
    reads: tuple[str, ...]
    """Recipe fields the stage reads: sections, dotted fields, or ``*`` for the whole recipe."""
    after: tuple[str, ...] = ()
    """Upstream stages whose results it consumes."""
    provides: tuple[str, ...] = ()
    """Result keys that name the stage's output content; downstream keys include them."""
    folder: str = ""
    """Output folder inside the run (or repeat) folder."""
    outputs: tuple[str, ...] = ()
    """Files inside ``folder`` that must exist for the stage to count as complete."""


@dataclass(frozen=True, slots=True)
class StageCall:
    """What a stage function receives."""

    recipe: RecipeView
    run_dir: Path
    folder: Path
    scratch: Path
    key: str
    code_version: str
    upstream: Mapping[str, dict[str, Any]]
    extra: Mapping[str, Any] = field(default_factory=dict)

    def relative(self, path: Path) -> str:
        """``path`` relative to the run folder, as results record it (runs can move)."""
        return str(Path(path).relative_to(self.run_dir))


def identity_of(stage: Stage, result: dict[str, Any]) -> dict[str, Any]:
    """The part of an upstream result that names its content."""
    missing = [k for k in stage.provides if k not in result]
    if missing:
        raise KeyError(f"stage {stage.name!r} result lacks {missing}: its provides names them")
    return {k: result[k] for k in stage.provides}


def stage_inputs(stage: Stage, recipe: Any, upstream_ids: Mapping[str, Any], extra: Mapping[str, Any],
                 code_version: str) -> dict[str, Any]:
    """Everything the stage's key hashes; a pure function, so the key can be checked without running."""
    return {"stage": stage.name, "reads": project(recipe, stage.reads), "upstream": dict(upstream_ids),
            "extra": dict(extra), "code": code_version}


def stage_key(stage: Stage, recipe: Any, upstream_ids: Mapping[str, Any], extra: Mapping[str, Any],
              code_version: str) -> str:
    return inputs_hash(stage_inputs(stage, recipe, upstream_ids, extra, code_version))


class StageRunner:
    """Runs the stages of one run folder, each at most once for the same inputs.

    A stage's completion marker is written only after its function returned, and its
    outputs are written atomically by the stage itself, so an interrupted run restarts at
    the first stage that did not finish.
    """

    def __init__(self, run_dir: str | os.PathLike[str], eventlog: EventLog, code_version: str = "",
                 storage: Storage | None = None) -> None:
        self.run_dir = Path(run_dir)
        self.eventlog = eventlog
        self.code_version = code_version
        self.markers = self.run_dir / MARKERS
        self.storage = storage or LocalStorage()

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
        if self.storage.remote and not self.storage.holds(name, record["inputs_hash"]) and "files" in record:
            # its upload was cut off after the local marker was written (or the bucket lost it)
            self.storage.publish(name, record, self.run_dir)
        return record.get("result")

    def fetched(self, name: str, inputs: dict[str, Any], outputs: Sequence[Path]) -> dict | None:
        """The result of a stage the bucket holds under this key, its files fetched into the run folder."""
        record = self.storage.fetch(name, inputs_hash(inputs), self.run_dir)
        if record is None or not all(Path(p).exists() for p in outputs):
            return None
        write_json(self._marker(name), record)
        return record.get("result")

    def run(
        self,
        name: str,
        fn: Callable[[], dict[str, Any]],
        *,
        inputs: dict[str, Any],
        outputs: Sequence[Path] = (),
        attributes: dict[str, Any] | None = None,
        span: str | None = None,
        folder: Path | None = None,
    ) -> dict[str, Any]:
        """Run ``fn`` unless stage ``name`` completed under ``inputs``, here or in the bucket.

        ``folder`` is where the stage writes its files: with remote storage, the files it wrote
        there are uploaded under its key before its marker; a stage without one publishes its
        marker alone (tracking writes to MLflow, not to the run folder).
        """
        done = self.completed(name, inputs, outputs)
        if done is None and self.storage.remote:
            done = self.fetched(name, inputs, outputs)
        if done is not None:
            console.print(f"[dim]stage {name}: already complete, skipped[/dim]")
            self.eventlog.event(STAGE_RESUMED, stage=name, stage_key=inputs_hash(inputs))
            return done
        console.print(f"[bold]stage {name}[/bold]")
        self.eventlog.start(STAGE_START, stage=name, stage_key=inputs_hash(inputs))
        before = files_under(folder) if folder is not None and self.storage.remote else {}
        started = time.perf_counter()
        with stage_span(f"stage.{span or name}", stage=name, **(attributes or {})) as opened:
            result = fn()
            seconds = time.perf_counter() - started
            opened.set_attribute("duration_s", seconds)
        self.eventlog.end(STAGE_STOP, stage=name, stage_key=inputs_hash(inputs), duration_s=round(seconds, 3))
        record = {"stage": name, "inputs_hash": inputs_hash(inputs), "inputs": inputs, "seconds": seconds,
                  "result": result}
        if self.storage.remote:
            # what it wrote, and its declared outputs even if it found them already in place
            written = set(written_since(before, folder)) if folder is not None else set()
            for output in map(Path, outputs):  # a declared output may be a folder (a Zarr store)
                written |= {Path(f) for f in files_under(output)} if output.is_dir() else (
                    {output} if output.exists() else set())
            record["files"] = file_record(self.run_dir, sorted(written))
        write_json(self._marker(name), record)
        self.storage.publish(name, record, self.run_dir)
        console.print(f"[green]stage {name}: done in {seconds:.1f} s[/green]")
        return result

    def run_stage(self, stage: Stage, recipe: Any, *, upstream: Mapping[str, dict[str, Any]] | None = None,
                  upstream_stages: Mapping[str, Stage] | None = None, extra: Mapping[str, Any] | None = None,
                  repeat: str = "", attributes: dict[str, Any] | None = None) -> dict[str, Any]:
        """Run ``stage`` for ``recipe`` unless a completed run under the same key exists.

        ``upstream`` maps each name in ``stage.after`` to that stage's result, and
        ``upstream_stages`` to its ``Stage`` (for what names its content). ``repeat`` names one
        of several instances of the stage (a training seed): its marker and folder are its own.
        """
        upstream, upstream_stages, extra = dict(upstream or {}), dict(upstream_stages or {}), dict(extra or {})
        if sorted(upstream) != sorted(stage.after) or sorted(upstream_stages) != sorted(stage.after):
            raise ValueError(f"stage {stage.name!r} consumes {list(stage.after)}, got {sorted(upstream)}")
        ids = {name: identity_of(upstream_stages[name], result) for name, result in upstream.items()}
        inputs = stage_inputs(stage, recipe, ids, extra, self.code_version)
        key = inputs_hash(inputs)
        base = self.run_dir / "repeats" / repeat if repeat else self.run_dir
        folder = base / stage.folder if stage.folder else base
        label = f"{stage.name}@{repeat}" if repeat else stage.name
        call = StageCall(recipe=RecipeView(recipe, stage.reads, stage=stage.name), run_dir=self.run_dir,
                         folder=folder, scratch=self.run_dir / ".scratch" / stage.name / key[:16], key=key,
                         code_version=self.code_version, upstream=upstream, extra=extra)
        attributes = {**(attributes or {}), **({"repeat": repeat} if repeat else {})}
        return self.run(label, lambda: stage.fn(call), inputs=inputs,
                        outputs=[folder / o for o in stage.outputs], attributes=attributes, span=stage.name,
                        folder=folder if stage.folder else None)
