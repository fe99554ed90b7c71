"""Kubeflow Trainer (with JobSet) and the platform's ClusterTrainingRuntimes.

Two runtimes cover the reference workloads: `ai4s-torch-distributed` (torchrun, DDP
training) and `ai4s-mpi` (OpenMPI launcher + workers over SSH, the simulation stage).
Both run under Pod Security "restricted". Where the stack selects Volcano, the MPI
runtime asks for a Volcano PodGroup so all ranks are placed together.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from infra.components.operator_release import operator_namespace, pinned_release
from infra.versions import pin

API_VERSION = "trainer.kubeflow.org/" + pin("trainer-api").version
TORCH_RUNTIME = "ai4s-torch-distributed"
MPI_RUNTIME = "ai4s-mpi"
ANCESTOR_LABEL = {"trainer.kubeflow.org/trainjob-ancestor-step": "trainer"}
# Both runtimes run as this uid: it owns /home/mpiuser in the MPI image, and restricted
# Pod Security needs some non-root uid for images (like pytorch/pytorch) that default to root.
RUNTIME_UID = 1000
CONTROLLER_RESOURCES = {
    "requests": {"cpu": "100m", "memory": "256Mi"},
    "limits": {"cpu": "1", "memory": "1Gi"},
}


@dataclass(kw_only=True, frozen=True, slots=True)
class TrainerArgs:
    """Inputs of the Trainer component."""

    namespace: str = "kubeflow-system"
    """Namespace of the Trainer controller and JobSet."""
    gang_scheduler: str = "kueue"
    """`volcano` adds a Volcano PodGroup policy to the MPI runtime."""
    torch_image: str = pin("torch-runtime-image").image
    """Image of the torch runtime (TrainJobs usually override it)."""
    mpi_image: str = pin("mpi-runtime-image").image
    """Image of the MPI runtime: OpenMPI and sshd, runs as uid 1000."""
    container_resources: dict | None = None
    """Default requests/limits of runtime containers (TrainJobs override per node)."""


SSHD_CAPABILITIES = ("NET_BIND_SERVICE",)
"""The deepspeed-runtime image gives /usr/sbin/sshd this file capability (setcap); exec of
it fails with "Operation not permitted" when the bounding set lacks it. Pod Security
"restricted" allows adding exactly this one back."""


def restricted_container(
    name: str, image: str, resources: dict, *, add_capabilities: tuple[str, ...] = (), **extra
) -> dict:
    """A container that passes Pod Security "restricted"."""
    capabilities: dict = {"drop": ["ALL"]}
    if add_capabilities:
        capabilities["add"] = list(add_capabilities)
    return {
        "name": name,
        "image": image,
        "resources": resources,
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "capabilities": capabilities,
            "runAsNonRoot": True,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        **extra,
    }


def _job(container: dict, labels: dict | None = None) -> dict:
    template = {
        "spec": {
            "template": {
                "spec": {
                    "securityContext": {
                        "runAsNonRoot": True,
                        "runAsUser": RUNTIME_UID,
                        "seccompProfile": {"type": "RuntimeDefault"},
                    },
                    "containers": [container],
                }
            }
        }
    }
    if labels:
        template["metadata"] = {"labels": labels}
    return template


def torch_runtime(args: TrainerArgs, resources: dict) -> dict:
    return {
        # Trainer v2.2's torch policy has no fields: processes per node come from the
        # TrainJob (default `auto`, one per GPU or one per node on CPU).
        "mlPolicy": {"numNodes": 1, "torch": {}},
        "template": {
            "spec": {
                "replicatedJobs": [
                    {
                        "name": "node",
                        "replicas": 1,
                        "template": _job(
                            restricted_container("node", args.torch_image, resources),
                            ANCESTOR_LABEL,
                        ),
                    }
                ]
            }
        },
    }


def mpi_runtime(args: TrainerArgs, resources: dict) -> dict:
    ssh = {"tcpSocket": {"port": 2222}, "initialDelaySeconds": 5}
    spec = {
        "mlPolicy": {
            "numNodes": 1,
            "mpi": {
                "numProcPerNode": 1,
                "mpiImplementation": "OpenMPI",
                "sshAuthMountPath": "/home/mpiuser/.ssh",
                "runLauncherAsNode": True,
            },
        },
        "template": {
            "spec": {
                "network": {"publishNotReadyAddresses": True},
                "successPolicy": {"operator": "All", "targetReplicatedJobs": ["launcher"]},
                "replicatedJobs": [
                    {
                        "name": "launcher",
                        "replicas": 1,
                        "template": _job(
                            restricted_container("node", args.mpi_image, resources), ANCESTOR_LABEL
                        ),
                    },
                    {
                        "name": "node",
                        "replicas": 1,
                        "template": _job(
                            restricted_container(
                                "node",
                                args.mpi_image,
                                resources,
                                add_capabilities=SSHD_CAPABILITIES,
                                command=["/usr/sbin/sshd"],
                                args=["-De", "-f", "/home/mpiuser/.sshd_config"],
                                readinessProbe=ssh,
                            )
                        ),
                    },
                ],
            }
        },
    }
    if args.gang_scheduler == "volcano":
        spec["podGroupPolicy"] = {"volcano": {}}
    return spec


class Trainer(pulumi.ComponentResource):
    """Kubeflow Trainer release (bundling JobSet) and two ClusterTrainingRuntimes."""

    def __init__(self, name: str, args: TrainerArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("ai4s:trainer:Trainer", name, None, opts)
        resources = args.container_resources or {
            "requests": {"cpu": "500m", "memory": "1Gi"},
            "limits": {"cpu": "2", "memory": "4Gi"},
        }
        self.namespace = operator_namespace(self, name, args.namespace, "restricted")
        self.release = pinned_release(
            self,
            name,
            key="trainer",
            release_name="kubeflow-trainer",
            namespace=args.namespace,
            values={
                "image": {"tag": pin("trainer").app_version},
                "jobset": {"install": True},
                "manager": {"resources": CONTROLLER_RESOURCES},
                # upstream runtimes stay off: ours are restricted-PSS and sized for ai4s
                "runtimes": {"defaultEnabled": False},
            },
            depends_on=[self.namespace],
        )
        after_crds = pulumi.ResourceOptions(parent=self, depends_on=[self.release])
        self.runtimes = {
            rname: k8s.apiextensions.CustomResource(
                f"{name}-runtime-{rname}",
                api_version=API_VERSION,
                kind="ClusterTrainingRuntime",
                metadata={"name": rname, "labels": {"trainer.kubeflow.org/framework": framework}},
                spec=spec,
                opts=after_crds,
            )
            for rname, framework, spec in (
                (TORCH_RUNTIME, "torch", torch_runtime(args, resources)),
                (MPI_RUNTIME, "mpi", mpi_runtime(args, resources)),
            )
        }
        self.register_outputs({"runtimes": sorted(self.runtimes)})
