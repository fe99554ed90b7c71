"""Pre-flight against a Kubernetes API test double (tests/platform/fake_kube.py: an HTTP server
on 127.0.0.1, reached through the real `kubernetes` client; no real API server exists here).
Each failure is exactly one line that names what to fix."""

from __future__ import annotations

import socket

import pytest

from reference_workloads.platform.preflight import preflight
from reference_workloads.platform.render import render_workload
from reference_workloads.platform.target import target_from_outputs

from .conftest import DIGEST_IMAGE
from .fake_kube import write_kubeconfig


def _stages(stacks, workload="drug-discovery", *, image=DIGEST_IMAGE, physics="ray", overrides=()):
    target = target_from_outputs(stacks["local"].outputs, stack="local", team=workload)
    return render_workload(workload, "ci_tiny", target, image=image, physics=physics, overrides=overrides)


def _one_line(findings, rule):
    lines = [str(f) for f in findings]
    assert len(lines) == 1 and "\n" not in lines[0] and lines[0].startswith(f"[{rule}]"), lines
    return lines[0]


def test_a_ready_cluster_passes(stacks, cluster):
    fake, kubeconfig = cluster
    assert preflight(kubeconfig, _stages(stacks)) == []
    assert preflight(kubeconfig) == []  # the conformance suite's call: API, CRDs, runtimes
    assert not [c for c in fake.calls if c.startswith(("POST", "DELETE"))]  # pre-flight creates nothing


def test_an_unreachable_api(tmp_path):
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    line = _one_line(preflight(write_kubeconfig(tmp_path / "k", f"http://127.0.0.1:{port}")), "api-reachable")
    assert f"cluster http://127.0.0.1:{port}" in line and "check that the cluster is up" in line
    assert "kubeconfig" in _one_line(preflight(tmp_path / "missing"), "api-reachable")


def test_a_missing_crd(stacks, cluster):
    fake, kubeconfig = cluster
    del fake.objects[("apiextensions.k8s.io", "customresourcedefinitions", "", "rayjobs.ray.io")]
    line = _one_line(preflight(kubeconfig, _stages(stacks)), "crds-present")
    assert "rayjobs.ray.io: not installed; install KubeRay" in line


def test_a_missing_runtime(stacks, cluster):
    fake, kubeconfig = cluster
    del fake.objects[("trainer.kubeflow.org", "clustertrainingruntimes", "", "ai4s-torch-distributed")]
    line = _one_line(preflight(kubeconfig, _stages(stacks, "climate", physics="mpi")[1:2]), "runtimes-present")
    assert "ClusterTrainingRuntime ai4s-torch-distributed: does not exist" in line


def test_a_missing_local_queue(stacks, cluster):
    fake, kubeconfig = cluster
    del fake.objects[("kueue.x-k8s.io", "localqueues", "team-drug-discovery", "drug-discovery")]
    line = _one_line(preflight(kubeconfig, _stages(stacks)[:1]), "local-queue")
    assert "LocalQueue team-drug-discovery/drug-discovery does not exist; pass the --team" in line


def test_a_request_that_can_never_fit(stacks, cluster):
    _, kubeconfig = cluster
    stages = _stages(stacks, "climate", physics="mpi", overrides=("resources.train.memory_gib=7",))
    line = _one_line(preflight(kubeconfig, stages), "fits-quota")
    assert "requests 7Gi memory, more than ClusterQueue climate can ever admit (6Gi" in line


def test_an_image_by_tag(stacks, cluster):
    _, kubeconfig = cluster
    line = _one_line(preflight(kubeconfig, _stages(stacks, image="ghcr.io/ai4s-kit/ai4s:0.4.0")[1:2]), "image-digest")
    assert "not named by digest; pass --image REPO@sha256:<digest>" in line


@pytest.mark.parametrize("missing", ["WorkloadPriorityClass"])
def test_a_missing_priority_class(stacks, cluster, missing):
    fake, kubeconfig = cluster
    del fake.objects[("kueue.x-k8s.io", "workloadpriorityclasses", "", "batch")]
    line = _one_line(preflight(kubeconfig, _stages(stacks)[1:2]), "priority-class")
    assert "WorkloadPriorityClass 'batch' does not exist; use one of ['backfill', 'interactive']" in line
