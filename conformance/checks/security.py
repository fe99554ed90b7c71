"""Security: tenant namespaces (offline, on the rendered stacks) and secure accelerator
access (live, following the CNCF test plan: probe /dev in a pod that requests nothing)."""

from __future__ import annotations

import re
from typing import Any

from ..registry import Context, check, not_applicable, unknown, verdict
from . import kube
from .platform import renders


@check("AI4S-SEC-001")
def tenants_restricted(context: Context) -> Any:
    from infra.verify import policy

    found, tenants = {}, {}
    for s, r in renders(context).items():
        tenants[s] = sorted((o.get("metadata") or {}).get("name") for o in r.objects
                            if o.get("kind") == "Namespace"
                            and ((o.get("metadata") or {}).get("labels") or {}).get(policy.TENANT_LABEL) == "true")
        found[s] = [str(v) for v in policy.check_tenants(r.objects)]
    if not any(tenants.values()):
        return verdict(False, "", "no stack declares a tenant namespace (label "
                       f"{policy.TENANT_LABEL}=true)", tenants=tenants)
    total = sum(len(v) for v in found.values())
    return verdict(total == 0, "every tenant namespace enforces PSS restricted and is isolated "
                   "(quota, limits, default deny)", f"{total} tenant findings",
                   tenants=tenants, findings=found)


DEVICE_PREFIXES = ("nvidia", "dri", "kfd", "accel", "neuron")
"""Device files of accelerators (NVIDIA, DRM render nodes, AMD KFD, accel class, Neuron)."""


def accelerator_devices(listing: str) -> list[str]:
    """Names in an `ls /dev` listing that belong to an accelerator."""
    return sorted(n for n in listing.split() if n.startswith(DEVICE_PREFIXES))


def probe_verdict(accelerator_nodes: list[str], listing: str | None) -> Any:
    """The decision of the secure-access probe, separated so it can be tested without a cluster."""
    if not accelerator_nodes:
        return not_applicable("the cluster has no node with an allocatable accelerator")
    if listing is None:
        return unknown("the probe pod did not finish; no /dev listing",
                                 node=accelerator_nodes[0])
    devices = accelerator_devices(listing)
    return verdict(not devices, "a pod without an accelerator request sees no accelerator device",
                   f"a pod without a request sees accelerator devices: {devices}",
                   devices=devices, node=accelerator_nodes[0], accelerator_nodes=len(accelerator_nodes))


NUMBERED_DEVICE = re.compile(r"^(nvidia|accel|neuron)[0-9]+$")
"""One accelerator's device file (nvidia0, accel1, neuron2); control files are shared."""


def numbered_devices(listing: str) -> list[str]:
    return sorted(n for n in listing.split() if NUMBERED_DEVICE.match(n))


def pair_verdict(node: str | None, listings: list[str | None]) -> Any:
    """The upstream plan's second test: two pods on one node, each requesting one
    accelerator, must each see exactly one, and not the same one."""
    if node is None:
        return not_applicable("no node offers two accelerators; the two-pod isolation test does not apply")
    if any(listing is None for listing in listings):
        return unknown("a probe pod requesting an accelerator did not finish", node=node)
    seen = [numbered_devices(listing) for listing in listings]
    one_each = all(len(devices) == 1 for devices in seen)
    return verdict(one_each and seen[0] != seen[1],
                   f"two pods with one accelerator each see one device each, different ones: {seen}",
                   f"two pods with one accelerator each see {seen} (expected one each, different)",
                   node=node, devices_seen=seen)


def two_accelerator_node(api: kube.Api) -> tuple[str, str] | None:
    """(node, resource name) of a node with at least two allocatable accelerators."""
    for node in api.core.list_node().items:
        allocatable = node.status.allocatable or {}
        for resource in kube.ACCELERATOR_RESOURCES:
            if int(str(allocatable.get(resource, "0")) or 0) >= 2:
                return node.metadata.name, resource
    return None


PAIR_HOLD_S = 20
"""How long each of the two requesting pods holds its accelerator, so that both hold one at once."""


def requesting_pod(name: str, node: str, resource: str) -> dict:
    pod = kube.restricted_pod(name, ["sh", "-c", f"ls /dev; sleep {PAIR_HOLD_S}"], node_name=node)
    for bound in ("requests", "limits"):
        pod["spec"]["containers"][0]["resources"][bound][resource] = "1"
    return pod


def probe_dev(api: kube.Api, timeout_s: float = 180) -> Any:
    """List /dev in a pod that requests no accelerator, on an accelerator node; then, where a
    node has two accelerators, in two pods that request one each."""
    nodes = kube.accelerator_nodes(api)
    if not nodes:
        return probe_verdict(nodes, None)
    with kube.scratch_namespace(api, "ai4s-conf-sec") as ns:
        pod = kube.restricted_pod("dev-probe", ["sh", "-c", "ls /dev"], node_name=nodes[0])
        unrequested = probe_verdict(nodes, kube.run_pod(api, ns, pod, timeout_s=timeout_s))
        if unrequested.status.value != "passed":
            return unrequested
        pair_node = two_accelerator_node(api)
        listings = [] if pair_node is None else kube.run_pods(
            api, ns, [requesting_pod(f"gpu-probe-{i}", *pair_node) for i in (1, 2)], timeout_s=timeout_s)
    paired = pair_verdict(pair_node and pair_node[0], listings)
    evidence = {"without_request": unrequested.evidence,
                "two_pods": {"status": paired.status.value, "message": paired.message, **paired.evidence}}
    if paired.status.value in ("failed", "unknown"):
        return type(paired)(status=paired.status, message=paired.message, evidence=evidence)
    return type(unrequested)(status=unrequested.status, message=f"{unrequested.message}; {paired.message}",
                             evidence=evidence)


@check("AI4S-SEC-002")
def secure_accelerator_access(context: Context) -> Any:
    return kube.live(context, probe_dev)


SANDBOX_HANDLERS = ("runsc", "gvisor", "kata", "kata-qemu", "kata-clh", "kata-fc", "kata-qemu-snp")
"""RuntimeClass handlers of sandboxing runtimes (gVisor, Kata Containers)."""


def sandbox_verdict(runtime_classes: list[dict]) -> Any:
    handlers = sorted({rc.get("handler", "") for rc in runtime_classes})
    sandboxes = [h for h in handlers if h in SANDBOX_HANDLERS or h.startswith("kata")]
    return verdict(bool(sandboxes), f"sandboxed runtimes offered: {sandboxes}",
                   f"no RuntimeClass with a sandbox handler (found handlers {handlers})", handlers=handlers)


@check("AI4S-SEC-003")
def workload_sandboxing(context: Context) -> Any:
    return kube.live(context, lambda api: sandbox_verdict(
        (api.raw.get("/apis/node.k8s.io/v1/runtimeclasses") or {}).get("items") or []))
