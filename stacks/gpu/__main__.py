"""ai4s platform on an existing Kubernetes cluster with NVIDIA GPU nodes.

The program is infra.program.platform_program, shared by every stack; what this stack
declares comes from its committed Pulumi.gpu.yaml. See stacks/README.md for the steps.
"""

from infra.program import platform_program

platform_program()
