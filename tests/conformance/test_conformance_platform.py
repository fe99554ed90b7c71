"""The offline platform checks pass on the real stacks (rendered once for the module), and
their rules catch what they claim to catch."""

from __future__ import annotations

import copy

import pytest

from conformance.checks import platform, scheduling, security
from conformance.checks.platform import _release_problems
from conformance.registry import Status

from .helpers import context

OFFLINE = (platform.stacks_render, platform.objects_validate, platform.pod_policies,
           platform.versions_pinned, security.tenants_restricted,
           scheduling.gang_admission_configured, scheduling.gpu_partitions)


@pytest.fixture(scope="module")
def ctx(tmp_path_factory):
    ctx = context(tmp_path_factory.mktemp("platform"))
    platform.renders(ctx)  # the slow part, once
    return ctx


@pytest.mark.parametrize("fn", OFFLINE, ids=lambda f: f.__name__)
def test_offline_checks_pass_on_the_real_stacks(ctx, fn):
    result = fn(ctx)
    assert result.status is Status.PASSED, result.message


def test_evidence_names_what_was_checked(ctx):
    render = platform.stacks_render(ctx).evidence["stacks"]
    assert set(render) == {"local", "gpu"} and all(s["objects"] > 20 for s in render.values())
    gang = scheduling.gang_admission_configured(ctx).evidence["wait_for_pods_ready"]
    assert all(w["timeout"] and w["requeuingStrategy"] and w["blockAdmission"] is False for w in gang.values())
    mig = scheduling.gpu_partitions(ctx).evidence["stacks"]["gpu"]
    assert mig["mig_flavors"] and mig["mig_resources_with_quota"]


def test_gang_rules_catch_a_missing_wait_for_pods_ready_and_a_queueless_tenant(ctx):
    rendered = platform.renders(ctx)["local"]
    config = scheduling.kueue_configuration(rendered.objects, rendered.releases)
    assert scheduling.gang_problems(config, rendered.objects) == []
    no_gang = {k: v for k, v in config.items() if k != "waitForPodsReady"}
    assert "no waitForPodsReady" in scheduling.gang_problems(no_gang, rendered.objects)[0]
    no_requeue = {**config, "waitForPodsReady": {k: v for k, v in config["waitForPodsReady"].items()
                                                 if k != "requeuingStrategy"}}
    assert "requeuingStrategy" in scheduling.gang_problems(no_requeue, rendered.objects)[0]
    without_queues = [o for o in rendered.objects if o["kind"] != "LocalQueue"]
    assert any("has no LocalQueue" in p for p in scheduling.gang_problems(config, without_queues))
    assert scheduling.gang_problems(None, rendered.objects) == ["no Kueue controller Configuration is rendered"]


def test_tenant_rule_catches_a_namespace_without_restricted(ctx):
    rendered = platform.renders(ctx)["local"]
    objects = copy.deepcopy(rendered.objects)
    tenant = next(o for o in objects if o["kind"] == "Namespace"
                  and o["metadata"].get("labels", {}).get("ai4s.dev/tenant") == "true")
    tenant["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] = "baseline"
    from infra.verify import policy

    assert [v.rule for v in policy.check_tenants(objects)] == ["tenant-restricted"]


@pytest.mark.parametrize("version, problem", [
    ("latest", "is not exact"), ("", "is not exact"), ("^1.2", "is not exact"),
    ("0.19.1", "but infra/versions.py pins 0.19.2"),
])
def test_release_version_rules(version, problem):
    release = {"namespace": "kueue-system", "name": "kueue", "chart": "oci://registry.k8s.io/kueue/charts/kueue",
               "version": version}
    assert problem in _release_problems(release, {"kueue": "0.19.2"})[0]
    assert _release_problems({**release, "version": "0.19.2"}, {"kueue": "0.19.2"}) == []
    assert "not in infra/versions.py" in _release_problems({**release, "version": "1.0.0", "chart": "other"},
                                                           {"kueue": "0.19.2"})[0]


def test_pod_policy_covers_helm_values(ctx):
    # issue 12, row 5: runAsNonRoot false in the collector's Helm values
    rendered = platform.renders(ctx)["local"]
    collector = next(r for r in rendered.releases if r["chart"] == "opentelemetry-collector")
    original = copy.deepcopy(collector["values"])
    try:
        collector["values"]["securityContext"]["runAsNonRoot"] = False
        result = platform.pod_policies(ctx)
    finally:
        collector["values"] = original
    assert result.status is Status.FAILED
    assert any("values.securityContext: runAsNonRoot is false" in v
               for v in result.evidence["violations"]["local"]["first"])
    assert platform.pod_policies(ctx).status is Status.PASSED


def test_dra_check_does_not_apply_to_the_committed_stacks(ctx):
    from conformance.checks.accelerators import dra_where_enabled

    result = dra_where_enabled(ctx)
    assert result.status is Status.SKIPPED and result.evidence["not_applicable"] is True
