"""GPU stack: NVIDIA GPU Operator (driver, toolkit, device plugin, GPU Feature Discovery,
MIG manager) with the DCGM exporter for accelerator metrics.

Sharing comes from stack config: `time-slicing` writes the device plugin's sharing
ConfigMap (each GPU is advertised `replicas` times, and Kueue quotas count those slices);
`mig` turns on the MIG manager with the chosen strategy, so MIG slices appear as
`nvidia.com/mig-<profile>` resources that Kueue quotas name explicitly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import pulumi
import pulumi_kubernetes as k8s
import yaml

from infra.components.operator_release import operator_namespace, pinned_release
from infra.config.compute import GpuOperatorSettings
from infra.versions import pin

TIME_SLICING_CONFIG = "ai4s-time-slicing"
DRA_DEVICE_CLASS = "gpu.nvidia.com"
"""The DeviceClass the NVIDIA DRA driver publishes for whole GPUs."""


@dataclass(kw_only=True, frozen=True, slots=True)
class GpuStackArgs(GpuOperatorSettings):
    """Inputs of the GPU stack component: the operator settings, and where it runs."""

    _KEY: ClassVar[str] = "GpuStackArgs"

    namespace: str = "gpu-operator"
    """Namespace of the operator and its node agents."""


def time_slicing_config(replicas: int) -> str:
    """The device plugin's sharing config (k8s-device-plugin config file format v1)."""
    return yaml.safe_dump(
        {
            "version": "v1",
            "sharing": {
                "timeSlicing": {
                    "renameByDefault": False,
                    # a pod asking for 2 slices of one GPU would get no more compute; refuse it
                    "failRequestsGreaterThanOne": True,
                    "resources": [{"name": "nvidia.com/gpu", "replicas": replicas}],
                }
            },
        },
        sort_keys=False,
    )


def operator_values(args: GpuStackArgs) -> dict:
    values: dict = {
        "driver": {"enabled": not args.driver_preinstalled},
        "dcgmExporter": {"enabled": True},
        "mig": {"strategy": args.mig_strategy},
        "migManager": {"enabled": args.sharing == "mig"},
        # With DRA the DRA driver's kubelet plugin allocates GPUs; a device plugin beside it
        # would advertise the same GPUs a second time.
        "devicePlugin": {"enabled": args.allocation == "device-plugin"},
    }
    if args.dcgm_exporter_tag:
        values["dcgmExporter"]["version"] = args.dcgm_exporter_tag
    if args.sharing == "time-slicing":
        values["devicePlugin"]["config"] = {"name": TIME_SLICING_CONFIG, "default": "any"}
    return values


class GpuStack(pulumi.ComponentResource):
    """GPU Operator release, plus the time-slicing ConfigMap when configured."""

    def __init__(self, name: str, args: GpuStackArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("ai4s:gpu:GpuStack", name, None, opts)
        # driver and toolkit containers load kernel modules: privileged by necessity,
        # confined to this namespace; tenant namespaces stay restricted.
        self.namespace = operator_namespace(self, name, args.namespace, "privileged")
        deps: list[pulumi.Resource] = [self.namespace]
        if args.sharing == "time-slicing":
            deps.append(
                k8s.core.v1.ConfigMap(
                    f"{name}-time-slicing",
                    metadata={"name": TIME_SLICING_CONFIG, "namespace": args.namespace},
                    data={"any": time_slicing_config(args.time_slicing_replicas)},
                    opts=pulumi.ResourceOptions(parent=self, depends_on=[self.namespace]),
                )
            )
        self.release = pinned_release(
            self,
            name,
            key="gpu-operator",
            release_name="gpu-operator",
            namespace=args.namespace,
            values=operator_values(args),
            depends_on=deps,
        )
        self.dra = None
        if args.allocation == "dra":
            self.dra = pinned_release(
                self,
                f"{name}-dra",
                key="nvidia-dra-driver-gpu",
                release_name="nvidia-dra-driver-gpu",
                namespace=args.namespace,
                # the operator installs the driver and toolkit the DRA plugin needs
                values={"nvidiaDriverRoot": "/run/nvidia/driver" if not args.driver_preinstalled else "/"},
                depends_on=[self.release],
            )
        self.register_outputs({"sharing": args.sharing, "allocation": args.allocation,
                               "version": pin("gpu-operator").version})
