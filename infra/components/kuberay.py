"""KubeRay operator: RayJob and RayCluster for Ray-based workloads (Kueue-managed).

The operator is cluster-wide; RayClusters are created by teams in their own namespaces
and admitted by Kueue through the `ray.io/rayjob` and `ray.io/raycluster` integrations.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from infra.components.operator_release import operator_namespace, pinned_release
from infra.versions import pin

RESOURCES = {
    "requests": {"cpu": "100m", "memory": "256Mi"},
    "limits": {"cpu": "1", "memory": "1Gi"},
}


@dataclass(kw_only=True, frozen=True, slots=True)
class KubeRayArgs:
    """Inputs of the KubeRay component."""

    namespace: str = "kuberay-system"
    """Namespace of the operator."""


class KubeRay(pulumi.ComponentResource):
    """The KubeRay operator release."""

    def __init__(self, name: str, args: KubeRayArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("ai4s:kuberay:KubeRay", name, None, opts)
        self.namespace_name = args.namespace
        self.namespace = operator_namespace(self, name, args.namespace, "restricted")
        self.release = pinned_release(
            self,
            name,
            key="kuberay",
            release_name="kuberay-operator",
            namespace=args.namespace,
            values={
                "image": {
                    "repository": "quay.io/kuberay/operator",
                    "tag": pin("kuberay").app_version,
                    "pullPolicy": "IfNotPresent",
                },
                "resources": RESOURCES,
                # watch every namespace: teams create RayClusters in their own
                "singleNamespaceInstall": False,
            },
            depends_on=[self.namespace],
        )
        self.register_outputs({"namespace": args.namespace})
