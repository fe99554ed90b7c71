"""ai4s platform on a cluster of inference-class GPUs shared by time-slicing (several pods
per GPU), e.g. for teaching, notebooks and small models. The program is
infra.program.platform_program, shared by every stack; what this stack declares comes
from its committed Pulumi.gpu-shared.yaml. See stacks/README.md for the steps.
"""

from infra.program import platform_program

platform_program()
