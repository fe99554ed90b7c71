"""The first two children of every operator component: its namespace and its pinned
Helm release (which installs the operator's CRDs and webhooks)."""

from __future__ import annotations

from collections.abc import Sequence

import pulumi
import pulumi_kubernetes as k8s

from infra.verify.policy import PSS_ENFORCE
from infra.versions import helm_chart

POD_SECURITY_LEVELS = ("restricted", "baseline", "privileged")


def operator_namespace(
    parent: pulumi.Resource,
    name: str,
    namespace: str,
    pod_security: str,
    labels: dict[str, str] | None = None,
) -> k8s.core.v1.Namespace:
    """`<name>-ns`: the operator's namespace at the given Pod Security level."""
    if pod_security not in POD_SECURITY_LEVELS:
        raise ValueError(
            f"pod_security: expected one of {POD_SECURITY_LEVELS}, got {pod_security!r}"
        )
    return k8s.core.v1.Namespace(
        f"{name}-ns",
        metadata={
            "name": namespace,
            "labels": {
                PSS_ENFORCE: pod_security,
                "app.kubernetes.io/part-of": "ai4s-platform",
                **(labels or {}),
            },
        },
        opts=pulumi.ResourceOptions(parent=parent),
    )


def pinned_release(
    parent: pulumi.Resource,
    name: str,
    *,
    key: str,
    release_name: str,
    namespace: str,
    values: dict,
    depends_on: Sequence[pulumi.Resource],
) -> k8s.helm.v3.Release:
    """`<name>-release`: the chart pinned under `key` in infra/versions.py."""
    return k8s.helm.v3.Release(
        f"{name}-release",
        **helm_chart(key),
        name=release_name,
        namespace=namespace,
        values=values,
        opts=pulumi.ResourceOptions(parent=parent, depends_on=list(depends_on)),
    )
