"""Operator, live (CNCF robust_controller): the KubeRay operator the kit installs runs, and
the API server rejects an invalid RayCluster at admission (server-side dry run, so nothing
is created even when the check fails)."""

from __future__ import annotations

from typing import Any

from ..registry import Context, check, failed, verdict
from . import kube

RAY_GROUP, RAY_VERSION = "ray.io", "v1"
OPERATOR_SELECTOR = "app.kubernetes.io/name=kuberay-operator"
INVALID_RAYCLUSTER = {
    "apiVersion": f"{RAY_GROUP}/{RAY_VERSION}", "kind": "RayCluster",
    "metadata": {"name": "invalid"},
    # headGroupSpec.template must be a PodTemplateSpec; a string breaks the CRD schema
    "spec": {"headGroupSpec": {"rayStartParams": {}, "template": "not-a-pod-template"}},
}


def controller_verdict(*, ready_replicas: int | None, rejection_status: int | None) -> Any:
    """ready_replicas: of the operator Deployment (None: not installed); rejection_status:
    HTTP status the API server answered the invalid CR with (None: it was accepted)."""
    evidence = {"operator_ready_replicas": ready_replicas, "invalid_cr_http_status": rejection_status}
    if ready_replicas is None:
        return failed("the KubeRay operator is not installed", **evidence)
    if ready_replicas < 1:
        return failed("the KubeRay operator has no ready replica", **evidence)
    return verdict(rejection_status in (400, 422),
                   f"operator ready; an invalid RayCluster is rejected (HTTP {rejection_status})",
                   "the API server accepted an invalid RayCluster" if rejection_status is None
                   else f"unexpected HTTP {rejection_status} for an invalid RayCluster", **evidence)


def probe_controller(api: kube.Api) -> Any:
    deployments = api.apps.list_deployment_for_all_namespaces(label_selector=OPERATOR_SELECTOR).items
    ready = max((d.status.ready_replicas or 0 for d in deployments), default=None)
    if ready is None:
        return controller_verdict(ready_replicas=None, rejection_status=None)
    with kube.scratch_namespace(api, "ai4s-conf-ray") as ns:
        try:
            api.custom.create_namespaced_custom_object(RAY_GROUP, RAY_VERSION, ns, "rayclusters",
                                                       INVALID_RAYCLUSTER, dry_run="All")
            status = None
        except Exception as err:  # noqa: BLE001 - the HTTP status is the verdict
            status = kube.status_of(err)
            if status is None:
                raise
    return controller_verdict(ready_replicas=ready, rejection_status=status)


@check("AI4S-OPS-001")
def robust_controller(context: Context) -> Any:
    api = kube.connect(context)
    return probe_controller(api) if isinstance(api, kube.Api) else api
