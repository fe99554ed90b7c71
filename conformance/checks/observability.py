"""Observability, live: accelerator metrics per accelerator node, and workload metrics
scraped by the monitoring system (CNCF accelerator_metrics, ai_service_metrics). Both read
the cluster's Prometheus through the API server's service proxy."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..registry import Context, check, failed, not_applicable, verdict
from . import kube

ACCELERATOR_SERIES = {
    "utilisation": "DCGM_FI_DEV_GPU_UTIL",
    "memory_used": "DCGM_FI_DEV_FB_USED",
}
"""DCGM exporter names of what CNCF asks for (OpenTelemetry hw.gpu.* map onto these)."""
SYSTEM_NAMESPACES = {"kube-system", "kube-public", "kube-node-lease", "monitoring",
                     "kueue-system", "gpu-operator", "cert-manager"}


def series_nodes(response: dict) -> set[str]:
    """Node names carried by an instant-query answer (DCGM labels them Hostname)."""
    found = set()
    for sample in (response.get("data") or {}).get("result") or []:
        labels = sample.get("metric") or {}
        node = labels.get("Hostname") or labels.get("node") or labels.get("kubernetes_node")
        if node:
            found.add(node)
    return found


def accelerator_verdict(nodes: list[str], seen: dict[str, set[str]]) -> Any:
    """Every accelerator node must report every series in `ACCELERATOR_SERIES`."""
    if not nodes:
        return not_applicable("the cluster has no node with an allocatable accelerator")
    missing = {what: sorted(set(nodes) - seen.get(what, set())) for what in ACCELERATOR_SERIES}
    missing = {k: v for k, v in missing.items() if v}
    return verdict(not missing, f"utilisation and memory reported for all {len(nodes)} accelerator nodes",
                   f"accelerator metrics missing: {missing}", nodes=nodes, missing=missing,
                   series=ACCELERATOR_SERIES)


def targets_verdict(targets: Iterable[dict]) -> Any:
    """At least one scrape target outside the system namespaces must be up."""
    workload = [t for t in targets
                if (t.get("labels") or {}).get("namespace") not in SYSTEM_NAMESPACES
                and (t.get("labels") or {}).get("namespace")]
    up = [t for t in workload if t.get("health") == "up"]
    summary = sorted({f"{t['labels']['namespace']}/{t['labels'].get('job', '?')}" for t in up})
    if not workload:
        return failed("Prometheus discovers no workload scrape target outside the system namespaces",
                      workload_targets=0)
    return verdict(bool(up), f"{len(up)} workload scrape targets up", "no workload scrape target is up",
                   workload_targets=len(workload), up=summary[:20])


def _prometheus(api: kube.Api, endpoint: str, params: dict[str, str] | None = None) -> dict | Any:
    try:
        return kube.prometheus_get(api, endpoint, params)
    except LookupError as err:
        return failed(str(err))


@check("AI4S-OBS-001")
def accelerator_metrics(context: Context) -> Any:
    api = kube.connect(context)
    if not isinstance(api, kube.Api):
        return api
    nodes = kube.accelerator_nodes(api)
    if not nodes:
        return accelerator_verdict(nodes, {})
    seen = {}
    for what, series in ACCELERATOR_SERIES.items():
        answer = _prometheus(api, "api/v1/query", {"query": series})
        if not isinstance(answer, dict):
            return answer
        seen[what] = series_nodes(answer)
    return accelerator_verdict(nodes, seen)


@check("AI4S-OBS-002")
def ai_service_metrics(context: Context) -> Any:
    api = kube.connect(context)
    if not isinstance(api, kube.Api):
        return api
    answer = _prometheus(api, "api/v1/targets", {"state": "active"})
    if not isinstance(answer, dict):
        return answer
    return targets_verdict((answer.get("data") or {}).get("activeTargets") or [])
