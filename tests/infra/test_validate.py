"""Validation of built-in objects (kubernetes-validate, strict) and cross-object references."""

from __future__ import annotations

import kubernetes_validate
import pytest

from infra.verify.validate import (
    check_references,
    check_release_namespaces,
    selector_matches,
    validate_object,
    validate_objects,
)
from infra.versions import KUBERNETES_VALIDATION_TARGET

NS = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team-a"}}
FLAVOR = {
    "apiVersion": "kueue.x-k8s.io/v1beta2",
    "kind": "ResourceFlavor",
    "metadata": {"name": "cpu"},
}
CQ = {
    "apiVersion": "kueue.x-k8s.io/v1beta2",
    "kind": "ClusterQueue",
    "metadata": {"name": "a"},
    "spec": {
        "cohortName": "ai4s",
        "namespaceSelector": {},
        "resourceGroups": [
            {
                "coveredResources": ["cpu", "memory"],
                "flavors": [
                    {
                        "name": "cpu",
                        "resources": [
                            {"name": "cpu", "nominalQuota": "1"},
                            {"name": "memory", "nominalQuota": "1Gi"},
                        ],
                    }
                ],
            }
        ],
    },
}
LQ = {
    "apiVersion": "kueue.x-k8s.io/v1beta2",
    "kind": "LocalQueue",
    "metadata": {"name": "a", "namespace": "team-a"},
    "spec": {"clusterQueue": "a"},
}


def test_target_is_a_current_kubernetes():
    major, minor, _ = (int(x) for x in KUBERNETES_VALIDATION_TARGET.split("."))
    assert (major, minor) >= (1, 33)


def test_builtin_valid_and_strict_unknown_field():
    assert validate_object(NS) == []
    bad = dict(NS, spec={"finalizers": ["kubernetes"], "finaliser": []})
    findings = validate_object(bad)
    assert findings and "finaliser" in findings[0].message


def test_builtin_type_error_names_the_path():
    quota = {
        "apiVersion": "v1",
        "kind": "ResourceQuota",
        "metadata": {"name": "q", "namespace": "team-a"},
        "spec": {"hard": "lots"},
    }
    findings = validate_object(quota)
    assert findings and findings[0].message.startswith("spec.hard")


def test_missing_api_version_is_an_error():
    assert "apiVersion and kind" in validate_object({"kind": "Namespace"})[0].message


def test_consistent_set_has_no_reference_findings():
    assert validate_objects([NS, FLAVOR, CQ, LQ]) == []


def test_missing_flavor_queue_and_namespace_are_reported():
    messages = [f.message for f in check_references([CQ, LQ])]
    assert "ResourceFlavor 'cpu' does not exist" in messages
    assert "namespace 'team-a' is not created by this stack" in messages
    messages = [f.message for f in check_references([NS, FLAVOR, LQ])]
    assert messages == ["ClusterQueue 'a' does not exist"]


def test_flavor_resources_must_match_covered_resources():
    cq = {
        **CQ,
        "spec": {
            **CQ["spec"],
            "resourceGroups": [
                {
                    "coveredResources": ["cpu", "memory"],
                    "flavors": [
                        {"name": "cpu", "resources": [{"name": "cpu", "nominalQuota": "1"}]}
                    ],
                }
            ],
        },
    }
    messages = [f.message for f in check_references([FLAVOR, cq])]
    assert any("must match coveredResources" in m for m in messages)


def test_flavor_in_two_groups_and_borrowing_without_cohort_are_reported():
    group = CQ["spec"]["resourceGroups"][0]
    borrow = {
        "coveredResources": ["gpu"],
        "flavors": [
            {
                "name": "cpu",
                "resources": [{"name": "gpu", "nominalQuota": "1", "borrowingLimit": "1"}],
            }
        ],
    }
    cq = {**CQ, "spec": {"resourceGroups": [group, borrow]}}
    messages = " ".join(f.message for f in check_references([FLAVOR, cq]))
    assert "already used by another resource group" in messages
    assert "need spec.cohortName" in messages


def test_local_queue_namespace_must_be_admitted_by_its_cluster_queue():
    only_b = {
        **CQ,
        "spec": {
            **CQ["spec"],
            "namespaceSelector": {
                "matchExpressions": [
                    {"key": "kubernetes.io/metadata.name", "operator": "In", "values": ["team-b"]}
                ]
            },
        },
    }
    messages = [f.message for f in check_references([NS, FLAVOR, only_b, LQ])]
    assert len(messages) == 1 and "does not admit namespace 'team-a'" in messages[0]
    no_selector = {**CQ, "spec": {k: v for k, v in CQ["spec"].items() if k != "namespaceSelector"}}
    assert check_references([NS, FLAVOR, no_selector, LQ])  # a nil selector admits nothing


@pytest.mark.parametrize(
    ("selector", "matches"),
    [
        ({}, True),
        (None, False),
        ({"matchLabels": {"team": "a"}}, True),
        ({"matchLabels": {"team": "b"}}, False),
        ({"matchExpressions": [{"key": "team", "operator": "In", "values": ["a", "b"]}]}, True),
        ({"matchExpressions": [{"key": "team", "operator": "NotIn", "values": ["a"]}]}, False),
        ({"matchExpressions": [{"key": "gpu", "operator": "Exists"}]}, False),
        ({"matchExpressions": [{"key": "gpu", "operator": "DoesNotExist"}]}, True),
    ],
)
def test_selector_semantics(selector, matches):
    assert selector_matches(selector, {"team": "a"}) is matches


@pytest.mark.parametrize(
    "obj",
    [
        NS,
        {**NS, "bogus": 1},
        {
            "apiVersion": "v1",
            "kind": "ResourceQuota",
            "metadata": {"name": "q"},
            "spec": {"hard": "lots"},
        },
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": {"name": "p"},
            "spec": {"podSelector": {}, "policyTypes": "Ingress"},
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "Role",
            "metadata": {"name": "r"},
            "rules": [{"verbs": "get"}],
        },
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "d"},
            "spec": {
                "selector": {},
                "template": {"spec": {"containers": [{"name": "c", "imagePull": "x"}]}},
            },
        },
    ],
    ids=["ok", "unknown-field", "type", "list-type", "rbac", "nested-unknown"],
)
def test_cached_builtin_validation_agrees_with_kubernetes_validate(obj):
    """infra.verify.validate caches validators; the verdict must be the reference one."""
    try:
        kubernetes_validate.validate(obj, KUBERNETES_VALIDATION_TARGET, strict=True)
        reference = None
    except kubernetes_validate.ValidationError as err:
        reference = err.message
    findings = validate_object(obj)
    if reference is None:
        assert findings == []
    else:
        assert any(f.message.endswith(reference) for f in findings), (reference, findings)


def test_release_namespace_must_be_created_by_the_stack():
    rel = {"name": "kueue", "namespace": "kueue-system"}
    found = check_release_namespaces([NS], [rel, {"name": "x", "namespace": "team-a"}])
    assert [f.object for f in found] == ["helm kueue-system/kueue"]
