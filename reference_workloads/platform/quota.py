"""What a workload object asks of Kueue, and whether its ClusterQueue can ever admit it.

Kueue admits a workload on its pods' requests, all of one resource group on one flavor.
The most a flavor can give is its nominal quota plus what it may borrow in its cohort (its
borrowingLimit, at most what the other queues of the cohort own there). A request above
that waits forever; pre-flight and the render checks refuse it up front.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from kubernetes.utils import parse_quantity


def _q(value: Any) -> Decimal:
    return parse_quantity(str(value))


def _add(total: dict[str, Decimal], requests: Mapping[str, Any], count: int) -> None:
    for name, value in (requests or {}).items():
        total[name] = total.get(name, Decimal(0)) + count * _q(value)


def _containers_requests(pod: Mapping[str, Any], count: int, total: dict[str, Decimal]) -> None:
    for c in (pod or {}).get("containers") or []:
        _add(total, (c.get("resources") or {}).get("requests") or {}, count)


def object_requests(obj: Mapping[str, Any]) -> dict[str, Decimal]:
    """Resource -> the total a workload object's pods request (as Kueue counts it)."""
    kind, spec = obj.get("kind"), obj.get("spec") or {}
    total: dict[str, Decimal] = {}
    if kind == "TrainJob":
        trainer = spec.get("trainer") or {}
        # the MPI runtime runs its launcher as node 0, so numNodes pods in all
        _add(total, (trainer.get("resourcesPerNode") or {}).get("requests") or {}, int(trainer.get("numNodes") or 1))
    elif kind == "RayJob":
        cluster = spec.get("rayClusterSpec") or {}
        _containers_requests(((cluster.get("headGroupSpec") or {}).get("template") or {}).get("spec"), 1, total)
        for group in cluster.get("workerGroupSpecs") or []:
            _containers_requests((group.get("template") or {}).get("spec"), int(group.get("replicas") or 0), total)
        _containers_requests((spec.get("submitterPodTemplate") or {}).get("spec"), 1, total)
    elif kind == "InferenceService":
        predictor = spec.get("predictor") or {}
        _containers_requests(predictor, int(predictor.get("minReplicas") or 1), total)
    return total


def _borrowable(cohort: Iterable[Mapping[str, Any]], cq: Mapping[str, Any]) -> dict[tuple[str, str], Decimal]:
    """(flavor, resource) -> nominal quota the rest of the cohort owns."""
    out: dict[tuple[str, str], Decimal] = {}
    for other in cohort:
        if (other.get("metadata") or {}).get("name") == (cq.get("metadata") or {}).get("name"):
            continue
        for group in (other.get("spec") or {}).get("resourceGroups") or []:
            for flavor in group.get("flavors") or []:
                for res in flavor.get("resources") or []:
                    key = (flavor["name"], res["name"])
                    out[key] = out.get(key, Decimal(0)) + _q(res["nominalQuota"])
    return out


def flavor_capacity(cq: Mapping[str, Any], cohort: Iterable[Mapping[str, Any]]) -> dict[str, list[tuple[str, Decimal]]]:
    """Resource -> (flavor, nominal + borrowable) per flavor that covers it."""
    cohort = list(cohort)
    lendable = _borrowable(cohort, cq) if (cq.get("spec") or {}).get("cohortName") else {}
    out: dict[str, list[tuple[str, Decimal]]] = {}
    for group in (cq.get("spec") or {}).get("resourceGroups") or []:
        for flavor in group.get("flavors") or []:
            for res in flavor.get("resources") or []:
                others = lendable.get((flavor["name"], res["name"]), Decimal(0))
                limit = res.get("borrowingLimit")
                borrow = others if limit is None else min(_q(limit), others)
                out.setdefault(res["name"], []).append((flavor["name"], _q(res["nominalQuota"]) + borrow))
    return out


def fmt(value: Decimal, resource: str = "") -> str:
    """A quantity as a person reads it: memory in Gi, everything else as a plain number."""
    if resource == "memory":
        return f"{fmt(value / 2**30)}Gi"
    return str(int(value)) if value == value.to_integral_value() else format(value.normalize(), "f")


def fit_problems(requests: Mapping[str, Decimal], cq: Mapping[str, Any],
                 cohort: Iterable[Mapping[str, Any]]) -> list[str]:
    """Why ``requests`` can never be admitted by ``cq`` (empty when some flavor fits each)."""
    capacity = flavor_capacity(cq, cohort)
    name = (cq.get("metadata") or {}).get("name")
    problems = []
    for resource, amount in sorted(requests.items()):
        if amount == 0:
            continue
        offers = capacity.get(resource)
        if not offers:
            problems.append(f"requests {fmt(amount, resource)} {resource}, which ClusterQueue {name} does not cover; "
                            "use a stack whose queue offers it or lower the recipe's resources")
            continue
        best = max(v for _, v in offers)
        if amount > best:
            problems.append(f"requests {fmt(amount, resource)} {resource}, more than ClusterQueue {name} can ever "
                            f"admit ({fmt(best, resource)}: nominal quota plus borrowing limit); lower the "
                            "recipe's resources (--set resources.<stage>...) or raise the quota")
    return problems
