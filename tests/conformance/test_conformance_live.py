"""The live checks' decision logic and their clean-up, against an API test double: no
cluster exists where these tests run, so this is what is tested of them here."""

from __future__ import annotations

from types import SimpleNamespace as NS

import pytest

from conformance.checks import kube
from conformance.checks.observability import accelerator_verdict, series_nodes, targets_verdict
from conformance.checks.operator import probe_controller
from conformance.checks.scheduling import (
    gang_both_cases,
    gang_negative_case,
    gang_positive_verdict,
    gang_verdict,
)
from conformance.checks.security import accelerator_devices, probe_dev, probe_verdict
from conformance.registry import Status


class ApiError(Exception):
    def __init__(self, status):
        super().__init__(f"HTTP {status}")
        self.status = status


class FakeCluster:
    """An API test double: records what a check creates and deletes, and answers like a
    cluster whose behaviour is set per test. No cluster exists here; this is the only place
    the live checks' logic runs in CI."""

    def __init__(self, *, gpu_nodes=(), gpus_per_node=1, pod_listings=None, admits_fitting=True, overcommits=False, workloads=1,
                 kueue_served=True, dev_listing="null\nzero\n", operator_ready=1, reject_status=422,
                 reconciles=True, custom=None, raw=None, node_labels=None):
        self.created, self.deleted = [], []
        self.gpus_per_node, self.pod_listings, self.pods = gpus_per_node, pod_listings or {}, {}
        self.gpu_nodes, self.admits_fitting, self.overcommits = gpu_nodes, admits_fitting, overcommits
        self.workloads, self.kueue_served, self.dev_listing = workloads, kueue_served, dev_listing
        self.operator_ready, self.reject_status, self.reconciles = operator_ready, reject_status, reconciles
        self.custom_objects, self.raw_paths, self.node_labels = custom or {}, raw or {}, node_labels or {}
        self.quota_by_queue, self.queue_by_ns, self.job_by_ns, self.ray_by_ns = {}, {}, {}, {}
        self.api = kube.Api(core=self, apps=self, batch=self, custom=self, raw=self)

    # raw
    def get(self, path):
        return self.raw_paths.get(path)

    # core
    def create_namespace(self, body):
        self.created.append(("Namespace", body["metadata"]["name"]))

    def delete_namespace(self, name):
        self.deleted.append(("Namespace", name))

    def list_node(self):
        nodes = [NS(metadata=NS(name=n, labels=self.node_labels.get(n, {})),
                    status=NS(allocatable={"nvidia.com/gpu": str(self.gpus_per_node)})) for n in self.gpu_nodes]
        nodes.append(NS(metadata=NS(name="cpu-node", labels={}), status=NS(allocatable={"cpu": "8"})))
        return NS(items=nodes)

    def _gang_fits(self, ns):
        job = self.job_by_ns[ns]["spec"]
        cpu = job["template"]["spec"]["containers"][0]["resources"]["requests"]["cpu"]
        quota = self.quota_by_queue[self.queue_by_ns[ns]]
        return int(cpu[:-1]) * job["parallelism"] <= int(quota[:-1])

    def _gang_admitted(self, ns):
        if ns not in self.job_by_ns:
            return False
        return self.overcommits or (self.admits_fitting and self._gang_fits(ns))

    def list_namespaced_pod(self, ns, label_selector=None):
        if label_selector == "ray.io/cluster=valid":
            return NS(items=[object()] if self.reconciles and ns in self.ray_by_ns else [])
        running = self._gang_admitted(ns)
        return NS(items=[object()] * (self.job_by_ns[ns]["spec"]["parallelism"] if running else 0))

    def create_namespaced_pod(self, ns, pod):
        self.created.append(("Pod", pod["metadata"]["name"]))
        self.pods[pod["metadata"]["name"]] = pod
        self.pod = self.pods.get("dev-probe", pod)

    def read_namespaced_pod(self, name, ns):
        return NS(status=NS(phase="Succeeded"))

    def read_namespaced_pod_log(self, name, ns):
        return self.pod_listings.get(name, self.dev_listing)

    def list_pod_for_all_namespaces(self, label_selector):
        roles = self.custom_objects.get("pod-roles", [])
        return NS(items=[NS(metadata=NS(labels={label_selector: r})) for r in roles])

    # batch
    def create_namespaced_job(self, ns, job):
        self.created.append(("Job", job["metadata"]["name"]))
        self.job_by_ns[ns] = job
        self.job = job

    # apps
    def list_deployment_for_all_namespaces(self, label_selector):
        ready = self.operator_ready if "kuberay" in label_selector else self.custom_objects.get("autoscaler")
        if ready is None:
            return NS(items=[])
        return NS(items=[NS(status=NS(ready_replicas=ready))])

    # custom
    def create_cluster_custom_object(self, group, version, plural, body):
        if not self.kueue_served:
            raise ApiError(404)
        self.created.append((plural, body["metadata"]["name"]))
        self.quota_by_queue[body["metadata"]["name"]] = \
            body["spec"]["resourceGroups"][0]["flavors"][0]["resources"][0]["nominalQuota"]
        self.cluster_queues = [*getattr(self, "cluster_queues", []), body]
        return body

    def delete_cluster_custom_object(self, group, version, plural, name):
        self.deleted.append((plural, name))

    def create_namespaced_custom_object(self, group, version, ns, plural, body, dry_run=None):
        if plural == "rayclusters" and dry_run == "All":
            if self.reject_status:
                raise ApiError(self.reject_status)
            return
        if plural == "rayclusters":
            self.ray_by_ns[ns] = body
        if plural == "localqueues":
            self.queue_by_ns[ns] = body["spec"]["clusterQueue"]
        self.created.append((plural, body["metadata"]["name"]))

    def list_namespaced_custom_object(self, group, version, ns, plural):
        admitted = self._gang_admitted(ns)
        conditions = [{"type": "Admitted", "status": "True"}] if admitted else []
        return {"items": [{"status": {"conditions": conditions}}] * self.workloads}

    def list_cluster_custom_object(self, group, version, plural):
        if plural not in self.custom_objects:
            raise ApiError(404)
        return {"items": self.custom_objects[plural]}


def namespaces(cluster, which):
    return [name for kind, name in getattr(cluster, which) if kind == "Namespace"]


def test_gang_positive_and_negative_cases_pass_and_everything_is_cleaned_up():
    cluster = FakeCluster()
    result = gang_both_cases(cluster.api, wait_s=0, poll_s=0)
    assert result.status is Status.PASSED, result.message
    assert set(result.evidence["cases"]) == {"positive", "negative"}
    assert result.evidence["cases"]["positive"]["pods_started"] == 2
    assert namespaces(cluster, "created") == namespaces(cluster, "deleted") != []
    assert len(namespaces(cluster, "created")) == 2
    assert sorted(n for k, n in cluster.deleted if k == "clusterqueues") == \
        sorted(q["metadata"]["name"] for q in cluster.cluster_queues)
    # the negative gang really exceeds its queue (2 x 100m against 100m), the positive fits (200m)
    assert [q["spec"]["resourceGroups"][0]["flavors"][0]["resources"][0]["nominalQuota"]
            for q in cluster.cluster_queues] == ["200m", "100m"]
    assert cluster.job["metadata"]["labels"]["kueue.x-k8s.io/queue-name"] == "gang"


@pytest.mark.parametrize("cluster, status, case", [
    (FakeCluster(overcommits=True), Status.FAILED, "negative"),   # admits a gang over quota
    (FakeCluster(admits_fitting=False), Status.FAILED, "positive"),  # never admits anything
    (FakeCluster(workloads=0), Status.UNKNOWN, "positive"),
    (FakeCluster(kueue_served=False), Status.FAILED, "positive"),
])
def test_gang_verdicts(cluster, status, case):
    result = gang_both_cases(cluster.api, wait_s=0, poll_s=0)
    assert result.status is status
    assert result.evidence["cases"][case]["status"] == status.value
    assert namespaces(cluster, "created") == namespaces(cluster, "deleted")


def test_gang_negative_case_alone_catches_an_overcommitting_scheduler():
    assert gang_negative_case(FakeCluster().api, wait_s=0, poll_s=0).status is Status.PASSED
    assert gang_negative_case(FakeCluster(overcommits=True).api, wait_s=0, poll_s=0).status is Status.FAILED


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
    assert gang_positive_verdict(pods_started=2, workload_seen=True, admitted=True).status is Status.PASSED
    assert gang_positive_verdict(pods_started=1, workload_seen=True, admitted=True).status is Status.FAILED


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


@pytest.mark.parametrize("listings, status", [
    ({"gpu-probe-1": "nvidiactl nvidia0 null", "gpu-probe-2": "nvidiactl nvidia1 null"}, Status.PASSED),
    ({"gpu-probe-1": "nvidia0 nvidia1", "gpu-probe-2": "nvidia1"}, Status.FAILED),  # sees both GPUs
    ({"gpu-probe-1": "nvidia0", "gpu-probe-2": "nvidia0"}, Status.FAILED),  # two pods, one GPU
])
def test_two_pods_with_one_accelerator_each_are_isolated(listings, status):
    cluster = FakeCluster(gpu_nodes=("gpu-a",), gpus_per_node=2, pod_listings=listings)
    result = probe_dev(cluster.api)
    assert result.status is status, result.message
    numbered = [sorted(d for d in v.split() if d[-1].isdigit()) for v in listings.values()]
    assert result.evidence["two_pods"]["devices_seen"] == numbered
    requested = cluster.pods["gpu-probe-1"]["spec"]["containers"][0]["resources"]
    assert requested["requests"]["nvidia.com/gpu"] == requested["limits"]["nvidia.com/gpu"] == "1"
    assert namespaces(cluster, "deleted") == namespaces(cluster, "created")


def test_one_accelerator_per_node_leaves_the_pair_test_not_applicable():
    result = probe_dev(FakeCluster(gpu_nodes=("gpu-a",)).api)
    assert result.status is Status.PASSED
    assert result.evidence["two_pods"]["status"] == "skipped"


@pytest.mark.parametrize("ready, reject, reconciles, status", [
    (1, 422, True, Status.PASSED), (1, 400, True, Status.PASSED), (1, None, True, Status.FAILED),
    (0, 422, True, Status.FAILED), (None, 422, True, Status.FAILED), (1, 500, True, Status.FAILED),
    (1, 422, False, Status.FAILED),  # webhook fine, but the operator never reconciles
])
def test_robust_controller(ready, reject, reconciles, status):
    cluster = FakeCluster(operator_ready=ready, reject_status=reject, reconciles=reconciles)
    result = probe_controller(cluster.api, wait_s=0, poll_s=0)
    assert result.status is status, result.message
    assert namespaces(cluster, "deleted") == namespaces(cluster, "created")
    if status is Status.PASSED:
        assert ("rayclusters", "valid") in cluster.created and result.evidence["valid_cr_reconciled"] is True


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


def accepted(kind="Accepted"):
    return {"conditions": [{"type": kind, "status": "True"}]}


GATEWAY_OBJECTS = {
    "gatewayclasses": [{"metadata": {"name": "envoy"}, "status": accepted()}],
    "gateways": [{"metadata": {"name": "kserve-ingress-gateway", "namespace": "kserve"},
                  "spec": {"gatewayClassName": "envoy"}, "status": accepted("Programmed")}],
    "httproutes": [{"metadata": {"name": "emulator", "namespace": "team-climate"},
                    "spec": {"rules": [{"backendRefs": [{"name": "emulator-predictor"}]}]},
                    "status": {"parents": [{"parentRef": {"name": "kserve-ingress-gateway"},
                                            "conditions": [{"type": "Accepted", "status": "True"}]}]}}],
    "inferenceservices": [{"metadata": {"name": "emulator", "namespace": "team-climate"}, "status": accepted("Ready")}],
}


def without(plural, **changes):
    return {**GATEWAY_OBJECTS, plural: changes.get("items", [])}


@pytest.mark.parametrize("objects, status", [
    (GATEWAY_OBJECTS, Status.PASSED),
    ({k: v for k, v in GATEWAY_OBJECTS.items() if k != "gatewayclasses"}, Status.FAILED),  # no Gateway API
    ({k: v for k, v in GATEWAY_OBJECTS.items() if k != "inferenceservices"}, Status.FAILED),  # no KServe
    (without("gateways"), Status.FAILED),
    (without("httproutes"), Status.FAILED),  # the model is not routed
    (without("inferenceservices"), Status.UNKNOWN),  # nothing served to route to
])
def test_ai_inference_through_the_gateway_api(tmp_path, objects, status):
    from conformance.checks import inference

    cluster = FakeCluster(custom=objects)
    result = inference.inference_verdict(*(kube.list_custom(cluster.api, *api, plural) for api, plural in (
        (inference.GATEWAY, "gatewayclasses"), (inference.GATEWAY, "gateways"),
        (inference.GATEWAY, "httproutes"), (inference.KSERVE, "inferenceservices"))))
    assert result.status is status, result.message
    if status is Status.PASSED:
        assert result.evidence["routed"] == ["team-climate/emulator via emulator"]


def test_networking_shoulds():
    from conformance.checks.inference import (
        disaggregated_verdict,
        inference_extension_verdict,
        network_verdict,
    )

    assert inference_extension_verdict(None).status is Status.FAILED
    assert inference_extension_verdict([]).status is Status.PASSED
    assert network_verdict([], None).status is Status.SKIPPED
    assert network_verdict([{"spec": {"driver": "dra.net"}}], None).evidence["dra_network_drivers"] == ["dra.net"]
    assert disaggregated_verdict(["prefill", "decode"]).status is Status.PASSED
    assert disaggregated_verdict(["decode"]).status is Status.FAILED


@pytest.mark.parametrize("kwargs, status", [
    ({"autoscaler_ready": None, "node_pools": None, "accelerator_nodes": []}, Status.SKIPPED),
    ({"autoscaler_ready": 1, "node_pools": None, "accelerator_nodes": ["gpu-a"]}, Status.PASSED),
    ({"autoscaler_ready": 0, "node_pools": None, "accelerator_nodes": ["gpu-a"]}, Status.FAILED),
    ({"autoscaler_ready": 1, "node_pools": None, "accelerator_nodes": []}, Status.FAILED),
    ({"autoscaler_ready": None, "accelerator_nodes": [], "node_pools": [
        {"metadata": {"name": "gpu"}, "spec": {"template": {"spec": {"requirements": [
            {"key": "karpenter.k8s.aws/instance-gpu-count"}]}}}}]}, Status.PASSED),
    ({"autoscaler_ready": None, "accelerator_nodes": [], "node_pools": [
        {"metadata": {"name": "cpu"}, "spec": {"template": {"spec": {"requirements": [
            {"key": "kubernetes.io/arch"}]}}}}]}, Status.FAILED),
])
def test_cluster_autoscaling_verdict(kwargs, status):
    from conformance.checks.autoscaling import cluster_autoscaling_verdict

    result = cluster_autoscaling_verdict(**kwargs)
    assert result.status is status, result.message
    assert (result.evidence.get("not_applicable") is True) == (status is Status.SKIPPED)


def hpa(kind="Pods", active=True):
    return {"metadata": {"name": "serve", "namespace": "team-climate"},
            "spec": {"metrics": [{"type": kind}]},
            "status": {"conditions": [{"type": "ScalingActive", "status": "True" if active else "False"}]}}


@pytest.mark.parametrize("raw, status", [
    ({"/apis/custom.metrics.k8s.io/v1beta2": {}, "/apis/autoscaling/v2/horizontalpodautoscalers": {"items": [hpa()]}},
     Status.PASSED),
    ({"/apis/autoscaling/v2/horizontalpodautoscalers": {"items": [hpa()]}}, Status.FAILED),  # no metrics API
    ({"/apis/custom.metrics.k8s.io/v1beta2": {},
      "/apis/autoscaling/v2/horizontalpodautoscalers": {"items": [hpa(active=False)]}}, Status.FAILED),
    ({"/apis/custom.metrics.k8s.io/v1beta2": {},
      "/apis/autoscaling/v2/horizontalpodautoscalers": {"items": [hpa(kind="Resource")]}}, Status.UNKNOWN),
])
def test_pod_autoscaling_through_the_api(tmp_path, raw, status):
    from conformance.checks import autoscaling

    ctx_api = FakeCluster(raw=raw).api
    served = [p for p in autoscaling.CUSTOM_METRICS_APIS if ctx_api.raw.get(p) is not None]
    hpas = (ctx_api.raw.get("/apis/autoscaling/v2/horizontalpodautoscalers") or {}).get("items") or []
    assert autoscaling.pod_autoscaling_verdict(served, hpas).status is status


def test_accelerator_shoulds():
    from conformance.checks.accelerators import driver_verdict, vgpu_verdict
    from conformance.checks.security import sandbox_verdict

    assert driver_verdict({}).status is Status.SKIPPED
    assert driver_verdict({"gpu-a": {"nvidia.com/cuda.driver.major": "570"}}).status is Status.PASSED
    missing = driver_verdict({"gpu-a": {"nvidia.com/cuda.driver.major": "570"}, "gpu-b": {}})
    assert missing.status is Status.FAILED and "gpu-b" in missing.message
    assert vgpu_verdict([], ["gpu-a"]).status is Status.SKIPPED
    assert vgpu_verdict(["vgpu-a"], ["gpu-a"]).status is Status.FAILED
    assert sandbox_verdict([{"handler": "runc"}]).status is Status.FAILED
    assert sandbox_verdict([{"handler": "runc"}, {"handler": "runsc"}]).status is Status.PASSED


def test_dra_rule_on_release_values():
    from conformance.checks.accelerators import dra_problems

    operator = {"chart": "gpu-operator", "values": {"devicePlugin": {"enabled": False}}}
    dra = {"chart": "nvidia-dra-driver-gpu", "values": {}}
    assert dra_problems([operator]) is None  # DRA not enabled: does not apply
    assert dra_problems([operator, dra]) == []
    doubled = {"chart": "gpu-operator", "values": {"devicePlugin": {"enabled": True}}}
    assert "advertised twice" in dra_problems([doubled, dra])[0]
