"""Accelerators: drivers and virtualised accelerators on the cluster's nodes (live, CNCF
driver_runtime_management and virtualized_accelerator), and DRA where a stack enables it
(offline, on the rendered stacks)."""

from __future__ import annotations

from typing import Any

from ..registry import Context, Result, check, not_applicable, verdict
from . import kube
from .platform import renders

DRIVER_LABELS = ("nvidia.com/cuda.driver-version.full", "nvidia.com/cuda.driver.major",
                 "amd.com/gpu.driver-version")
"""Node labels of GPU feature discovery that name the installed driver."""
VGPU_LABEL = "nvidia.com/vgpu.present"


def driver_verdict(nodes: dict[str, dict[str, str]]) -> Result:
    """nodes: accelerator node -> its labels."""
    if not nodes:
        return not_applicable("the cluster has no node with an allocatable accelerator")
    versions = {n: next((labels[k] for k in DRIVER_LABELS if k in labels), None) for n, labels in nodes.items()}
    missing = sorted(n for n, v in versions.items() if v is None)
    return verdict(not missing, f"every accelerator node names its driver: {versions}",
                   f"accelerator nodes without a driver-version label: {missing}", drivers=versions)


def _node_labels(api: kube.Api) -> dict[str, dict[str, str]]:
    gpu_nodes = set(kube.accelerator_nodes(api))
    return {n.metadata.name: dict(n.metadata.labels or {}) for n in api.core.list_node().items
            if n.metadata.name in gpu_nodes}


@check("AI4S-ACC-001")
def driver_runtime_management(context: Context) -> Result:
    return kube.live(context, lambda api: driver_verdict(_node_labels(api)))


def vgpu_verdict(vgpu_nodes: list[str], accelerator_nodes: list[str]) -> Result:
    if not vgpu_nodes:
        return not_applicable("no node carries virtualised accelerators")
    hidden = sorted(set(vgpu_nodes) - set(accelerator_nodes))
    return verdict(not hidden, f"vGPU nodes advertise allocatable accelerators: {sorted(vgpu_nodes)}",
                   f"vGPU nodes without an allocatable accelerator: {hidden}", vgpu_nodes=sorted(vgpu_nodes))


@check("AI4S-ACC-002")
def virtualized_accelerator(context: Context) -> Result:
    def probe(api: kube.Api) -> Result:
        vgpu = [n.metadata.name for n in api.core.list_node().items
                if (n.metadata.labels or {}).get(VGPU_LABEL) == "true"]
        return vgpu_verdict(vgpu, kube.accelerator_nodes(api))
    return kube.live(context, probe)


def _chart(release: dict[str, Any]) -> str:
    return str(release.get("chart", "")).rsplit("/", 1)[-1]


def dra_problems(releases: list[dict[str, Any]]) -> list[str] | None:
    """None when the stack does not enable DRA; else why its GPUs would not have exactly one
    allocator (empty: they would)."""
    if not any(_chart(r) == "nvidia-dra-driver-gpu" for r in releases):
        return None
    operators = [r for r in releases if _chart(r) == "gpu-operator"]
    if not operators:
        return ["the DRA driver is deployed without the GPU operator that installs its driver and toolkit"]
    plugin = ((operators[0].get("values") or {}).get("devicePlugin") or {}).get("enabled", True)
    return [] if plugin is False else ["the GPU operator's device plugin is enabled beside the DRA driver: "
                                       "each GPU would be advertised twice"]


@check("AI4S-ACC-003")
def dra_where_enabled(context: Context) -> Result:
    found = {s: dra_problems(r.releases) for s, r in renders(context).items()}
    enabled = {s: v for s, v in found.items() if v is not None}
    if not enabled:
        return not_applicable("no committed stack enables DRA (gpu.allocation: dra)", stacks=sorted(found))
    bad = {s: v for s, v in enabled.items() if v}
    return verdict(not bad, f"DRA stacks {sorted(enabled)} give each GPU one allocator",
                   f"DRA problems: {bad}", problems=enabled)
