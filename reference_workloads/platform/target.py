"""What a platform stack offers one team, read from the stack's outputs (``outputs.json``).

The keys are the stack's output keys (``infra/outputs.py``); they are repeated here as
strings because workloads import nothing of the platform layer, and a test keeps the two
in step.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DEFAULT_TEAMS = {"climate": "climate", "drug-discovery": "drug-discovery"}
"""The team each workload belongs to unless ``--team`` says otherwise."""
DEFAULT_PRIORITY = "batch"
"""The WorkloadPriorityClass of a submitted pipeline: below interactive, above backfill."""
MPI_RUNTIME = "ai4s-mpi"
TORCH_RUNTIME = "ai4s-torch-distributed"
ARTIFACTS_BUCKET = "artifacts"
"""The bucket whose ``<team>/`` prefix holds a run's stage artifacts."""

# the stack's output keys this module reads (infra/outputs.py)
OUTPUT_KEYS = ("localQueues", "workloadPriorityClasses", "trainingRuntimes", "s3Endpoint",
               "s3Buckets", "s3CredentialsSecret", "trackingUris", "otlpEndpoint",
               "inferenceUrlTemplate", "rayOperatorNamespace")


class TargetError(ValueError):
    """The stack offers the team nothing to run on (no queue, runtime or bucket)."""


@dataclass(kw_only=True, frozen=True, slots=True)
class PlatformTarget:
    """One team's place on one stack."""

    stack: str
    team: str
    namespace: str
    """The team's namespace, e.g. ``team-climate``."""
    local_queue: str
    """The team's Kueue LocalQueue in that namespace."""
    priority_class: str
    """A WorkloadPriorityClass the stack defines."""
    runtimes: tuple[str, ...]
    """ClusterTrainingRuntimes the stack installs."""
    s3_endpoint: str
    storage: str
    """``s3://<bucket>/<team>``: the team's prefix for run artifacts."""
    credentials_secret: str
    """The Secret in the team namespace holding the AWS_* variables."""
    tracking_uri: str
    otlp_endpoint: str
    inference_url_template: str


def _need(outputs: Mapping[str, Any], key: str, stack: str) -> Any:
    if key not in outputs:
        raise TargetError(f"stack {stack!r}: outputs have no {key!r}; render the stack with this kit's infra")
    return outputs[key]


def target_from_outputs(outputs: Mapping[str, Any], *, stack: str, team: str,
                        priority_class: str = DEFAULT_PRIORITY) -> PlatformTarget:
    """The team's target on a stack whose outputs are ``outputs``; one-line error if it has none."""
    queues = [q for q in _need(outputs, "localQueues", stack) if q.startswith(f"team-{team}/")]
    own = [q for q in queues if q == f"team-{team}/{team}"] or queues
    if not own:
        known = sorted({q.split("/", 1)[0].removeprefix("team-") for q in outputs["localQueues"]})
        raise TargetError(f"team={team!r} is invalid: stack {stack!r} has LocalQueues for teams {known}")
    priorities = _need(outputs, "workloadPriorityClasses", stack)
    if priority_class not in priorities:
        raise TargetError(f"priority={priority_class!r} is invalid: stack {stack!r} defines {sorted(priorities)}")
    buckets = _need(outputs, "s3Buckets", stack)
    if ARTIFACTS_BUCKET not in buckets:
        raise TargetError(f"stack {stack!r} has no {ARTIFACTS_BUCKET!r} bucket (it has {buckets})")
    tracking = _need(outputs, "trackingUris", stack)
    if team not in tracking:
        raise TargetError(f"stack {stack!r} has no MLflow tracking server for team {team!r}")
    namespace, queue = own[0].split("/", 1)
    return PlatformTarget(
        stack=stack, team=team, namespace=namespace, local_queue=queue, priority_class=priority_class,
        runtimes=tuple(_need(outputs, "trainingRuntimes", stack)),
        s3_endpoint=_need(outputs, "s3Endpoint", stack),
        storage=f"s3://{ARTIFACTS_BUCKET}/{team}",
        credentials_secret=_need(outputs, "s3CredentialsSecret", stack),
        tracking_uri=tracking[team],
        otlp_endpoint=_need(outputs, "otlpEndpoint", stack),
        inference_url_template=_need(outputs, "inferenceUrlTemplate", stack),
    )


def load_outputs(path: Path) -> dict[str, Any]:
    """A stack's ``outputs.json`` as ``ai4s platform render`` writes it."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise TargetError(f"outputs={str(path)!r} is invalid: no such file; "
                          "write it with `ai4s platform render --stack S --out DIR`") from None
