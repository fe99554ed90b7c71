"""The live checks' decision logic and their clean-up, against a fake cluster API."""

from __future__ import annotations

from types import SimpleNamespace as NS

import pytest

from conformance.checks import kube
from conformance.checks.observability import accelerator_verdict, series_nodes, targets_verdict
from conformance.checks.operator import controller_verdict, probe_controller
from conformance.checks.scheduling import gang_negative_case, gang_verdict
from conformance.checks.security import accelerator_devices, probe_dev, probe_verdict
from conformance.registry import Status


class ApiError(Exception):
    def __init__(self, status):
        super().__init__(f"HTTP {status}")
        self.status = status


class FakeCluster:
    """Records what a check creates and deletes; behaviour set per test."""

    def __init__(self, *, gpu_nodes=(), pods_appear=0, admitted=False, workloads=1,
                 kueue_served=True, dev_listing="null\nzero\n", operator_ready=1, reject_status=422):
        self.created, self.deleted = [], []
        self.gpu_nodes, self.pods_appear, self.admitted = gpu_nodes, pods_appear, admitted
        self.workloads, self.kueue_served, self.dev_listing = workloads, kueue_served, dev_listing
        self.operator_ready, self.reject_status = operator_ready, reject_status
        self.api = kube.Api(core=self, apps=self, batch=self, custom=self)

    # core
    def create_namespace(self, body):
        self.created.append(("Namespace", body["metadata"]["name"]))

    def delete_namespace(self, name):
        self.deleted.append(("Namespace", name))

    def list_node(self):
        nodes = [NS(metadata=NS(name=n), status=NS(allocatable={"nvidia.com/gpu": "1"}))
                 for n in self.gpu_nodes]
        nodes.append(NS(metadata=NS(name="cpu-node"), status=NS(allocatable={"cpu": "8"})))
        return NS(items=nodes)

    def list_namespaced_pod(self, ns):
        return NS(items=[object()] * self.pods_appear)

    def create_namespaced_pod(self, ns, pod):
        self.created.append(("Pod", pod["metadata"]["name"]))
        self.pod = pod

    def read_namespaced_pod(self, name, ns):
        return NS(status=NS(phase="Succeeded"))

    def read_namespaced_pod_log(self, name, ns):
        return self.dev_listing

    # batch
    def create_namespaced_job(self, ns, job):
        self.created.append(("Job", job["metadata"]["name"]))
        self.job = job

    # apps
    def list_deployment_for_all_namespaces(self, label_selector):
        if self.operator_ready is None:
            return NS(items=[])
        return NS(items=[NS(status=NS(ready_replicas=self.operator_ready))])

    # custom
    def create_cluster_custom_object(self, group, version, plural, body):
        if not self.kueue_served:
            raise ApiError(404)
        self.created.append((plural, body["metadata"]["name"]))
        self.cluster_queue = body
        return body

    def delete_cluster_custom_object(self, group, version, plural, name):
        self.deleted.append((plural, name))

    def create_namespaced_custom_object(self, group, version, ns, plural, body, dry_run=None):
        if plural == "rayclusters":
            assert dry_run == "All"  # nothing may be created by the probe
            if self.reject_status:
                raise ApiError(self.reject_status)
        self.created.append((plural, body["metadata"]["name"]))

    def list_namespaced_custom_object(self, group, version, ns, plural):
        conditions = [{"type": "Admitted", "status": "True"}] if self.admitted else []
        return {"items": [{"status": {"conditions": conditions}}] * self.workloads}


def namespaces(cluster, which):
    return [name for kind, name in getattr(cluster, which) if kind == "Namespace"]


def test_gang_over_quota_that_waits_passes_and_everything_is_cleaned_up():
    cluster = FakeCluster()
    result = gang_negative_case(cluster.api, wait_s=0, poll_s=0)
    assert result.status is Status.PASSED, result.message
    assert namespaces(cluster, "created") == namespaces(cluster, "deleted") != []
    assert [n for k, n in cluster.deleted if k == "clusterqueues"] == [cluster.cluster_queue["metadata"]["name"]]
    # the gang really exceeds the queue: 2 pods of 100m against a quota of 100m
    spec = cluster.job["spec"]
    cpu = spec["template"]["spec"]["containers"][0]["resources"]["requests"]["cpu"]
    quota = cluster.cluster_queue["spec"]["resourceGroups"][0]["flavors"][0]["resources"][0]["nominalQuota"]
    assert spec["parallelism"] == 2 and cpu == quota == "100m"
    assert cluster.job["metadata"]["labels"]["kueue.x-k8s.io/queue-name"] == "gang"


@pytest.mark.parametrize("cluster, status", [
    (FakeCluster(pods_appear=1), Status.FAILED),
    (FakeCluster(admitted=True), Status.FAILED),
    (FakeCluster(workloads=0), Status.UNKNOWN),
    (FakeCluster(kueue_served=False), Status.FAILED),
])
def test_gang_verdicts(cluster, status):
    assert gang_negative_case(cluster.api, wait_s=0, poll_s=0).status is status
    assert namespaces(cluster, "created") == namespaces(cluster, "deleted")


def test_gang_clean_up_happens_when_the_check_crashes():
    cluster = FakeCluster()
    cluster.create_namespaced_job = lambda ns, job: (_ for _ in ()).throw(RuntimeError("api down"))
    with pytest.raises(RuntimeError):
        gang_negative_case(cluster.api, wait_s=0, poll_s=0)
    assert namespaces(cluster, "deleted") == namespaces(cluster, "created")
    assert any(k == "clusterqueues" for k, _ in cluster.deleted)


def test_gang_verdict_table():
    assert gang_verdict(pods_started=0, workload_seen=True, admitted=False).status is Status.PASSED
    assert gang_verdict(pods_started=2, workload_seen=True, admitted=True).status is Status.FAILED


def test_secure_access_probe():
    assert probe_dev(FakeCluster().api).status is Status.SKIPPED  # no accelerator: not applicable
    clean = FakeCluster(gpu_nodes=("gpu-a",))
    assert probe_dev(clean.api).status is Status.PASSED
    assert clean.pod["spec"]["nodeName"] == "gpu-a"
    assert "resources" in clean.pod["spec"]["containers"][0]
    assert not any("gpu" in k for k in clean.pod["spec"]["containers"][0]["resources"]["limits"])
    assert namespaces(clean, "deleted") == namespaces(clean, "created")
    leaky = FakeCluster(gpu_nodes=("gpu-a",), dev_listing="null\nnvidia0\nnvidiactl\nzero\n")
    result = probe_dev(leaky.api)
    assert result.status is Status.FAILED and result.evidence["devices"] == ["nvidia0", "nvidiactl"]
    assert probe_verdict(["gpu-a"], None).status is Status.UNKNOWN
    assert accelerator_devices("dri kfd tty null") == ["dri", "kfd"]


@pytest.mark.parametrize("ready, reject, status", [
    (1, 422, Status.PASSED), (1, 400, Status.PASSED), (1, None, Status.FAILED),
    (0, 422, Status.FAILED), (None, 422, Status.FAILED), (1, 500, Status.FAILED),
])
def test_robust_controller(ready, reject, status):
    cluster = FakeCluster(operator_ready=ready, reject_status=reject)
    assert probe_controller(cluster.api).status is status
    assert controller_verdict(ready_replicas=ready, rejection_status=reject).status is status
    assert namespaces(cluster, "deleted") == namespaces(cluster, "created")


def test_accelerator_metrics_verdict():
    answer = {"data": {"result": [{"metric": {"Hostname": "gpu-a"}, "value": [0, "37"]}]}}
    seen = series_nodes(answer)
    assert seen == {"gpu-a"}
    assert accelerator_verdict([], {}).status is Status.SKIPPED
    assert accelerator_verdict(["gpu-a"], {"utilisation": seen, "memory_used": seen}).status is Status.PASSED
    missing = accelerator_verdict(["gpu-a", "gpu-b"], {"utilisation": seen, "memory_used": seen})
    assert missing.status is Status.FAILED
    assert missing.evidence["missing"] == {"utilisation": ["gpu-b"], "memory_used": ["gpu-b"]}


def test_service_metrics_verdict():
    system = {"labels": {"namespace": "kube-system", "job": "kubelet"}, "health": "up"}
    down = {"labels": {"namespace": "team-climate", "job": "emulator"}, "health": "down"}
    up = {"labels": {"namespace": "team-climate", "job": "emulator"}, "health": "up"}
    assert targets_verdict([system]).status is Status.FAILED
    assert targets_verdict([system, down]).status is Status.FAILED
    result = targets_verdict([system, down, up])
    assert result.status is Status.PASSED and result.evidence["up"] == ["team-climate/emulator"]
