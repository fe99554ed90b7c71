"""Serving: cert-manager, then KServe CRDs, then the KServe controller in raw-deployment mode."""

from __future__ import annotations

import pytest
from test_secrets_harness import depends_on, render_services

from infra.components.serving import (
    DEPLOYMENT_MODE,
    INFERENCE_ROLE,
    ServingAccessArgs,
    ServingArgs,
)
from infra.config.services import ChartPin, services_config_from_mapping
from infra.verify import policy
from infra.verify.validate import validate_object


@pytest.fixture(scope="module")
def rendered():
    return render_services({"serving": {"ingressDomain": "models.example.org", "ingressClass": "traefik"}})


def test_install_order(rendered):
    assert depends_on(rendered, "ai4s-serving-kserve", "ai4s-serving-cert-manager")
    assert depends_on(rendered, "ai4s-serving-kserve", "ai4s-serving-kserve-crd")
    assert not depends_on(rendered, "ai4s-serving-cert-manager", "ai4s-serving-kserve")


def test_charts_are_pinned_and_kserve_runs_raw_deployment(rendered):
    crd, kserve = rendered.release("kserve-crd"), rendered.release("kserve")
    assert crd["chart"] == "oci://ghcr.io/kserve/charts/kserve-crd" and crd["version"] == "v0.16.0"
    assert kserve["version"] == crd["version"]
    controller = kserve["values"]["kserve"]["controller"]
    assert controller["deploymentMode"] == DEPLOYMENT_MODE == "Standard"
    assert controller["gateway"]["domain"] == "models.example.org"
    assert controller["gateway"]["ingressGateway"]["className"] == "traefik"
    assert kserve["values"]["kserve"]["metricsaggregator"]["enablePrometheusScraping"] == "true"
    cert_manager = rendered.release("cert-manager")
    assert cert_manager["version"].startswith("v1.19.") and cert_manager["values"]["crds"]["enabled"] is True


def test_outputs_tell_users_where_models_answer(rendered):
    assert rendered.outputs["inferenceUrlTemplate"] == "http://{name}-{namespace}.models.example.org"
    assert rendered.outputs["inferenceIngressClass"] == "traefik"


def test_team_members_may_manage_inference_services_in_their_namespace(rendered):
    (role,) = [o for o in rendered.objects_of("ClusterRole") if o["metadata"]["name"] == INFERENCE_ROLE]
    assert "inferenceservices" in role["rules"][0]["resources"] and "create" in role["rules"][0]["verbs"]
    bindings = {b["metadata"]["namespace"]: b for b in rendered.objects_of("RoleBinding")}
    assert set(bindings) == {"team-climate", "team-drugs"}
    assert bindings["team-climate"]["subjects"] == [
        {"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "climate"}]
    assert bindings["team-climate"]["roleRef"]["name"] == INFERENCE_ROLE
    assert all(validate_object(o) == [] for o in [role, *bindings.values()])
    assert policy.check(rendered.objects, rendered.releases) == []


def test_ingress_controller_may_reach_model_pods_in_team_namespaces(rendered):
    policies = [o for o in rendered.objects_of("NetworkPolicy") if o["metadata"]["name"] == "allow-inference-ingress"]
    assert sorted(p["metadata"]["namespace"] for p in policies) == ["team-climate", "team-drugs"]
    spec = policies[0]["spec"]
    assert spec["podSelector"] == {"matchExpressions": [{"key": "serving.kserve.io/inferenceservice", "operator": "Exists"}]}
    assert spec["ingress"][0]["from"] == [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}}}]
    assert all(validate_object(p) == [] for p in policies)


def test_bad_team_member_is_rejected():
    with pytest.raises(ValueError, match=r"serving.team_members\[team-a\]"):
        ServingAccessArgs(team_members={"team-a": ("robot:x",)})


def _args(**change) -> ServingArgs:
    base = dict(cert_manager_chart=ChartPin(chart="cert-manager", version="v1.19.1", repo="https://charts.jetstack.io"),
                kserve_crd_chart=ChartPin(chart="oci://ghcr.io/kserve/charts/kserve-crd", version="v0.16.0"),
                kserve_chart=ChartPin(chart="oci://ghcr.io/kserve/charts/kserve", version="v0.16.0"),
                namespace="kserve", cert_manager_namespace="cert-manager", ingress_domain="a.b",
                ingress_class="nginx")
    return ServingArgs(**{**base, **change})


def test_crd_and_controller_versions_must_match():
    with pytest.raises(ValueError, match="serving.kserve_crd_chart"):
        _args(kserve_crd_chart=ChartPin(chart="oci://ghcr.io/kserve/charts/kserve-crd", version="v0.15.2"))


@pytest.mark.parametrize(("raw", "message"), [
    ({"serving": {"ingressDomain": "not a domain"}}, "services.serving.ingressDomain"),
    ({"serving": {"ingressClass": "Nginx"}}, "services.serving.ingressClass"),
])
def test_bad_serving_config_names_the_key(raw, message):
    with pytest.raises(ValueError, match=message):
        services_config_from_mapping(raw)


@pytest.mark.parametrize("version", ["^1.19", "latest ", ""])
def test_chart_pins_must_be_exact(version):
    with pytest.raises(ValueError, match="version"):
        ChartPin(chart="cert-manager", version=version, repo="https://charts.jetstack.io")
