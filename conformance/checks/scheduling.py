"""Scheduling: Kueue's all-or-nothing admission is configured (offline), a gang that does
not fit never starts (live, the CNCF gang_scheduling negative case), and MIG partitions are
schedulable flavors (offline)."""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Iterator
from typing import Any

import yaml

from ..registry import Context, check, failed, not_applicable, passed, unknown, verdict
from . import kube
from .platform import renders

KUEUE_GROUP, KUEUE_VERSION = "kueue.x-k8s.io", "v1beta2"
KUEUE_CONFIG_KIND = "Configuration"
GANG_PODS = 2
GANG_WAIT_S = 45


def _strings(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for value in node.values():
            yield from _strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from _strings(value)
    elif isinstance(node, str):
        yield node


def kueue_configuration(objects: list[dict], releases: list[dict]) -> dict | None:
    """Kueue's controller Configuration, wherever the render put it: the values of the
    kueue Helm release (managerConfig) or the data of a ConfigMap."""
    sources = [rel.get("values") for rel in releases
               if str(rel.get("chart", "")).rsplit("/", 1)[-1] == "kueue"]
    sources += [o.get("data") for o in objects if o.get("kind") == "ConfigMap"]
    for text in _strings(sources):
        if KUEUE_CONFIG_KIND not in text or "config.kueue.x-k8s.io/" not in text:
            continue
        doc = yaml.safe_load(text)
        if isinstance(doc, dict) and doc.get("kind") == KUEUE_CONFIG_KIND:
            return doc
    return None


def gang_problems(configuration: dict | None, objects: list[dict]) -> list[str]:
    """Why a rendered stack would not admit gangs all-or-nothing (empty: it would)."""
    from infra.verify import policy
    from infra.verify.validate import check_references

    if configuration is None:
        return ["no Kueue controller Configuration is rendered"]
    problems = []
    wait = configuration.get("waitForPodsReady")
    if not isinstance(wait, dict):
        problems.append("Kueue Configuration has no waitForPodsReady (admission is not all-or-nothing)")
    elif wait.get("enable") is False or not wait.get("timeout") or not wait.get("requeuingStrategy"):
        # A gang whose pods do not all start within the timeout is evicted and requeued, so it
        # never holds quota half-run. blockAdmission is not required: it serialises admission
        # across every ClusterQueue of the cluster.
        problems.append(f"waitForPodsReady must be enabled with a timeout and a requeuingStrategy, got {wait}")
    queues_by_ns = {(o.get("metadata") or {}).get("namespace") for o in objects if o.get("kind") == "LocalQueue"}
    for o in objects:
        meta = o.get("metadata") or {}
        if o.get("kind") == "Namespace" and (meta.get("labels") or {}).get(policy.TENANT_LABEL) == "true" \
                and meta.get("name") not in queues_by_ns:
            problems.append(f"tenant namespace {meta.get('name')!r} has no LocalQueue")
    problems += [str(f) for f in check_references(objects) if "ClusterQueue" in f.message]
    return problems


@check("AI4S-SCHED-001")
def gang_admission_configured(context: Context) -> Any:
    found, settings = {}, {}
    for s, r in renders(context).items():
        config = kueue_configuration(r.objects, r.releases)
        settings[s] = (config or {}).get("waitForPodsReady")
        found[s] = gang_problems(config, r.objects)
    total = sum(len(v) for v in found.values())
    return verdict(total == 0, "Kueue admits gangs all-or-nothing (waitForPodsReady with timeout and requeue) "
                   "and every tenant has a LocalQueue", f"{total} gang-admission problems",
                   wait_for_pods_ready=settings, problems=found)


@check("AI4S-SCHED-003")
def gpu_partitions(context: Context) -> Any:
    stacks = {}
    for s, r in renders(context).items():
        flavors = sorted((o.get("metadata") or {}).get("name") for o in r.objects
                         if o.get("kind") == "ResourceFlavor")
        mig = [f for f in flavors if f.endswith("-mig")]
        quota = sorted({res["name"] for o in r.objects if o.get("kind") == "ClusterQueue"
                        for g in (o.get("spec") or {}).get("resourceGroups") or []
                        for fl in g.get("flavors") or [] if fl.get("name") in mig
                        for res in fl.get("resources") or []})
        stacks[s] = {"mig_flavors": mig, "mig_resources_with_quota": quota}
    declaring = {s: v for s, v in stacks.items() if v["mig_flavors"]}
    if not declaring:
        return not_applicable("no stack declares MIG profiles; GPU sharing does not apply", stacks=stacks)
    bad = [s for s, v in declaring.items() if not v["mig_resources_with_quota"]]
    return verdict(not bad, f"MIG partitions are schedulable with quota in {', '.join(declaring)}",
                   f"MIG flavors without quota in {bad}", stacks=stacks)


def gang_verdict(*, pods_started: int, workload_seen: bool, admitted: bool) -> Any:
    """Decision of the negative case: the gang asks for more than the queue has."""
    evidence = {"pods_started": pods_started, "workload_seen": workload_seen, "admitted": admitted,
                "gang_size": GANG_PODS}
    if pods_started or admitted:
        return failed(f"a gang larger than the quota was admitted or started ({pods_started} pods)",
                      **evidence)
    if not workload_seen:
        return unknown("Kueue never created a Workload for the Job; is the Job "
                                 "integration enabled?", **evidence)
    return passed(f"a {GANG_PODS}-pod gang over quota waited unadmitted; no pod started", **evidence)


def gang_positive_verdict(*, pods_started: int, workload_seen: bool, admitted: bool) -> Any:
    """Decision of the positive case: the gang fits the queue, so all of it must be admitted."""
    evidence = {"pods_started": pods_started, "workload_seen": workload_seen, "admitted": admitted,
                "gang_size": GANG_PODS}
    if not workload_seen:
        return unknown("Kueue never created a Workload for the Job; is the Job integration enabled?",
                       **evidence)
    return verdict(admitted and pods_started == GANG_PODS,
                   f"a {GANG_PODS}-pod gang within quota was admitted with all its pods",
                   f"a gang within quota was not admitted whole ({pods_started} of {GANG_PODS} pods, "
                   f"admitted: {admitted})", **evidence)


GANG_CPU = "100m"
"""CPU of each gang member; the negative queue has quota for one member, the positive for all."""


def gang_case(api: kube.Api, *, quota_cpu: str, wait_s: float, poll_s: float, until_pods: int) -> dict | Any:
    """Own ClusterQueue with `quota_cpu`, own namespace and LocalQueue, then a Job of
    GANG_PODS pods that must run together; what Kueue did with it once `until_pods` pods
    exist or `wait_s` passed. Everything is deleted on the way out."""
    from infra.components.kueue import CPU_FLAVOR

    suffix = uuid.uuid4().hex[:6]
    cq_name = f"ai4s-conf-gang-{suffix}"
    cq = {"apiVersion": f"{KUEUE_GROUP}/{KUEUE_VERSION}", "kind": "ClusterQueue",
          "metadata": {"name": cq_name, "labels": kube.CHECK_LABEL},
          "spec": {"namespaceSelector": {"matchLabels": {"ai4s.dev/gang-check": suffix}},
                   "resourceGroups": [{"coveredResources": ["cpu", "memory"], "flavors": [{
                       "name": CPU_FLAVOR, "resources": [{"name": "cpu", "nominalQuota": quota_cpu},
                                                         {"name": "memory", "nominalQuota": "64Mi"}]}]}]}}
    with contextlib.ExitStack() as cleanup:
        try:
            cleanup.enter_context(kube.cluster_object(api, KUEUE_GROUP, KUEUE_VERSION, "clusterqueues", cq))
        except Exception as err:  # noqa: BLE001 - only "API not served" is a verdict
            if kube.status_of(err) == 404:
                return failed(f"no gang scheduler: the API {KUEUE_GROUP}/{KUEUE_VERSION} is not served")
            raise
        ns = cleanup.enter_context(kube.scratch_namespace(api, "ai4s-conf-gang", {"ai4s.dev/gang-check": suffix}))
        api.custom.create_namespaced_custom_object(KUEUE_GROUP, KUEUE_VERSION, ns, "localqueues", {
            "apiVersion": f"{KUEUE_GROUP}/{KUEUE_VERSION}", "kind": "LocalQueue",
            "metadata": {"name": "gang"}, "spec": {"clusterQueue": cq_name}})
        job = {"apiVersion": "batch/v1", "kind": "Job",
               "metadata": {"name": "gang", "labels": {"kueue.x-k8s.io/queue-name": "gang"}},
               "spec": {"parallelism": GANG_PODS, "completions": GANG_PODS, "suspend": True,
                        "template": {"spec": {"restartPolicy": "Never", "containers": [
                            kube.restricted_container("member", ["sleep", "30"], cpu=GANG_CPU)]}}}}
        api.batch.create_namespaced_job(ns, job)
        deadline = time.monotonic() + wait_s
        pods_started, workloads = 0, []
        while True:
            pods_started = len(api.core.list_namespaced_pod(ns).items)
            workloads = api.custom.list_namespaced_custom_object(
                KUEUE_GROUP, KUEUE_VERSION, ns, "workloads").get("items", [])
            if pods_started >= until_pods or time.monotonic() >= deadline:
                break
            time.sleep(poll_s)
        admitted = any(kube.conditions_true(w, "Admitted") for w in workloads)
        return {"pods_started": pods_started, "workload_seen": bool(workloads), "admitted": admitted}


def _millicores(cpu: str) -> int:
    return int(cpu[:-1]) if cpu.endswith("m") else int(float(cpu) * 1000)


def gang_negative_case(api: kube.Api, wait_s: float = GANG_WAIT_S, poll_s: float = 3.0) -> Any:
    """Quota for one member only: nothing of the gang may start."""
    seen = gang_case(api, quota_cpu=GANG_CPU, wait_s=wait_s, poll_s=poll_s, until_pods=1)
    return gang_verdict(**seen) if isinstance(seen, dict) else seen


def gang_positive_case(api: kube.Api, wait_s: float = GANG_WAIT_S, poll_s: float = 3.0) -> Any:
    """Quota for the whole gang: it must be admitted with every member's pod."""
    quota = f"{_millicores(GANG_CPU) * GANG_PODS}m"
    seen = gang_case(api, quota_cpu=quota, wait_s=wait_s, poll_s=poll_s, until_pods=GANG_PODS)
    return gang_positive_verdict(**seen) if isinstance(seen, dict) else seen


def gang_both_cases(api: kube.Api, wait_s: float = GANG_WAIT_S, poll_s: float = 3.0) -> Any:
    """The upstream plan: the positive case, then the negative; the worse result decides."""
    positive = gang_positive_case(api, wait_s, poll_s)
    negative = gang_negative_case(api, wait_s, poll_s)
    order = {"failed": 0, "unknown": 1, "skipped": 2, "passed": 3}
    worst = min((positive, negative), key=lambda r: order[r.status.value])
    cases = {"positive": {"status": positive.status.value, "message": positive.message, **positive.evidence},
             "negative": {"status": negative.status.value, "message": negative.message, **negative.evidence}}
    message = worst.message if worst.status.value != "passed" else f"{positive.message}; {negative.message}"
    return type(worst)(status=worst.status, message=message, evidence={"cases": cases})


@check("AI4S-SCHED-002")
def gang_all_or_nothing(context: Context) -> Any:
    return kube.live(context, gang_both_cases)
