"""The compute side of a platform stack, wired from a validated ComputeConfig.

Order on `pulumi up`: operators (Helm releases, which install CRDs and webhooks) ->
their cluster-scoped custom resources (flavors, ClusterQueues, Volcano queues, training
runtimes) -> team namespaces -> LocalQueues. `pulumi destroy` runs it backwards: team
namespaces, with whatever workloads users left in them, are deleted while every
controller still runs to clear finalizers; then queues and runtimes, no longer in use;
then the controllers.
"""

from __future__ import annotations

import pulumi

from infra import outputs
from infra.components.gpu import DRA_DEVICE_CLASS, GpuStack, GpuStackArgs
from infra.components.kuberay import KubeRay, KubeRayArgs
from infra.components.kueue import (
    GPU_RESOURCE,
    OFFLOAD_QUEUE,
    Kueue,
    KueueArgs,
    LocalQueues,
    LocalQueuesArgs,
)
from infra.components.tenancy import Tenancy, TenancyArgs, team_ceiling
from infra.components.trainer import Trainer, TrainerArgs
from infra.components.volcano import Volcano, VolcanoArgs
from infra.config.compute import ComputeConfig


def gpu_resources(config: ComputeConfig) -> tuple[str, ...]:
    """Extended resources the GPU stack advertises (whole GPUs and MIG slices)."""
    if config.gpu is None:
        return ()
    mig = sorted({f"nvidia.com/mig-{p}" for m in config.gpu.models for p in m.mig_profiles})
    return (GPU_RESOURCE, *mig)


def runtime_resources(config: ComputeConfig) -> dict:
    """Per-container defaults of the training runtimes: the namespace LimitRange defaults,
    so a TrainJob that sets nothing is sized like any other container of the stack (and
    fits the smallest team's quota, which infra.verify.properties checks)."""
    return {
        "requests": {"cpu": config.default_cpu_request, "memory": config.default_memory_request},
        "limits": {"cpu": config.default_cpu_limit, "memory": config.default_memory_limit},
    }


class Compute(pulumi.ComponentResource):
    """Tenancy, Kueue, optional Volcano, KubeRay, Trainer and GPU stack."""

    def __init__(
        self,
        name: str,
        config: ComputeConfig,
        opts: pulumi.ResourceOptions | None = None,
        *,
        tenants_after: tuple[pulumi.Resource, ...] = (),
    ):
        """`tenants_after`: controllers outside compute whose custom resources users create
        in team namespaces (KServe); the namespaces wait for them, so destroy removes those
        resources while their controller still runs."""
        super().__init__("ai4s:compute:Compute", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        extended = gpu_resources(config)
        dra = config.gpu is not None and config.gpu.allocation == "dra"
        self.gpu = None
        if config.gpu is not None:
            self.gpu = GpuStack(
                f"{name}-gpu",
                GpuStackArgs(**config.gpu.operator_settings()),
                child,
            )
        self.kueue = Kueue(
            f"{name}-kueue",
            KueueArgs(
                cohort=config.cohort,
                teams=config.teams,
                priorities=config.priorities,
                preemption=config.preemption,
                gpu_models=config.gpu.models if config.gpu else (),
                shared_namespaces=config.shared_queue_namespaces,
                offload=config.offload,
                fair_sharing=config.fair_sharing,
                dra_device_class=DRA_DEVICE_CLASS if dra else "",
            ),
            child,
        )
        self.volcano = None
        if config.gang_scheduler == "volcano":
            self.volcano = Volcano(
                f"{name}-volcano",
                VolcanoArgs(
                    teams=config.teams,
                    capabilities=[team_ceiling(t, config.teams, extended) for t in config.teams],
                ),
                child,
            )
        self.kuberay = (
            KubeRay(f"{name}-kuberay", KubeRayArgs(), child) if config.operators.kuberay else None
        )
        self.trainer = None
        if config.operators.trainer:
            # The Volcano PodGroup policy needs Volcano's CRDs before the runtime is used.
            deps = [self.volcano.release] if self.volcano else []
            self.trainer = Trainer(
                f"{name}-trainer",
                TrainerArgs(
                    gang_scheduler=config.gang_scheduler,
                    container_resources=runtime_resources(config),
                ),
                pulumi.ResourceOptions(parent=self, depends_on=deps),
            )
        operators = [
            c for c in (self.gpu, self.kueue, self.volcano, self.kuberay, self.trainer) if c
        ]
        # Team namespaces come after every operator and its cluster-scoped objects, so on
        # destroy they go first: their jobs, RayClusters and TrainJobs are deleted while the
        # controllers that clear finalizers still run, and Volcano queues and training
        # runtimes are no longer in use when their turn comes.
        self.tenancy = Tenancy(
            f"{name}-tenancy",
            TenancyArgs(
                teams=config.teams,
                platform_namespaces=config.platform_namespaces,
                monitoring_namespace=config.monitoring_namespace,
                default_request={
                    "cpu": config.default_cpu_request,
                    "memory": config.default_memory_request,
                },
                default_limit={
                    "cpu": config.default_cpu_limit,
                    "memory": config.default_memory_limit,
                },
                gpu_resources=extended,
                offload=config.offload,
                volcano_queues=config.gang_scheduler == "volcano",
                gpu_claim_device_class=DRA_DEVICE_CLASS if dra else "",
            ),
            pulumi.ResourceOptions(parent=self, depends_on=[*operators, *tenants_after]),
        )
        self.local_queues = LocalQueues(
            f"{name}-queues",
            LocalQueuesArgs(teams=config.teams, offload=config.offload),
            pulumi.ResourceOptions(parent=self, depends_on=[self.tenancy, self.kueue]),
        )
        self.exports = {
            outputs.KUEUE_NAMESPACE: self.kueue.namespace_name,
            outputs.COHORT: config.cohort,
            outputs.CLUSTER_QUEUES: sorted(self.kueue.cluster_queues),
            outputs.LOCAL_QUEUES: sorted(self.local_queues.queues),
            outputs.RESOURCE_FLAVORS: sorted(self.kueue.flavors),
            outputs.PRIORITY_CLASSES: sorted(p.name for p in config.priorities),
            outputs.TEAM_NAMESPACES: sorted(t.namespace for t in config.teams),
            outputs.GANG_SCHEDULER: config.gang_scheduler,
            outputs.VOLCANO_QUEUES: sorted(self.volcano.queues) if self.volcano else [],
            outputs.TRAINING_RUNTIMES: sorted(self.trainer.runtimes) if self.trainer else [],
            outputs.RAY_OPERATOR_NAMESPACE: self.kuberay.namespace_name if self.kuberay else "",
            outputs.GPU_SHARING: config.gpu.sharing if config.gpu else "",
            outputs.OFFLOAD_QUEUE: OFFLOAD_QUEUE if config.offload else "",
        }
        self.register_outputs(self.exports)
