"""Tenancy as a property: on both stacks nothing one team owns is open to another, and
each kind of leak (RBAC, network, storage, tracking, notebook accounts) is caught."""

from __future__ import annotations

import copy
import json

import pytest

from infra.config.compute import ComputeConfig
from infra.verify import isolation
from infra.verify.render import STACKS_DIR, load_stack_config, render_stack


@pytest.fixture(scope="module")
def stacks(tmp_path_factory) -> dict:
    out = {}
    for s in ("local", "gpu", "gpu-shared"):
        config = load_stack_config(STACKS_DIR / s / f"Pulumi.{s}.yaml")
        teams = isolation.teams_of(ComputeConfig.from_mapping(json.loads(config["ai4s:compute"])))
        out[s] = (teams, render_stack(s, tmp_path_factory.mktemp(f"t-{s}")))
    return out


def _found(stack, objects=None, releases=None) -> list[str]:
    teams, r = stack
    return [str(f) for f in isolation.check(teams, r.objects if objects is None else objects,
                                            r.releases if releases is None else releases)]


def _objects(stack) -> list[dict]:
    return copy.deepcopy(stack[1].objects)


def _one(objects, kind, name, namespace=None) -> dict:
    (o,) = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name
            and o["metadata"].get("namespace") == namespace]
    return o


@pytest.mark.parametrize("stack", ["local", "gpu", "gpu-shared"])
def test_nothing_crosses_teams_on_both_stacks(stacks, stack):
    assert _found(stacks[stack]) == []


def test_identities_come_from_config_and_notebook_profiles(stacks):
    teams, r = stacks["gpu"]
    ids = isolation.identities(teams, r.objects, r.releases)
    assert ids["climate"] == {"Group:climate", "ServiceAccount:ai4s-notebooks/notebook-climate"}


def test_every_minio_credential_has_an_owning_team(stacks):
    teams, r = stacks["local"]
    owners = isolation._credential_owners(teams, r.objects)
    assert owners == {"ai4s-climate": "climate", "ai4s-drug-discovery": "drug-discovery",
                      "ai4s-mlflow-climate": "climate", "ai4s-mlflow-drug-discovery": "drug-discovery"}


def test_a_binding_for_another_team_is_caught(stacks):
    objects = _objects(stacks["local"])
    binding = _one(objects, "RoleBinding", "team-members", "team-climate")
    binding["subjects"].append({"kind": "User", "name": "dd-dev", "apiGroup": "rbac.authorization.k8s.io"})
    assert any("[rbac] team drug-discovery -> team climate" in f for f in _found(stacks["local"], objects))


def test_a_network_rule_admitting_another_team_is_caught(stacks):
    objects = _objects(stacks["local"])
    objects.append({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                    "metadata": {"name": "open", "namespace": "team-climate"},
                    "spec": {"podSelector": {}, "policyTypes": ["Ingress"], "ingress": [{"from": [
                        {"namespaceSelector": {"matchLabels": {"ai4s.dev/tenant": "true"}}}]}]}})
    assert any("[network] team drug-discovery -> team climate" in f for f in _found(stacks["local"], objects))


def test_a_namespace_without_default_deny_is_open(stacks):
    objects = [o for o in _objects(stacks["local"]) if not (
        o["kind"] == "NetworkPolicy" and o["metadata"].get("namespace") == "team-drug-discovery")]
    assert any("[network] team climate -> team drug-discovery" in f for f in _found(stacks["local"], objects))


def test_bucket_wide_credentials_are_caught(stacks):
    stack = stacks["local"]
    releases = copy.deepcopy(stack[1].releases)
    (minio,) = [r for r in releases if r["chart"] == "minio"]
    policy = next(p for p in minio["values"]["policies"] if p["name"] == "svc-mlflow-climate")
    policy["statements"][0]["resources"] = ["arn:aws:s3:::artifacts/*"]
    found = _found(stack, releases=releases)
    assert any("[storage] team climate" in f and "arn:aws:s3:::artifacts/*" in f for f in found), found


def test_a_tracking_server_open_to_every_team_is_caught(stacks):
    objects = _objects(stacks["gpu"])
    netpol = _one(objects, "NetworkPolicy", "services-tracking-climate-allow-clients", "ai4s-services")
    netpol["spec"]["ingress"][0]["from"][0]["namespaceSelector"]["matchExpressions"][0]["values"].append(
        "team-drug-discovery")
    assert any("[tracking] team drug-discovery -> team climate" in f for f in _found(stacks["gpu"], objects))


def test_notebooks_of_one_team_reaching_anothers_server_are_caught(stacks):
    objects = _objects(stacks["gpu"])
    netpol = _one(objects, "NetworkPolicy", "services-tracking-climate-allow-clients", "ai4s-services")
    netpol["spec"]["ingress"][1]["from"][0].pop("podSelector")
    found = _found(stacks["gpu"], objects)
    assert any("[tracking] team drug-discovery -> team climate: pods in ai4s-notebooks" in f for f in found)


def test_a_server_no_policy_selects_is_open(stacks):
    objects = [o for o in _objects(stacks["local"]) if o["metadata"]["name"] != "services-tracking-climate-allow-clients"]
    assert any("[tracking] team drug-discovery -> team climate" in f for f in _found(stacks["local"], objects))


def test_servers_sharing_a_database_are_caught(stacks):
    objects = _objects(stacks["local"])
    deployment = _one(objects, "Deployment", "services-tracking-drug-discovery", "ai4s-services")
    env = deployment["spec"]["template"]["spec"]["containers"][0]["env"]
    uri = next(e for e in env if e["name"] == "MLFLOW_BACKEND_STORE_URI")
    uri["value"] = uri["value"].replace("mlflow_drug_discovery", "mlflow_climate")
    assert any("share the database mlflow_climate" in f for f in _found(stacks["local"], objects))


def test_a_notebook_account_that_reads_secrets_is_caught(stacks):
    objects = _objects(stacks["gpu"])
    role = _one(objects, "Role", "notebook-submitter", "team-climate")
    role["rules"].append({"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"]})
    assert any("[notebook-secrets]" in f for f in _found(stacks["gpu"], objects))


def test_a_hub_that_offers_every_profile_to_everyone_is_caught(stacks):
    stack = stacks["gpu"]
    releases = copy.deepcopy(stack[1].releases)
    (hub,) = [r for r in releases if r["name"] == "jupyterhub"]
    hub["values"]["hub"]["extraConfig"] = {}  # what the stack rendered before: no filter
    found = _found(stack, releases=releases)
    assert any("[notebooks] group:climate (team climate) is offered team drug-discovery's" in f
               for f in found), found


@pytest.mark.parametrize("stack", ["local", "gpu", "gpu-shared"])
def test_teams_read_from_a_render_match_the_stack_config(stacks, stack):
    teams, r = stacks[stack]
    assert sorted(isolation.teams_from_render(r.objects), key=lambda t: t.name) == sorted(
        teams, key=lambda t: t.name)
