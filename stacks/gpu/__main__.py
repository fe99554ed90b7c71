"""ai4s platform on an existing Kubernetes cluster with NVIDIA GPU nodes.

read config -> build components -> export outputs. Config is validated before any
resource is declared; see stacks/README.md for the steps.
"""

import pulumi

from infra.compute import Compute
from infra.config import CONFIG_KEY, CONFIG_NAMESPACE, ComputeConfig

# --- compute: scheduling, operators, tenancy (platform part 1) ---
compute_config = ComputeConfig.from_mapping(
    pulumi.Config(CONFIG_NAMESPACE).require_object(CONFIG_KEY)
)
compute = Compute("compute", compute_config)
for key, value in compute.exports.items():
    pulumi.export(key, value)

# --- services: storage, tracking, observability, serving, notebooks (platform part 2) ---
from infra.services import services_for_compute  # noqa: E402
from infra.services_config import SERVICES_CONFIG_KEY, services_config_from_mapping  # noqa: E402

services_config = services_config_from_mapping(
    pulumi.Config(CONFIG_NAMESPACE).get_object(SERVICES_CONFIG_KEY)
)
services = services_for_compute("services", services_config, compute_config, compute)
for key, value in services.items():
    pulumi.export(key, value)
