"""The Pulumi program every platform stack runs: read config, build components, export.

Stacks differ only in their committed `Pulumi.<stack>.yaml`; each `stacks/*/__main__.py`
calls `platform_program()`. This is the one place in `infra/` that reads Pulumi config,
so the components themselves never do.
"""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from infra.components.compute import Compute
from infra.components.services import services_for_compute, serving_operators
from infra.config.cluster import CLUSTER_CONFIG_KEY, ClusterConfig
from infra.config.compute import CONFIG_KEY, CONFIG_NAMESPACE, ComputeConfig
from infra.config.services import SERVICES_CONFIG_KEY, services_config_from_mapping


def platform_program() -> None:
    """Validate the whole stack config, then declare compute and services and export
    their keys (infra.outputs). A bad value raises before any resource is declared."""
    config = pulumi.Config(CONFIG_NAMESPACE)
    compute_config = ComputeConfig.from_mapping(config.require_object(CONFIG_KEY))
    services_config = services_config_from_mapping(config.get_object(SERVICES_CONFIG_KEY))
    cluster = ClusterConfig.from_mapping(config.get_object(CLUSTER_CONFIG_KEY))

    # One explicit provider for everything: the stack's own kubeconfig context, never the
    # one that happens to be current.
    provider = k8s.Provider(
        "cluster", context=cluster.context, kubeconfig=cluster.kubeconfig or None
    )
    on_cluster = pulumi.ResourceOptions(providers=[provider])

    # --- serving operators first: team namespaces wait for KServe, so a destroy deletes
    # InferenceServices while their controller still runs ---
    serving = serving_operators("services", services_config, on_cluster)

    # --- compute: scheduling, operators, tenancy (platform part 1) ---
    compute = Compute("compute", compute_config, on_cluster, tenants_after=(serving.kserve,))
    for key, value in compute.exports.items():
        pulumi.export(key, value)

    # --- services: storage, tracking, observability, serving, notebooks (platform part 2) ---
    services = services_for_compute(
        "services", services_config, compute_config, compute, serving=serving, opts=on_cluster
    )
    for key, value in services.items():
        pulumi.export(key, value)
