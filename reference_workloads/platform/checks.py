"""The workload rules every rendered object must pass, beside the stacks' schema and policy checks.

- `queue-label`: the Kueue queue label names a LocalQueue of the object's namespace;
- `priority-class`: the priority label names a WorkloadPriorityClass the stack defines;
- `image-digest`: every image the object names (TrainJob trainer, pod containers) is
  pinned by digest, so a run is reproducible from its manifest (a TrainJob's image is not
  in a pod spec, so the stack policy cannot see it);
- `fits-quota`: the object's total requests fit its ClusterQueue's nominal quota plus
  borrowing on some flavor, or Kueue would never admit it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from .objects import PRIORITY_LABEL, QUEUE_LABEL
from .quota import fit_problems, object_requests


@dataclass(kw_only=True, frozen=True, slots=True)
class Finding:
    """One broken rule of one object, or one failed pre-flight check."""

    rule: str
    object: str
    message: str
    """What is wrong and what to do about it, in one line."""

    def __str__(self) -> str:
        return f"[{self.rule}] {self.object}: {self.message}"


def _name(obj: Mapping[str, Any]) -> str:
    meta = obj.get("metadata") or {}
    return f"{obj.get('kind')} {meta.get('namespace', '')}/{meta.get('name', '?')}"


def images(node: Any) -> Iterator[str]:
    """Every ``image`` string anywhere in a manifest."""
    if isinstance(node, Mapping):
        for key, value in node.items():
            if key == "image" and isinstance(value, str):
                yield value
            else:
                yield from images(value)
    elif isinstance(node, list):
        for item in node:
            yield from images(item)


def check_objects(workload: Iterable[Mapping[str, Any]], stack: Iterable[Mapping[str, Any]]) -> list[Finding]:
    """Findings of the workload objects against the stack's objects (empty: all rules pass)."""
    stack = list(stack)
    local_queues = {((o.get("metadata") or {}).get("namespace"), (o.get("metadata") or {}).get("name")): o
                    for o in stack if o.get("kind") == "LocalQueue"}
    cluster_queues = {(o.get("metadata") or {}).get("name"): o for o in stack if o.get("kind") == "ClusterQueue"}
    priorities = {(o.get("metadata") or {}).get("name") for o in stack if o.get("kind") == "WorkloadPriorityClass"}
    found: list[Finding] = []
    for obj in workload:
        name, meta = _name(obj), obj.get("metadata") or {}
        labels, ns = meta.get("labels") or {}, meta.get("namespace")
        queue = labels.get(QUEUE_LABEL)
        lq = local_queues.get((ns, queue))
        if lq is None:
            known = sorted(n for s, n in local_queues if s == ns)
            found.append(Finding(rule="queue-label", object=name, message=(
                f"label {QUEUE_LABEL}={queue!r} names no LocalQueue in {ns}; expected one of {known}")))
        if labels.get(PRIORITY_LABEL) not in priorities:
            found.append(Finding(rule="priority-class", object=name, message=(
                f"label {PRIORITY_LABEL}={labels.get(PRIORITY_LABEL)!r} is no WorkloadPriorityClass of the "
                f"stack; expected one of {sorted(priorities)}")))
        found += [Finding(rule="image-digest", object=name, message=(
                      f"image {image!r} is not pinned by digest; pass --image REPO@sha256:<digest>"))
                  for image in images(obj) if "@sha256:" not in image]
        cq = cluster_queues.get(((lq or {}).get("spec") or {}).get("clusterQueue"))
        if cq is not None:
            cohort = [c for c in cluster_queues.values()
                      if (c.get("spec") or {}).get("cohortName") == (cq.get("spec") or {}).get("cohortName")]
            found += [Finding(rule="fits-quota", object=name, message=problem)
                      for problem in fit_problems(object_requests(obj), cq, cohort)]
    return found
