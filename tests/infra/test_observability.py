"""Observability: collector and Prometheus stack releases, scrape jobs, rules, GPU wiring, outputs."""

from __future__ import annotations

import copy

import pytest
from test_secrets_harness import depends_on, render_services

from infra.components.kueue import METRICS_PORT_NAME, METRICS_SERVICE
from infra.components.observability import rule_groups, scrape_configs
from infra.components.services import check_reachable
from infra.config.services import services_config_from_mapping
from infra.verify import crds, policy
from infra.verify.validate import validate_object


@pytest.fixture(scope="module", params=[False, True], ids=["cpu-stack", "gpu-stack"])
def stack(request):
    return request.param, render_services(gpu=request.param)


def test_prometheus_values_carry_our_jobs_and_select_our_rules(stack):
    gpu, rendered = stack
    spec = rendered.release("ai4s-obs")["values"]["prometheus"]["prometheusSpec"]
    jobs = {j["job_name"]: j for j in spec["additionalScrapeConfigs"]}
    assert set(jobs) == {"otel-collector", "annotated-pods", "kueue"} | ({"dcgm-exporter"} if gpu else set())
    assert jobs["otel-collector"]["static_configs"][0]["targets"] == [
        "ai4s-obs-otel-collector.ai4s-services.svc.cluster.local:8889"]
    assert spec["ruleSelectorNilUsesHelmValues"] is False
    if gpu:
        assert jobs["dcgm-exporter"]["honor_labels"] is True
        assert jobs["dcgm-exporter"]["kubernetes_sd_configs"][0]["namespaces"]["names"] == ["gpu-operator"]


def test_prometheus_rule_waits_for_the_chart_and_validates(stack):
    gpu, rendered = stack
    assert depends_on(rendered, "ai4s-obs-rules", "ai4s-obs-kps")
    (rule,) = rendered.objects_of("PrometheusRule")
    assert validate_object(rule) == []
    assert rule["spec"]["groups"] == rule_groups(gpu=gpu)
    alerts = {r.get("alert") for g in rule["spec"]["groups"] for r in g["rules"]}
    assert ("TeamGPUsAllocatedButIdle" in alerts) is gpu


def test_broken_prometheus_rules_are_rejected(stack):
    _, rendered = stack
    (rule,) = rendered.objects_of("PrometheusRule")
    schema = crds.lookup("monitoring.coreos.com/v1", "PrometheusRule")
    for mutate in (lambda r: r["spec"]["groups"][0]["rules"][0].pop("expr"),
                   lambda r: r["spec"]["groups"][0]["rules"][0].update(alert="Both"),
                   lambda r: r["spec"]["groups"][1]["rules"][1].update({"for": "15 minutes"}),
                   lambda r: r["spec"]["groups"][0].pop("name")):
        broken = copy.deepcopy(rule)
        mutate(broken)
        assert schema.errors(broken)


def test_kueue_job_keeps_only_the_metrics_service():
    (job,) = [j for j in scrape_configs(collector_target="c:1", kueue_namespace="kq", dcgm_namespace=None,
                                        interval="30s") if j["job_name"] == "kueue"]
    assert job["relabel_configs"][0] == {
        "source_labels": ["__meta_kubernetes_service_name", "__meta_kubernetes_endpoint_port_name"],
        "regex": f"{METRICS_SERVICE};{METRICS_PORT_NAME}", "action": "keep"}
    assert job["kubernetes_sd_configs"][0]["namespaces"]["names"] == ["kq"]


def test_grafana_admin_comes_from_a_secret_and_node_exporter_is_off(stack):
    _, rendered = stack
    values = rendered.release("ai4s-obs")["values"]
    assert values["grafana"]["admin"]["existingSecret"] == "ai4s-obs-grafana-admin"
    assert values["nodeExporter"] == {"enabled": False}  # hostPath/hostNetwork are forbidden


def test_collector_takes_otlp_from_team_namespaces(stack):
    _, rendered = stack
    (netpol,) = [o for o in rendered.objects_of("NetworkPolicy") if o["metadata"]["name"] == "ai4s-obs-allow-otlp"]
    assert netpol["metadata"]["namespace"] == "ai4s-services"
    otlp, scrape = netpol["spec"]["ingress"]
    assert {"team-climate", "team-drugs"} <= set(otlp["from"][0]["namespaceSelector"]["matchExpressions"][0]["values"])
    assert scrape["from"][0]["namespaceSelector"]["matchExpressions"][0]["values"] == ["monitoring"]
    assert validate_object(netpol) == []


def test_outputs_give_endpoints_and_dashboards(stack):
    _, rendered = stack
    out = rendered.outputs
    assert out["otlpEndpoint"] == "http://ai4s-obs-otel-collector.ai4s-services.svc.cluster.local:4318"
    assert out["grafanaUrl"] == "http://ai4s-obs-grafana.monitoring.svc.cluster.local"
    assert set(out["dashboards"]) == {"ai4s-gpu-by-team", "ai4s-queues", "ai4s-training", "ai4s-inference"}
    assert policy.check(rendered.objects, rendered.releases) == []


def test_services_must_be_reachable_through_tenancy_policies():
    cfg = services_config_from_mapping({})
    check_reachable(cfg, platform_namespaces=["ai4s-services"], monitoring_namespace="monitoring")
    with pytest.raises(ValueError, match="services.storage.namespace: 'ai4s-services' is not in compute.platformNamespaces"):
        check_reachable(cfg, platform_namespaces=["other"], monitoring_namespace="monitoring")
    with pytest.raises(ValueError, match="services.observability.namespace"):
        check_reachable(cfg, platform_namespaces=["ai4s-services"], monitoring_namespace="prom")


@pytest.mark.parametrize(("raw", "message"), [
    ({"observability": {"scrapeInterval": "30"}}, "services.observability.scrapeInterval"),
    ({"observability": {"retention": "forever"}}, "services.observability.retention"),
    ({"observability": {"gpuMetrics": True}}, "services.observability.gpuMetrics: unknown key"),
    ({"serving": {"namespace": "ai4s-services"}}, "services.serving.namespace: 'ai4s-services' is already used"),
])
def test_bad_observability_config_names_the_key(raw, message):
    with pytest.raises(ValueError, match=message):
        services_config_from_mapping(raw)


def test_alerts_are_routed_to_a_receiver_whose_url_stays_in_a_secret():
    from test_secrets_harness import render_services

    from infra.components.observability import ALERT_SECRETS_DIR

    values = render_services().release("ai4s-obs")["values"]["alertmanager"]
    config = values["config"]
    assert values["alertmanagerSpec"]["secrets"] == ["ai4s-alert-webhook"]
    assert config["route"]["receiver"] == "platform"
    receivers = {r["name"]: r for r in config["receivers"]}
    (hook,) = receivers["platform"]["webhook_configs"]
    assert hook["url_file"] == f"{ALERT_SECRETS_DIR}/ai4s-alert-webhook/url" and "url" not in hook
    # every receiver a route names exists (Alertmanager refuses the config otherwise)
    named = {config["route"]["receiver"], *(r["receiver"] for r in config["route"]["routes"])}
    assert named <= set(receivers)
