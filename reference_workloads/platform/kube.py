"""The seam to the Kubernetes API: the few calls pre-flight and submit make, over the
``kubernetes`` client. Objects travel as plain manifests (dicts) both ways.

Custom resources and CRDs go through the client's generic custom-objects API (a CRD is
itself an object of ``apiextensions.k8s.io/v1``), so no typed model has to round-trip
fields the kit does not know.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

PLURALS = {
    "TrainJob": "trainjobs", "ClusterTrainingRuntime": "clustertrainingruntimes", "RayJob": "rayjobs",
    "InferenceService": "inferenceservices", "LocalQueue": "localqueues", "ClusterQueue": "clusterqueues",
    "WorkloadPriorityClass": "workloadpriorityclasses", "CustomResourceDefinition": "customresourcedefinitions",
}


class ApiUnreachable(RuntimeError):
    """The API server did not answer (no route, refused, TLS or credentials failed)."""


def _split(api_version: str) -> tuple[str, str]:
    group, _, version = api_version.rpartition("/")
    return group, version


class KubeApi:
    """One cluster, from a kubeconfig file (its current context)."""

    def __init__(self, kubeconfig: str | Path, *, timeout_s: float = 10.0) -> None:
        from kubernetes import client, config

        try:
            self._client = config.new_client_from_config(config_file=str(kubeconfig))
        except (config.ConfigException, OSError) as error:
            raise ApiUnreachable(f"kubeconfig {str(kubeconfig)!r} is unusable: {error}") from None
        self._client.configuration.retries = 0
        self.host = self._client.configuration.host
        self._timeout = timeout_s
        self._custom = client.CustomObjectsApi(self._client)
        self._core = client.CoreV1Api(self._client)
        self._version = client.VersionApi(self._client)

    def version(self) -> str:
        try:
            return self._version.get_code(_request_timeout=self._timeout).git_version
        except Exception as error:  # noqa: BLE001 - any failure means: not reachable from here
            raise ApiUnreachable(f"{type(error).__name__}: {str(error).splitlines()[0][:200]}") from None

    def get(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> dict | None:
        """The object, or None when the API has no such object (or no such kind)."""
        from kubernetes.client.exceptions import ApiException

        group, version = _split(api_version)
        try:
            if namespace:
                return self._custom.get_namespaced_custom_object(group, version, namespace, PLURALS[kind], name,
                                                                 _request_timeout=self._timeout)
            return self._custom.get_cluster_custom_object(group, version, PLURALS[kind], name,
                                                          _request_timeout=self._timeout)
        except ApiException as error:
            if error.status == 404:
                return None
            raise

    def list(self, api_version: str, kind: str) -> list[dict]:
        """Every cluster-scoped object of a kind (empty when the kind is not served)."""
        from kubernetes.client.exceptions import ApiException

        group, version = _split(api_version)
        try:
            found = self._custom.list_cluster_custom_object(group, version, PLURALS[kind],
                                                            _request_timeout=self._timeout)
        except ApiException as error:
            if error.status == 404:
                return []
            raise
        return list(found.get("items") or [])

    def create(self, manifest: Mapping[str, Any]) -> dict:
        group, version = _split(manifest["apiVersion"])
        meta = manifest["metadata"]
        return self._custom.create_namespaced_custom_object(group, version, meta["namespace"],
                                                            PLURALS[manifest["kind"]], dict(manifest),
                                                            _request_timeout=self._timeout)

    def delete(self, manifest: Mapping[str, Any]) -> None:
        """Delete with its dependants (pods, JobSets) in the background; gone already is fine."""
        from kubernetes.client.exceptions import ApiException

        group, version = _split(manifest["apiVersion"])
        meta = manifest["metadata"]
        try:
            self._custom.delete_namespaced_custom_object(group, version, meta["namespace"],
                                                         PLURALS[manifest["kind"]], meta["name"],
                                                         propagation_policy="Background",
                                                         _request_timeout=self._timeout)
        except ApiException as error:
            if error.status != 404:
                raise

    def logs(self, namespace: str, selector: str, *, tail_lines: int = 50) -> dict[str, str]:
        """Pod name -> the last lines of its log, for the pods a selector matches."""
        pods = self._core.list_namespaced_pod(namespace, label_selector=selector, _request_timeout=self._timeout)
        return {pod.metadata.name: self._core.read_namespaced_pod_log(
                    pod.metadata.name, namespace, tail_lines=tail_lines, _request_timeout=self._timeout)
                for pod in pods.items}
