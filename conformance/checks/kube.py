"""Shared pieces of the live cluster checks (kubernetes Python client).

Without a kubeconfig, or with a cluster that does not answer, a live check is `unknown`
with the reason (an environment error): nothing under test was observed, so it is neither
`failed` nor `skipped`, and a MUST left unknown makes the run incomplete. Every
live check works in a namespace of its own and deletes it (and any cluster-scoped object
it made) on the way out, also when it fails.
"""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from ..registry import Context, Result, unknown

PROBE_IMAGE = "docker.io/library/busybox:1.37.0"
"""Image of the probe pods: pinned, tiny, with a shell."""
ACCELERATOR_RESOURCES = ("nvidia.com/gpu", "amd.com/gpu")
PSS_RESTRICTED = {"pod-security.kubernetes.io/enforce": "restricted"}
CHECK_LABEL = {"ai4s.dev/conformance": "true"}
REACH_TIMEOUT_S = 10
SERVER_VERSION_CACHE = "kube.server_version"
"""Context cache key of the API server's version (for results.json)."""


@dataclass(kw_only=True, frozen=True, slots=True)
class Api:
    """The API groups the checks use (tests pass fakes with the same methods)."""

    core: Any
    """CoreV1Api."""
    apps: Any
    """AppsV1Api."""
    batch: Any
    """BatchV1Api."""
    custom: Any
    """CustomObjectsApi."""
    raw: Any = None
    """`get(path) -> dict | None` on any API path (None: not served), for the APIs the typed
    clients do not cover (Gateway API discovery, HPAs, metrics APIs)."""


class RawApi:
    """GET of an API-server path through the configured client; 404 is None."""

    def __init__(self, api_client: Any) -> None:
        self._client = api_client

    def get(self, path: str) -> dict | None:
        import json

        try:
            response = self._client.call_api(path, "GET", auth_settings=["BearerToken"],
                                             _preload_content=False, _request_timeout=REACH_TIMEOUT_S)
        except Exception as err:  # noqa: BLE001 - only "not served" is an answer; others re-raised
            if status_of(err) == 404:
                return None
            raise
        raw = response[0] if isinstance(response, tuple) else response
        return json.loads(raw.data)


def no_cluster() -> Result:
    return unknown("not assessed, no cluster: pass --kubeconfig PATH or set KUBECONFIG to run the "
                   "live checks", error_kind="environment")


def connect(context: Context) -> Api | Result:
    """An Api for the context's cluster, or the `unknown` Result saying why there is none."""
    if not context.kubeconfig:
        return no_cluster()
    cached = context.cache.get("kube.api")
    if cached is not None:
        return cached
    from kubernetes import client, config

    try:
        api_client = config.new_client_from_config(config_file=context.kubeconfig)
        version = client.VersionApi(api_client).get_code(_request_timeout=REACH_TIMEOUT_S)
    except Exception as err:  # noqa: BLE001 - any failure here means "cluster not reachable"
        found = unknown(f"not assessed, cluster not reachable with {context.kubeconfig}: "
                        f"{type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}",
                        error_kind="environment")
    else:
        context.cache[SERVER_VERSION_CACHE] = version.git_version
        found = Api(core=client.CoreV1Api(api_client), apps=client.AppsV1Api(api_client),
                    batch=client.BatchV1Api(api_client), custom=client.CustomObjectsApi(api_client),
                    raw=RawApi(api_client))
    context.cache["kube.api"] = found
    return found


def status_of(err: Exception) -> int | None:
    """HTTP status of a kubernetes ApiException (or a fake with `.status`)."""
    return getattr(err, "status", None)


def _ignore_missing(call: Any, *args: Any, **kwargs: Any) -> None:
    try:
        call(*args, **kwargs)
    except Exception as err:  # noqa: BLE001 - only 404 is expected; others re-raised
        if status_of(err) != 404:
            raise


@contextlib.contextmanager
def scratch_namespace(api: Api, prefix: str, labels: dict[str, str] | None = None) -> Iterator[str]:
    """A fresh namespace `prefix-xxxxxx` (PSS restricted), deleted on exit whatever happens."""
    name = f"{prefix}-{uuid.uuid4().hex[:6]}"
    api.core.create_namespace({"apiVersion": "v1", "kind": "Namespace", "metadata": {
        "name": name, "labels": {**PSS_RESTRICTED, **CHECK_LABEL, **(labels or {})}}})
    try:
        yield name
    finally:
        _ignore_missing(api.core.delete_namespace, name)


@contextlib.contextmanager
def cluster_object(api: Api, group: str, version: str, plural: str, body: dict) -> Iterator[dict]:
    """A cluster-scoped custom object, deleted on exit."""
    made = api.custom.create_cluster_custom_object(group, version, plural, body)
    try:
        yield made
    finally:
        _ignore_missing(api.custom.delete_cluster_custom_object, group, version, plural,
                        body["metadata"]["name"])


def restricted_container(name: str, command: list[str], cpu: str = "50m") -> dict:
    """A container that PSS "restricted" admits."""
    return {
        "name": name, "image": PROBE_IMAGE, "command": command,
        "securityContext": {"allowPrivilegeEscalation": False, "runAsNonRoot": True,
                            "runAsUser": 65534, "capabilities": {"drop": ["ALL"]},
                            "seccompProfile": {"type": "RuntimeDefault"}},
        "resources": {"requests": {"cpu": cpu, "memory": "16Mi"},
                      "limits": {"cpu": cpu, "memory": "16Mi"}},
    }


def restricted_pod(name: str, command: list[str], node_name: str | None = None) -> dict:
    spec: dict[str, Any] = {"restartPolicy": "Never", "containers": [restricted_container(name, command)]}
    if node_name:
        spec["nodeName"] = node_name
        # accelerator nodes are usually tainted; the probe must land there anyway
        spec["tolerations"] = [{"operator": "Exists"}]
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": CHECK_LABEL},
            "spec": spec}


def accelerator_nodes(api: Api) -> list[str]:
    """Nodes that advertise an allocatable accelerator."""
    found = []
    for node in api.core.list_node().items:
        allocatable = node.status.allocatable or {}
        if any(int(str(allocatable.get(r, "0")) or 0) > 0 for r in ACCELERATOR_RESOURCES):
            found.append(node.metadata.name)
    return sorted(found)


def run_pods(api: Api, namespace: str, pods: list[dict], *, timeout_s: float,
             poll_s: float = 2.0) -> list[str | None]:
    """Create every pod, then wait until each finishes; their logs in order (None: a pod
    did not finish). Created together, the pods run at the same time."""
    for pod in pods:
        api.core.create_namespaced_pod(namespace, pod)
    names = [pod["metadata"]["name"] for pod in pods]
    logs: dict[str, str] = {}
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for name in names:
            if name not in logs and api.core.read_namespaced_pod(name, namespace).status.phase in ("Succeeded", "Failed"):
                logs[name] = api.core.read_namespaced_pod_log(name, namespace)
        if len(logs) == len(names):
            break
        time.sleep(poll_s)
    return [logs.get(name) for name in names]


def run_pod(api: Api, namespace: str, pod: dict, *, timeout_s: float, poll_s: float = 2.0) -> str | None:
    """Create the pod, wait until it finishes, return its log (None if it did not finish)."""
    return run_pods(api, namespace, [pod], timeout_s=timeout_s, poll_s=poll_s)[0]


def prometheus_get(api: Api, endpoint: str, params: dict[str, str] | None = None) -> dict:
    """GET an HTTP API endpoint (e.g. `api/v1/query`) of the Prometheus the operator runs
    (service prometheus-operated), through the API server's service proxy, so neither a
    port-forward nor an ingress is needed."""
    import json

    services = api.core.list_service_for_all_namespaces(label_selector="operated-prometheus=true").items
    if not services:
        raise LookupError("no Prometheus (service prometheus-operated) runs on the cluster")
    svc = services[0].metadata
    response = api.core.api_client.call_api(
        f"/api/v1/namespaces/{svc.namespace}/services/{svc.name}:web/proxy/{endpoint.lstrip('/')}",
        "GET", query_params=list((params or {}).items()), auth_settings=["BearerToken"],
        _preload_content=False, _request_timeout=REACH_TIMEOUT_S)
    raw = response[0] if isinstance(response, tuple) else response
    return json.loads(raw.data)


def conditions_true(obj: dict, kind: str) -> bool:
    """Whether the object's status carries condition `kind` with status True."""
    return any(c.get("type") == kind and c.get("status") == "True"
               for c in (obj.get("status") or {}).get("conditions") or [])


def list_custom(api: Api, group: str, version: str, plural: str) -> list[dict] | None:
    """Every object of a custom resource across namespaces, or None when its API is not served."""
    try:
        return api.custom.list_cluster_custom_object(group, version, plural).get("items", [])
    except Exception as err:  # noqa: BLE001 - only "not served" is an answer; others re-raised
        if status_of(err) == 404:
            return None
        raise


def live(context: Context, probe: Any) -> Result:
    """`probe(api)` on the context's cluster, or the `unknown` Result saying why there is none."""
    api = connect(context)
    return probe(api) if isinstance(api, Api) else api
