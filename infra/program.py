"""The Pulumi program every platform stack runs: read config, build components, export.

Stacks differ only in their committed `Pulumi.<stack>.yaml`; each `stacks/*/__main__.py`
calls `platform_program()`. This is the one place in `infra/` that reads Pulumi config,
so the components themselves never do.
"""

from __future__ import annotations

import pulumi

from infra.components.compute import Compute
from infra.components.services import services_for_compute
from infra.config.compute import CONFIG_KEY, CONFIG_NAMESPACE, ComputeConfig
from infra.config.services import SERVICES_CONFIG_KEY, services_config_from_mapping


def platform_program() -> None:
    """Validate the whole stack config, then declare compute and services and export
    their keys (infra.outputs). A bad value raises before any resource is declared."""
    config = pulumi.Config(CONFIG_NAMESPACE)
    compute_config = ComputeConfig.from_mapping(config.require_object(CONFIG_KEY))
    services_config = services_config_from_mapping(config.get_object(SERVICES_CONFIG_KEY))

    # --- compute: scheduling, operators, tenancy (platform part 1) ---
    compute = Compute("compute", compute_config)
    for key, value in compute.exports.items():
        pulumi.export(key, value)

    # --- services: storage, tracking, observability, serving, notebooks (platform part 2) ---
    services = services_for_compute("services", services_config, compute_config, compute)
    for key, value in services.items():
        pulumi.export(key, value)
