"""Policy checks: a compliant pod passes; each rule catches its violation, wherever nested."""

from __future__ import annotations

import copy

import pytest

from infra.components.trainer import restricted_container
from infra.verify import policy

RESOURCES = {"requests": {"cpu": "100m", "memory": "64Mi"}, "limits": {"cpu": "1", "memory": "1Gi"}}


def deployment(**pod_extra) -> dict:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "d", "namespace": "team-a"},
        "spec": {
            "template": {
                "spec": {
                    "securityContext": {"runAsNonRoot": True},
                    "containers": [restricted_container("c", "ghcr.io/x/y:1.2.3", RESOURCES)],
                    **pod_extra,
                }
            }
        },
    }


def _container_set(obj: dict, key: str, value) -> dict:
    obj = copy.deepcopy(obj)
    c = obj["spec"]["template"]["spec"]["containers"][0]
    if value is None:
        c.pop(key, None)
    else:
        c[key] = value
    return obj


def rules(objects, releases=()) -> set[str]:
    return {v.rule for v in policy.check(objects, releases)}


def test_compliant_pod_passes():
    assert policy.check([deployment()]) == []


@pytest.mark.parametrize(
    ("obj", "rule"),
    [
        (
            _container_set(
                deployment(),
                "securityContext",
                {
                    "privileged": True,
                    "runAsNonRoot": True,
                    "allowPrivilegeEscalation": False,
                    "capabilities": {"drop": ["ALL"]},
                },
            ),
            "no-privileged",
        ),
        (
            _container_set(
                deployment(),
                "securityContext",
                {"runAsNonRoot": True, "capabilities": {"drop": ["ALL"]}},
            ),
            "no-privileged",
        ),
        (
            _container_set(
                deployment(),
                "securityContext",
                {"runAsNonRoot": True, "allowPrivilegeEscalation": False},
            ),
            "no-privileged",
        ),
        (deployment(volumes=[{"name": "h", "hostPath": {"path": "/"}}]), "no-host-access"),
        (deployment(hostNetwork=True), "no-host-access"),
        (
            _container_set(
                deployment(securityContext={}),
                "securityContext",
                {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}},
            ),
            "non-root",
        ),
        (
            _container_set(
                deployment(),
                "securityContext",
                {
                    "runAsNonRoot": True,
                    "runAsUser": 0,
                    "allowPrivilegeEscalation": False,
                    "capabilities": {"drop": ["ALL"]},
                },
            ),
            "non-root",
        ),
        (_container_set(deployment(), "resources", {"requests": {"cpu": "1"}}), "resources-set"),
        (_container_set(deployment(), "resources", None), "resources-set"),
        (_container_set(deployment(), "image", "ghcr.io/x/y:latest"), "image-pinned"),
        (_container_set(deployment(), "image", "ghcr.io/x/y"), "image-pinned"),
        (_container_set(deployment(), "image", "localhost:5000/y"), "image-pinned"),
    ],
    ids=[
        "privileged",
        "escalation",
        "caps",
        "hostPath",
        "hostNetwork",
        "no-nonroot",
        "uid0",
        "no-limits",
        "no-resources",
        "latest",
        "untagged",
        "registry-port-untagged",
    ],
)
def test_each_rule_catches_its_violation(obj, rule):
    assert rule in rules([obj])


def test_digest_pinned_image_passes():
    assert (
        policy.check([_container_set(deployment(), "image", "ghcr.io/x/y@sha256:" + "a" * 64)])
        == []
    )


def test_pod_spec_nested_in_custom_resource_is_checked():
    cr = {
        "apiVersion": "trainer.kubeflow.org/v1alpha1",
        "kind": "ClusterTrainingRuntime",
        "metadata": {"name": "r"},
        "spec": {
            "template": {
                "spec": {
                    "replicatedJobs": [
                        {
                            "name": "n",
                            "template": {
                                "spec": {
                                    "template": {
                                        "spec": {
                                            "containers": [
                                                {
                                                    "name": "c",
                                                    "image": "x:1",
                                                    "securityContext": {"privileged": True},
                                                }
                                            ]
                                        }
                                    }
                                }
                            },
                        }
                    ]
                }
            }
        },
    }
    violations = policy.check([cr])
    assert {"no-privileged", "non-root", "resources-set"} <= {v.rule for v in violations}
    assert "replicatedJobs[0]" in violations[0].message


def tenant_ns(enforce="restricted") -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {
            "name": "team-a",
            "labels": {policy.TENANT_LABEL: "true", policy.PSS_ENFORCE: enforce},
        },
    }


def isolation() -> list[dict]:
    meta = {"namespace": "team-a"}
    return [
        {"kind": "ResourceQuota", "metadata": {"name": "q", **meta}},
        {"kind": "LimitRange", "metadata": {"name": "l", **meta}},
        {
            "kind": "NetworkPolicy",
            "metadata": {"name": "deny", **meta},
            "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]},
        },
    ]


def test_tenant_namespace_isolated_and_restricted_passes():
    assert policy.check([tenant_ns(), *isolation()]) == []


def test_tenant_namespace_must_be_restricted():
    assert rules([tenant_ns("baseline"), *isolation()]) == {"tenant-restricted"}


@pytest.mark.parametrize("drop", [0, 1, 2])
def test_tenant_namespace_needs_quota_limits_and_default_deny(drop):
    objects = isolation()
    del objects[drop]
    assert rules([tenant_ns(), *objects]) == {"tenant-isolated"}


def test_allow_rules_do_not_count_as_default_deny():
    objects = isolation()
    objects[2]["spec"]["ingress"] = [{"from": [{"podSelector": {}}]}]
    assert rules([tenant_ns(), *objects]) == {"tenant-isolated"}


def test_helm_values_with_latest_tag_are_flagged():
    good = {"name": "r", "namespace": "n", "values": {"image": {"tag": "v1.5.1"}}}
    bad = {
        "name": "r",
        "namespace": "n",
        "values": {"controller": {"image": {"tag": "latest"}}, "sidecar": {"image": "busybox"}},
    }
    assert policy.check([], [good]) == []
    assert [v.message for v in policy.check([], [bad])] == [
        "values.controller.image.tag is 'latest'",
        "values.sidecar.image: image 'busybox' has no tag (resolves to latest)",
    ]


def test_violations_are_validation_findings_with_a_rule():
    """Policy and validation report one kind of finding, so callers treat both alike."""
    from infra.verify.findings import Finding

    bad = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "n"},
           "spec": {"containers": [{"name": "c", "image": "busybox:latest"}]}}
    found = policy.check([bad], [])
    assert found and all(isinstance(v, Finding) for v in found)
    assert all(str(v).startswith(f"[{v.rule}] Pod n/p: ") for v in found)


def _sc(**extra) -> dict:
    return {"runAsNonRoot": True, "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"]}, **extra}


def test_net_bind_service_is_the_one_capability_that_may_be_added():
    ok = _container_set(deployment(), "securityContext",
                        _sc(capabilities={"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]},
                            seccompProfile={"type": "RuntimeDefault"}))
    assert policy.check([ok]) == []
    bad = _container_set(deployment(), "securityContext",
                         _sc(capabilities={"drop": ["ALL"], "add": ["NET_BIND_SERVICE", "SYS_ADMIN"]}))
    assert "no-privileged" in rules([bad])


def test_seccomp_profile_is_required_and_never_unconfined():
    no_profile = _container_set(deployment(), "securityContext", _sc())
    assert "seccomp-profile" in rules([no_profile])
    pod_level = copy.deepcopy(no_profile)
    pod_level["spec"]["template"]["spec"]["securityContext"]["seccompProfile"] = {"type": "RuntimeDefault"}
    assert policy.check([pod_level]) == []
    unconfined = _container_set(deployment(), "securityContext", _sc(seccompProfile={"type": "Unconfined"}))
    assert "seccomp-profile" in rules([unconfined])


@pytest.mark.parametrize(("values", "rule"), [
    ({"securityContext": {"runAsNonRoot": False}}, "non-root"),
    ({"podSecurityContext": {"runAsUser": 0}}, "non-root"),
    ({"manager": {"containerSecurityContext": {"privileged": True}}}, "no-privileged"),
    ({"securityContext": {"allowPrivilegeEscalation": True}}, "no-privileged"),
    ({"securityContext": {"capabilities": {"add": ["NET_ADMIN"]}}}, "no-privileged"),
    ({"podSecurityContext": {"seccompProfile": {"type": "Unconfined"}}}, "seccomp-profile"),
])
def test_security_contexts_in_helm_values_are_checked(values, rule):
    release = {"name": "c", "namespace": "ns", "values": values}
    assert rule in rules([], [release])


def test_collector_values_with_run_as_non_root_false_fail():
    from test_secrets_harness import render_services

    rendered = render_services()
    release = copy.deepcopy(rendered.release("ai4s-obs-otel-collector"))
    assert policy.check([], [release]) == []
    release["values"]["securityContext"]["runAsNonRoot"] = False
    found = [str(v) for v in policy.check([], [release])]
    assert any("[non-root]" in f and "values.securityContext" in f for f in found), found


def _tenant_ns(name: str = "team-a") -> dict:
    return {"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": name, "labels": {policy.TENANT_LABEL: "true"}}}


def test_team_workloads_must_name_images_by_digest():
    job = deployment(securityContext={"runAsNonRoot": True})
    assert "image-digest" in rules([_tenant_ns(), job])
    pinned = _container_set(job, "image", "ghcr.io/x/y@sha256:" + "a" * 64)
    assert "image-digest" not in rules([_tenant_ns(), pinned])
    # platform namespaces keep tag pins (their images come from infra/versions.py)
    assert "image-digest" not in rules([job])
