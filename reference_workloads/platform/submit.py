"""``ai4s submit``: create each stage's object once its upstream stage succeeded, follow it
(queued, admitted, running, done), stream its pods' logs when it fails, collect the run's
results from the data layer, and on Ctrl-C delete what was created.

Artifacts travel through the S3 data layer (``S3Artifacts``): the submitter writes the
submission record to the run's prefix before the first stage and downloads everything
under it (results, manifest, crate) after the last.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from .objects import StageObject

PHASES = ("queued", "admitted", "running", "done", "failed")
TIMED_OUT = "timed-out"


def _conditions(obj: Mapping[str, Any]) -> dict[str, str]:
    return {c.get("type"): c.get("status") for c in ((obj.get("status") or {}).get("conditions") or [])}


def phase(obj: Mapping[str, Any] | None) -> str:
    """Where an object is: queued (Kueue holds it suspended), admitted, running, done or failed."""
    if obj is None:
        return "queued"
    status, kind, conditions = obj.get("status") or {}, obj.get("kind"), _conditions(obj)
    if kind == "TrainJob":
        if conditions.get("Failed") == "True":
            return "failed"
        if conditions.get("Complete") == "True":
            return "done"
        if not status or conditions.get("Suspended") == "True":
            return "queued"
        active = any((j.get("active") or 0) > 0 for j in status.get("jobsStatus") or [])
        return "running" if active else "admitted"
    if kind == "RayJob":
        deployment = status.get("jobDeploymentStatus") or ""
        if deployment == "Complete":
            return "done" if status.get("jobStatus") == "SUCCEEDED" else "failed"
        return {"Failed": "failed", "Running": "running", "Initializing": "admitted"}.get(deployment, "queued")
    if kind == "InferenceService":
        if conditions.get("Ready") == "True":
            return "done"
        if ((status.get("modelStatus") or {}).get("states") or {}).get("targetModelState") == "FailedToLoad":
            return "failed"
        return "running" if conditions else "queued"
    raise ValueError(f"kind={kind!r} is invalid: submit follows TrainJob, RayJob and InferenceService")


def pod_selector(manifest: Mapping[str, Any]) -> str:
    """The label selector of the pods an object's controller creates."""
    name = manifest["metadata"]["name"]
    return {"TrainJob": f"jobset.sigs.k8s.io/jobset-name={name}",
            "RayJob": f"ray.io/originated-from-cr-name={name}",
            "InferenceService": f"serving.kserve.io/inferenceservice={name}"}[manifest["kind"]]


class Api(Protocol):
    def get(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> dict | None: ...
    def create(self, manifest: Mapping[str, Any]) -> dict: ...
    def delete(self, manifest: Mapping[str, Any]) -> None: ...
    def logs(self, namespace: str, selector: str, *, tail_lines: int = 50) -> dict[str, str]: ...


class Artifacts(Protocol):
    """The run's prefix in the data layer."""

    def put(self, run_id: str, name: str, data: bytes) -> None: ...
    def collect(self, run_id: str, dest: Path) -> list[Path]: ...


@dataclass(kw_only=True, frozen=True, slots=True)
class S3Artifacts:
    """``s3://<bucket>/<prefix>/<run id>/`` through boto3 (endpoint and keys from AWS_* variables)."""

    bucket: str
    prefix: str
    endpoint_url: str | None = None

    def _client(self):
        import boto3

        return boto3.client("s3", endpoint_url=self.endpoint_url)

    def _key(self, run_id: str, name: str = "") -> str:
        return "/".join(p for p in (self.prefix.strip("/"), run_id, name) if p)

    def put(self, run_id: str, name: str, data: bytes) -> None:
        self._client().put_object(Bucket=self.bucket, Key=self._key(run_id, name), Body=data)

    def collect(self, run_id: str, dest: Path) -> list[Path]:
        client, base = self._client(), self._key(run_id) + "/"
        written = []
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=base):
            for item in page.get("Contents") or []:
                relative = item["Key"][len(base):]
                if not relative or ".." in Path(relative).parts:
                    continue
                path = Path(dest) / relative
                path.parent.mkdir(parents=True, exist_ok=True)
                client.download_file(self.bucket, item["Key"], str(path))
                written.append(path)
        return sorted(written)


@dataclass(kw_only=True)
class SubmitResult:
    """How a submission ended: done, failed (with the failed stage's logs), cancelled or timed-out."""

    outcome: str
    phases: dict[str, str] = field(default_factory=dict)
    failed_stage: str | None = None
    logs: dict[str, str] = field(default_factory=dict)
    collected: list[Path] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)


def submit(api: Api, stages: Sequence[StageObject], *, run_id: str, artifacts: Artifacts, dest: Path,
           submission: Mapping[str, Any], on_phase: Callable[[str, str], None] = lambda stage, phase: None,
           poll_s: float = 5.0, timeout_s: float = 24 * 3600, sleep: Callable[[float], None] = time.sleep,
           clock: Callable[[], float] = time.monotonic) -> SubmitResult:
    """Run ``stages`` in order on the cluster; Ctrl-C deletes everything this call created."""
    result = SubmitResult(outcome="done")
    created: list[Mapping[str, Any]] = []
    deadline = clock() + timeout_s
    try:
        artifacts.put(run_id, "submission.json", json.dumps(submission, indent=1, sort_keys=True).encode())
        succeeded: set[str] = set()
        for stage in stages:
            waiting = [a for a in stage.after if a not in succeeded]
            if waiting:
                raise ValueError(f"stage {stage.stage!r} reads {waiting}, which come later in the plan")
            api.create(stage.manifest)
            created.append(stage.manifest)
            final = _follow(api, stage, result.phases, on_phase, poll_s, deadline, sleep, clock)
            if final != "done":
                result.outcome, result.failed_stage = ("failed" if final == "failed" else TIMED_OUT), stage.stage
                meta = stage.manifest["metadata"]
                result.logs = api.logs(meta["namespace"], pod_selector(stage.manifest))
                return result
            succeeded.add(stage.stage)
        result.collected = artifacts.collect(run_id, dest)
        return result
    except KeyboardInterrupt:
        for manifest in reversed(created):
            api.delete(manifest)
            result.deleted.append(f"{manifest['kind']} {manifest['metadata']['name']}")
        result.outcome = "cancelled"
        return result


def _follow(api: Api, stage: StageObject, phases: dict[str, str], on_phase: Callable[[str, str], None],
            poll_s: float, deadline: float, sleep: Callable[[float], None], clock: Callable[[], float]) -> str:
    meta = stage.manifest["metadata"]
    while True:
        now = phase(api.get(stage.manifest["apiVersion"], stage.manifest["kind"], meta["name"], meta["namespace"]))
        if phases.get(stage.stage) != now:
            phases[stage.stage] = now
            on_phase(stage.stage, now)
        if now in ("done", "failed"):
            return now
        if clock() > deadline:
            return TIMED_OUT
        sleep(poll_s)
