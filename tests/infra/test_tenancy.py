"""Tenancy component: restricted namespaces, quota ceilings, RBAC, default-deny networking."""

from __future__ import annotations

import pulumi
from compute_helpers import TEAMS, by_name, of_kind, team

from infra.components.tenancy import Tenancy, TenancyArgs, quota_hard, team_ceiling
from infra.config.compute import Quota, Team
from infra.verify import policy
from infra.verify.render import kubernetes_objects, run_under_mocks
from infra.verify.validate import validate_objects

DEFAULTS = {
    "default_request": {"cpu": "100m", "memory": "128Mi"},
    "default_limit": {"cpu": "1", "memory": "1Gi"},
}


def _args(teams=TEAMS, **kw) -> TenancyArgs:
    return TenancyArgs(
        **{"teams": teams, "platform_namespaces": ("ai4s-services",), **DEFAULTS, **kw}
    )


def _render(**kw):
    return run_under_mocks(lambda: Tenancy("tenancy", _args(**kw))).registrations


@pulumi.runtime.test
def test_namespace_is_labelled_restricted_and_tenant(monitor):
    t = Tenancy("tenancy", _args())

    def check(labels):
        assert labels[policy.PSS_ENFORCE] == "restricted"
        assert labels[policy.TENANT_LABEL] == "true"
        assert labels["ai4s.dev/team"] == "climate"

    return t.namespaces["climate"].metadata.apply(lambda m: check(m["labels"]))


def test_each_team_gets_quota_limits_role_binding_and_policies():
    members = (team("climate", members=("user:alice", "group:climate")),)
    regs = _render(teams=members)
    kinds = sorted(r.inputs["kind"] for r in regs if r.custom)
    assert kinds.count("NetworkPolicy") == 5
    assert {"Namespace", "ResourceQuota", "LimitRange", "Role", "RoleBinding"} <= set(kinds)
    binding = of_kind(regs, "RoleBinding")[0].inputs
    assert binding["subjects"] == [
        {"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "alice"},
        {"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "climate"},
    ]
    assert binding["roleRef"]["name"] == "team-member"


def test_no_binding_without_members():
    assert of_kind(_render(), "RoleBinding") == []


def test_member_role_cannot_touch_quota_policy_or_rbac():
    role = of_kind(_render(), "Role")[0].inputs
    resources = {res for rule in role["rules"] for res in rule["resources"]}
    assert {"rayclusters", "trainjobs", "jobs", "jobsets"} <= resources
    assert not resources & {
        "resourcequotas",
        "limitranges",
        "networkpolicies",
        "roles",
        "rolebindings",
    }


def test_namespaced_objects_wait_for_their_namespace():
    regs = _render()
    names = by_name(regs)
    ns = names["tenancy-climate-ns"].urn
    for r in regs:
        if r.name.startswith("tenancy-climate-") and r.name != "tenancy-climate-ns" and r.custom:
            assert ns in r.dependencies, r.name


def test_policies_deny_by_default_and_allow_only_platform_needs():
    objects = kubernetes_objects(_render())
    pols = {
        o["metadata"]["name"]: o["spec"]
        for o in objects
        if o["kind"] == "NetworkPolicy" and o["metadata"]["namespace"] == "team-climate"
    }
    assert pols["default-deny"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    assert pols["allow-dns"]["egress"][0]["ports"] == [
        {"protocol": "UDP", "port": 53},
        {"protocol": "TCP", "port": 53},
    ]
    assert pols["allow-platform-egress"]["egress"][0]["to"][0]["namespaceSelector"][
        "matchExpressions"
    ][0]["values"] == ["ai4s-services"]
    assert pols["allow-monitoring-scrape"]["ingress"][0]["from"][0]["namespaceSelector"][
        "matchLabels"
    ] == {"kubernetes.io/metadata.name": "monitoring"}


def test_quota_ceiling_is_nominal_plus_borrowing_limit():
    t = Team(
        name="a",
        namespace="team-a",
        quota=Quota(cpu="1500m", memory="2Gi", gpus={"h100-80gb": 2}),
        borrowing_limit=Quota(cpu="500m", memory="1Gi", gpus={"h100-80gb": 1}),
    )
    assert team_ceiling(t, (t,), ("nvidia.com/gpu",)) == {
        "cpu": "2",
        "memory": str(3 * 2**30),
        "nvidia.com/gpu": "3",
    }


def test_quota_ceiling_without_borrowing_limit_is_the_whole_cohort():
    a, b = team("a", cpu="1", memory="1Gi"), team("b", cpu="500m", memory="1Gi")
    assert team_ceiling(a, (a, b))["cpu"] == "1500m"


def test_gpu_resources_capped_at_zero_for_teams_without_gpu_quota():
    hard = quota_hard(team("a"), _args(teams=(team("a"),), gpu_resources=("nvidia.com/gpu",)))
    assert hard["requests.nvidia.com/gpu"] == "0"
    assert hard["requests.cpu"] == "4"


def test_quota_caps_requests_only_because_kueue_admits_on_requests():
    hard = quota_hard(team("a"), _args(teams=(team("a"),)))
    assert not [k for k in hard if k.startswith("limits.")], hard


def test_rendered_tenancy_validates_and_passes_policy():
    objects = kubernetes_objects(_render())
    assert validate_objects(objects) == []
    assert policy.check(objects) == []
