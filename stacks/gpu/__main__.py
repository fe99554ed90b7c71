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
