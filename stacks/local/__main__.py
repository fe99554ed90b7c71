"""ai4s platform on a local kind or k3s cluster: CPU only, small requests.

The program is infra.program.platform_program, shared by every stack; what this stack
declares comes from its committed Pulumi.local.yaml. See stacks/README.md for the steps.
"""

from infra.program import platform_program

platform_program()
