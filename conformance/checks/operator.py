"""Operator, live (CNCF robust_controller): the KubeRay operator the kit installs runs, the
API server rejects an invalid RayCluster at admission (server-side dry run, so nothing is
created even when the check fails), and a valid RayCluster is reconciled: the operator
creates its head pod (it need not start: the image pull is not what is under test). The
RayCluster and its namespace are deleted on the way out."""

from __future__ import annotations

import time
from typing import Any

from ..registry import Context, check, failed, verdict
from . import kube

RECONCILE_WAIT_S = 120

RAY_GROUP, RAY_VERSION = "ray.io", "v1"
OPERATOR_SELECTOR = "app.kubernetes.io/name=kuberay-operator"
INVALID_RAYCLUSTER = {
    "apiVersion": f"{RAY_GROUP}/{RAY_VERSION}", "kind": "RayCluster",
    "metadata": {"name": "invalid"},
    # headGroupSpec.template must be a PodTemplateSpec; a string breaks the CRD schema
    "spec": {"headGroupSpec": {"rayStartParams": {}, "template": "not-a-pod-template"}},
}


def valid_raycluster(name: str) -> dict:
    """The smallest RayCluster the operator reconciles: a head group only, PSS restricted.
    Its image is the probe image: the check waits for the pod object, not for Ray to start."""
    head = kube.restricted_container("ray-head", ["sleep", "60"])
    return {"apiVersion": f"{RAY_GROUP}/{RAY_VERSION}", "kind": "RayCluster",
            "metadata": {"name": name, "labels": kube.CHECK_LABEL},
            "spec": {"headGroupSpec": {"rayStartParams": {}, "template": {"spec": {"containers": [head]}}}}}


def controller_verdict(*, ready_replicas: int | None, rejection_status: int | None,
                       reconciled: bool | None = None) -> Any:
    """ready_replicas: of the operator Deployment (None: not installed); rejection_status:
    HTTP status the API server answered the invalid CR with (None: it was accepted);
    reconciled: whether the operator made the valid RayCluster's head pod (None: not tried)."""
    evidence = {"operator_ready_replicas": ready_replicas, "invalid_cr_http_status": rejection_status,
                "valid_cr_reconciled": reconciled}
    if ready_replicas is None:
        return failed("the KubeRay operator is not installed", **evidence)
    if ready_replicas < 1:
        return failed("the KubeRay operator has no ready replica", **evidence)
    if rejection_status not in (400, 422):
        return failed("the API server accepted an invalid RayCluster" if rejection_status is None
                      else f"unexpected HTTP {rejection_status} for an invalid RayCluster", **evidence)
    return verdict(bool(reconciled),
                   f"operator ready; an invalid RayCluster is rejected (HTTP {rejection_status}); "
                   "a valid one is reconciled into its head pod",
                   f"the operator did not reconcile a valid RayCluster within {RECONCILE_WAIT_S} s", **evidence)


def reconciles(api: kube.Api, namespace: str, wait_s: float, poll_s: float) -> bool:
    """Create a valid RayCluster and wait for the operator to create its head pod."""
    body = valid_raycluster("valid")
    api.custom.create_namespaced_custom_object(RAY_GROUP, RAY_VERSION, namespace, "rayclusters", body)
    deadline = time.monotonic() + wait_s
    while True:
        pods = api.core.list_namespaced_pod(namespace, label_selector="ray.io/cluster=valid").items
        if pods:
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(poll_s)


def probe_controller(api: kube.Api, wait_s: float = RECONCILE_WAIT_S, poll_s: float = 3.0) -> Any:
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
        reconciled = reconciles(api, ns, wait_s, poll_s) if status in (400, 422) else None
    # the namespace's deletion takes the RayCluster and its pods with it
    return controller_verdict(ready_replicas=ready, rejection_status=status, reconciled=reconciled)


@check("AI4S-OPS-001")
def robust_controller(context: Context) -> Any:
    api = kube.connect(context)
    return probe_controller(api) if isinstance(api, kube.Api) else api
