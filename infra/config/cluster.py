"""`ai4s:kubernetes`: which cluster a stack deploys to.

A stack names its kubeconfig context explicitly; the program builds one Kubernetes
provider from it, so `pulumi up` never deploys to whatever context happens to be current.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

CLUSTER_CONFIG_KEY = "kubernetes"
_KEYS = ("context", "kubeconfig")


@dataclass(kw_only=True, frozen=True, slots=True)
class ClusterConfig:
    """The cluster a stack targets."""

    context: str
    """kubeconfig context to deploy to (required: there is no default)."""
    kubeconfig: str = ""
    """Path of the kubeconfig file; empty for the usual lookup ($KUBECONFIG, ~/.kube/config)."""

    def __post_init__(self) -> None:
        if not isinstance(self.context, str) or not self.context.strip():
            raise ValueError(f"kubernetes.context: required, a kubeconfig context name; got {self.context!r}")
        if not isinstance(self.kubeconfig, str):
            raise ValueError(f"kubernetes.kubeconfig: expected a file path, got {self.kubeconfig!r}")

    @staticmethod
    def from_mapping(raw: Any) -> ClusterConfig:
        if not isinstance(raw, Mapping):
            raise ValueError("kubernetes: required, a mapping with `context` (and optional `kubeconfig`)")
        unknown = sorted(set(raw) - set(_KEYS))
        if unknown:
            raise ValueError(f"kubernetes.{unknown[0]}: unknown key; accepted keys are {list(_KEYS)}")
        return ClusterConfig(context=raw.get("context", ""), kubeconfig=raw.get("kubeconfig", ""))
