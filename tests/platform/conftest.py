"""Stacks rendered once per test session (under Pulumi mocks, as `ai4s platform render`)."""

from __future__ import annotations

import pytest

from infra.verify.render import render_stack

DIGEST_IMAGE = "ghcr.io/ai4s-kit/ai4s@sha256:" + "ab" * 32


@pytest.fixture(scope="session")
def stacks(tmp_path_factory):
    """stack name -> RenderResult of local, gpu and gpu-shared."""
    return {name: render_stack(name, tmp_path_factory.mktemp(f"stack-{name}")) for name in ("local", "gpu", "gpu-shared")}


CRDS = ["localqueues.kueue.x-k8s.io", "clusterqueues.kueue.x-k8s.io", "workloadpriorityclasses.kueue.x-k8s.io",
        "trainjobs.trainer.kubeflow.org", "clustertrainingruntimes.trainer.kubeflow.org", "rayjobs.ray.io",
        "inferenceservices.serving.kserve.io"]
SEEDED_KINDS = ("ClusterQueue", "LocalQueue", "WorkloadPriorityClass", "ClusterTrainingRuntime")


@pytest.fixture
def cluster(stacks, tmp_path):
    """(FakeCluster seeded with the local stack's queues, priorities, runtimes and CRDs, kubeconfig)."""
    from .fake_kube import FakeCluster, serve, write_kubeconfig

    fake = FakeCluster()
    fake.add_crds(CRDS)
    for obj in stacks["local"].objects:
        if obj["kind"] in SEEDED_KINDS:
            fake.add(obj)
    server, url = serve(fake)
    yield fake, write_kubeconfig(tmp_path / "kubeconfig", url)
    server.shutdown()
    server.server_close()
