"""Quotas as a property of a rendered stack: whatever Kueue admits also runs.

Kueue admits a workload on its pods' requests against the ClusterQueues its LocalQueue
feeds; the pods are created only afterwards, and the namespace ResourceQuota can still
reject them, in which case Kueue evicts and requeues the workload, again and again. So,
for every namespace whose jobs Kueue admits before their pods exist:

- `quota-covers-kueue`: the ResourceQuota's `requests.<r>` is at least the most all of
  the namespace's ClusterQueues can admit of `r` (nominal quota plus what each may borrow
  in its cohort), and no `limits.<r>` is capped (Kueue never looks at limits);
- `runtime-fits`: a TrainJob that sets no resources (every runtime's defaults, times its
  pods) is admissible within the smallest nominal quota of the namespaces that may use
  it, and each container's defaults respect the namespace LimitRange;
- `limitrange-consistent`: LimitRange default requests do not exceed default limits;
- `flavors-disjoint`: two GPU flavors never select the same nodes (their node labels
  conflict on some key), or one GPU's capacity is admitted twice (whole and as MIG).

Namespaces where Kueue's `pod` integration manages plain pods (notebooks) are exempt
from the first rule: there a pod exists, gated, before admission, so a ResourceQuota
rejects it up front and never after admission; it may be tighter than Kueue on purpose.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

import yaml
from kubernetes.utils import parse_quantity

from infra.verify.findings import Finding, describe

GPU_PREFIX = "nvidia.com/"


def _q(value: Any) -> Decimal:
    return parse_quantity(str(value))


def _fmt(value: Decimal) -> str:
    return str(int(value)) if value == value.to_integral_value() else format(value.normalize(), "f")


def _of(objects: list[Mapping[str, Any]], kind: str) -> list[Mapping[str, Any]]:
    return [o for o in objects if o.get("kind") == kind]


def _name(obj: Mapping[str, Any]) -> str:
    return (obj.get("metadata") or {}).get("name", "")


def _ns(obj: Mapping[str, Any]) -> str:
    return (obj.get("metadata") or {}).get("namespace", "")


def nominal(cq: Mapping[str, Any]) -> dict[str, Decimal]:
    """Resource -> nominal quota of a ClusterQueue, summed over its flavors."""
    out: dict[str, Decimal] = {}
    for group in (cq.get("spec") or {}).get("resourceGroups") or []:
        for flavor in group.get("flavors") or []:
            for res in flavor.get("resources") or []:
                out[res["name"]] = out.get(res["name"], Decimal(0)) + _q(res["nominalQuota"])
    return out


def admissible(cq: Mapping[str, Any], cohort: list[Mapping[str, Any]]) -> dict[str, Decimal]:
    """Resource -> the most `cq` can ever admit: nominal plus, per flavor, what it may
    borrow (its borrowingLimit, at most what the rest of its cohort owns)."""
    others: dict[tuple[str, str], Decimal] = {}
    for other in cohort:
        if other is cq:
            continue
        for group in (other.get("spec") or {}).get("resourceGroups") or []:
            for flavor in group.get("flavors") or []:
                for res in flavor.get("resources") or []:
                    key = (flavor["name"], res["name"])
                    others[key] = others.get(key, Decimal(0)) + _q(res["nominalQuota"])
    out: dict[str, Decimal] = {}
    for group in (cq.get("spec") or {}).get("resourceGroups") or []:
        for flavor in group.get("flavors") or []:
            for res in flavor.get("resources") or []:
                lendable = others.get((flavor["name"], res["name"]), Decimal(0))
                limit = res.get("borrowingLimit")
                borrow = lendable if limit is None else min(_q(limit), lendable)
                out[res["name"]] = out.get(res["name"], Decimal(0)) + _q(res["nominalQuota"]) + borrow
    return out


def pod_managed_namespaces(releases: Iterable[Mapping[str, Any]]) -> set[str]:
    """Namespaces Kueue's `pod` integration manages, read from the Kueue release's config."""
    found: set[str] = set()
    for rel in releases:
        if rel.get("chart") not in ("kueue",) and not str(rel.get("chart", "")).endswith("/kueue"):
            continue
        raw = ((rel.get("values") or {}).get("managerConfig") or {}).get("controllerManagerConfigYaml")
        config = yaml.safe_load(raw or "") or {}
        if "pod" not in ((config.get("integrations") or {}).get("frameworks") or []):
            continue
        for expr in (config.get("managedJobsNamespaceSelector") or {}).get("matchExpressions") or []:
            if expr.get("key") == "kubernetes.io/metadata.name" and expr.get("operator") == "In":
                found.update(expr.get("values") or [])
    return found


def _runtime_pods(runtime: Mapping[str, Any]) -> list[tuple[int, list[Mapping[str, Any]]]]:
    """(pod count, containers) per replicated job of a training runtime's defaults."""
    spec = runtime.get("spec") or {}
    num_nodes = int((spec.get("mlPolicy") or {}).get("numNodes") or 1)
    out = []
    for job in ((spec.get("template") or {}).get("spec") or {}).get("replicatedJobs") or []:
        pod = ((job.get("template") or {}).get("spec") or {}).get("template", {}).get("spec") or {}
        # Trainer sizes the `node` job from mlPolicy.numNodes; others keep their replicas.
        count = num_nodes if job.get("name") == "node" else int(job.get("replicas") or 1)
        out.append((count, pod.get("containers") or []))
    return out


def _limit_range(objects: list[Mapping[str, Any]], ns: str) -> Mapping[str, Any]:
    for lr in _of(objects, "LimitRange"):
        if _ns(lr) == ns:
            for item in (lr.get("spec") or {}).get("limits") or []:
                if item.get("type") == "Container":
                    return item
    return {}


def _flavor_findings(objects: list[Mapping[str, Any]]) -> list[Finding]:
    gpu_flavors = set()
    for cq in _of(objects, "ClusterQueue"):
        for group in (cq.get("spec") or {}).get("resourceGroups") or []:
            if any(str(r).startswith(GPU_PREFIX) for r in group.get("coveredResources") or []):
                gpu_flavors.update(f["name"] for f in group.get("flavors") or [])
    flavors = {_name(f): (f.get("spec") or {}).get("nodeLabels") or {}
               for f in _of(objects, "ResourceFlavor") if _name(f) in gpu_flavors}
    found = []
    names = sorted(flavors)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            la, lb = flavors[a], flavors[b]
            if not any(k in lb and lb[k] != v for k, v in la.items()):
                found.append(Finding(object=f"ResourceFlavor {a}", message=(
                    f"[flavors-disjoint] selects the same nodes as ResourceFlavor {b} "
                    f"(node labels {la} vs {lb}); Kueue would admit one GPU twice")))
    return found


def check(objects: Iterable[Mapping[str, Any]], releases: Iterable[Mapping[str, Any]] = ()) -> list[Finding]:
    """Every way an admitted workload could fail to run (empty: an admitted job always fits)."""
    objects = list(objects)
    cqs = {_name(cq): cq for cq in _of(objects, "ClusterQueue")}
    cohorts: dict[str, list[Mapping[str, Any]]] = {}
    for cq in cqs.values():
        cohort = (cq.get("spec") or {}).get("cohortName")
        cohorts.setdefault(cohort or f"<alone:{_name(cq)}>", []).append(cq)

    def cohort_of(cq: Mapping[str, Any]) -> list[Mapping[str, Any]]:
        return cohorts[(cq.get("spec") or {}).get("cohortName") or f"<alone:{_name(cq)}>"]

    queues_by_ns: dict[str, set[str]] = {}
    for lq in _of(objects, "LocalQueue"):
        queues_by_ns.setdefault(_ns(lq), set()).add((lq.get("spec") or {}).get("clusterQueue"))
    exempt = pod_managed_namespaces(releases)
    quotas = {_ns(rq): rq for rq in _of(objects, "ResourceQuota")}
    found: list[Finding] = []
    for ns, names in sorted(queues_by_ns.items()):
        if ns in exempt:
            continue
        most: dict[str, Decimal] = {}
        for name in names:
            if name in cqs:
                for r, v in admissible(cqs[name], cohort_of(cqs[name])).items():
                    most[r] = most.get(r, Decimal(0)) + v
        rq = quotas.get(ns)
        hard = ((rq or {}).get("spec") or {}).get("hard") or {}
        where = describe(rq, api_version=False) if rq else f"namespace {ns}"
        for key in sorted(hard):
            if key.startswith("limits."):
                found.append(Finding(object=where, message=(
                    f"[quota-covers-kueue] hard.{key} caps limits, but Kueue admits on requests; "
                    "pods of admitted jobs would be rejected")))
        for r, v in sorted(most.items()):
            cap = hard.get(f"requests.{r}", hard.get(r))
            if cap is not None and _q(cap) < v:
                found.append(Finding(object=where, message=(
                    f"[quota-covers-kueue] hard.requests.{r} is {cap}, but its ClusterQueues "
                    f"{sorted(names)} may admit {_fmt(v)}")))
    found += _runtime_findings(objects, cqs, queues_by_ns, exempt)
    for lr in _of(objects, "LimitRange"):
        for item in (lr.get("spec") or {}).get("limits") or []:
            for r, req in (item.get("defaultRequest") or {}).items():
                lim = (item.get("default") or {}).get(r)
                if lim is not None and _q(req) > _q(lim):
                    found.append(Finding(object=describe(lr, api_version=False), message=(
                        f"[limitrange-consistent] defaultRequest.{r} {req} exceeds default.{r} {lim}")))
    return found + _flavor_findings(objects)


def _runtime_findings(objects, cqs, queues_by_ns, exempt) -> list[Finding]:
    found = []
    team_ns = {ns: names for ns, names in queues_by_ns.items() if ns not in exempt}
    for runtime in _of(objects, "ClusterTrainingRuntime"):
        total: dict[str, Decimal] = {}
        for count, containers in _runtime_pods(runtime):
            for c in containers:
                for r, v in ((c.get("resources") or {}).get("requests") or {}).items():
                    total[r] = total.get(r, Decimal(0)) + count * _q(v)
        for ns, names in sorted(team_ns.items()):
            # the team's own queue: the ClusterQueue named like a LocalQueue's target that
            # is in a cohort (offload queues stand alone and need explicit placement)
            own = [cqs[n] for n in names if n in cqs and (cqs[n].get("spec") or {}).get("cohortName")]
            for cq in own:
                quota = nominal(cq)
                for r, v in sorted(total.items()):
                    if r in quota and v > quota[r]:
                        found.append(Finding(object=f"ClusterTrainingRuntime {_name(runtime)}", message=(
                            f"[runtime-fits] a default job requests {_fmt(v)} {r}, more than ClusterQueue "
                            f"{_name(cq)}'s nominal {_fmt(quota[r])} (namespace {ns})")))
            limits = _limit_range(objects, ns)
            for _, containers in _runtime_pods(runtime):
                for c in containers:
                    for r, v in ((c.get("resources") or {}).get("limits") or {}).items():
                        top = (limits.get("max") or {}).get(r)
                        if top is not None and _q(v) > _q(top):
                            found.append(Finding(object=f"ClusterTrainingRuntime {_name(runtime)}", message=(
                                f"[runtime-fits] container {c.get('name')!r} limits {r} {v} over the "
                                f"LimitRange max {top} in {ns}")))
    return found
