"""Autoscaling, live (CNCF cluster_autoscaling and pod_autoscaling). These observe the
cluster's autoscalers; they do not yet run the upstream plans' scale-up with pending
accelerator pods. Without a cluster both are `unknown`; their decisions are tested
against an API test double only."""

from __future__ import annotations

from typing import Any

from ..registry import Context, Result, check, failed, not_applicable, unknown, verdict
from . import kube

CLUSTER_AUTOSCALER_SELECTOR = "app.kubernetes.io/name=cluster-autoscaler"
KARPENTER = ("karpenter.sh", "v1")
ACCELERATOR_KEYS = ("nvidia.com/gpu", "amd.com/gpu", "gpu")
"""A Karpenter NodePool offers accelerators when a requirement key or a limit names one."""
CUSTOM_METRICS_APIS = ("/apis/custom.metrics.k8s.io/v1beta2", "/apis/external.metrics.k8s.io/v1beta1")
CUSTOM_METRIC_TYPES = ("Pods", "Object", "External")


def _offers_accelerators(pool: dict) -> bool:
    spec = ((pool.get("spec") or {}).get("template") or {}).get("spec") or {}
    keys = [r.get("key", "") for r in spec.get("requirements") or []]
    keys += list((pool.get("spec") or {}).get("limits") or {})
    return any(k in key for key in keys for k in ACCELERATOR_KEYS)


def cluster_autoscaling_verdict(*, autoscaler_ready: int | None, node_pools: list[dict] | None,
                                accelerator_nodes: list[str]) -> Result:
    """autoscaler_ready: ready replicas of Cluster Autoscaler (None: not deployed);
    node_pools: Karpenter NodePools (None: Karpenter not served)."""
    if autoscaler_ready is None and node_pools is None:
        return not_applicable("the platform runs no cluster autoscaler (neither Cluster Autoscaler nor Karpenter)")
    evidence = {"cluster_autoscaler_ready": autoscaler_ready, "karpenter_node_pools": len(node_pools or []),
                "accelerator_nodes": accelerator_nodes}
    if node_pools is not None:
        gpu_pools = sorted((p.get("metadata") or {}).get("name", "") for p in node_pools if _offers_accelerators(p))
        return verdict(bool(gpu_pools), f"Karpenter NodePools offering accelerators: {gpu_pools}",
                       "no Karpenter NodePool offers accelerators", accelerator_pools=gpu_pools, **evidence)
    if not autoscaler_ready:
        return failed("the Cluster Autoscaler has no ready replica", **evidence)
    return verdict(bool(accelerator_nodes), "Cluster Autoscaler ready; accelerator nodes present",
                   "Cluster Autoscaler ready but the cluster has no accelerator node group to scale", **evidence)


@check("AI4S-SCALE-001")
def cluster_autoscaling(context: Context) -> Result:
    def probe(api: kube.Api) -> Result:
        deployments = api.apps.list_deployment_for_all_namespaces(label_selector=CLUSTER_AUTOSCALER_SELECTOR).items
        ready = max((d.status.ready_replicas or 0 for d in deployments), default=None)
        return cluster_autoscaling_verdict(autoscaler_ready=ready,
                                           node_pools=kube.list_custom(api, *KARPENTER, "nodepools"),
                                           accelerator_nodes=kube.accelerator_nodes(api))
    return kube.live(context, probe)


def pod_autoscaling_verdict(metrics_apis: list[str], hpas: list[dict]) -> Result:
    """A custom or external metrics API must be served and an HPA on such a metric active."""
    if not metrics_apis:
        return failed("neither the custom nor the external metrics API is served; an HPA cannot scale on "
                      "AI metrics", hpas=len(hpas))
    custom = [h for h in hpas if any(m.get("type") in CUSTOM_METRIC_TYPES for m in (h.get("spec") or {}).get("metrics") or [])]
    active = sorted(f"{(h.get('metadata') or {}).get('namespace')}/{(h.get('metadata') or {}).get('name')}"
                    for h in custom if kube.conditions_true(h, "ScalingActive"))
    evidence: dict[str, Any] = {"metrics_apis": metrics_apis, "hpas": len(hpas), "custom_metric_hpas": len(custom)}
    if not custom:
        return unknown("not assessed: no HorizontalPodAutoscaler on a custom metric to observe", **evidence)
    return verdict(bool(active), f"HPAs actively scaling on custom metrics: {active}",
                   "no HPA on a custom metric is actively scaling (ScalingActive is not True)",
                   active=active, **evidence)


@check("AI4S-SCALE-002")
def pod_autoscaling(context: Context) -> Result:
    def probe(api: kube.Api) -> Result:
        served = [path for path in CUSTOM_METRICS_APIS if api.raw.get(path) is not None]
        hpas = (api.raw.get("/apis/autoscaling/v2/horizontalpodautoscalers") or {}).get("items") or []
        return pod_autoscaling_verdict(served, hpas)
    return kube.live(context, probe)
