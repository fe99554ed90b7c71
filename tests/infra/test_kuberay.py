"""KubeRay component: pinned operator release in its own restricted namespace."""

from __future__ import annotations

import pulumi
from compute_helpers import by_name

from infra.components.kuberay import KubeRay, KubeRayArgs
from infra.verify.render import run_under_mocks


@pulumi.runtime.test
def test_namespace_is_restricted(monitor):
    k = KubeRay("kuberay", KubeRayArgs())

    def check(meta):
        assert meta["name"] == "kuberay-system"
        assert meta["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"

    return k.namespace.metadata.apply(check)


def test_release_is_pinned_cluster_wide_and_after_namespace():
    regs = run_under_mocks(lambda: KubeRay("kuberay", KubeRayArgs(namespace="ray"))).registrations
    names = by_name(regs)
    rel = names["kuberay-release"]
    assert (rel.inputs["chart"], rel.inputs["version"]) == ("kuberay-operator", "1.5.1")
    assert rel.inputs["repositoryOpts"] == {"repo": "https://ray-project.github.io/kuberay-helm/"}
    assert rel.inputs["namespace"] == "ray"
    assert rel.inputs["values"]["image"]["tag"] == "v1.5.1"
    assert rel.inputs["values"]["singleNamespaceInstall"] is False
    assert names["kuberay-ns"].urn in rel.dependencies
