"""Kueue's metrics, as the dashboards and rules use them, come from a target that the
rendered Prometheus configuration reaches, once, with the authentication Kueue requires.

Everything is read from a rendered stack (Helm values, dashboard ConfigMaps, the
PrometheusRule), not from the Python that made it, so the test follows what `pulumi up`
would install. Target discovery is simulated for the endpoints role: the namespaces a job
watches and its keep/drop relabelling, as Prometheus applies them to endpoint labels.
"""

from __future__ import annotations

import json
import re

import pytest
import yaml

from infra.components.dashboards.promql import grafana_variable_metric_names, metric_names
from infra.components.observability import EXPORTED_METRICS
from infra.verify.render import render_stack

STACKS = ["local", "gpu"]


@pytest.fixture(scope="module", params=STACKS)
def rendered(request, tmp_path_factory):
    return render_stack(request.param, tmp_path_factory.mktemp(f"kueue-metrics-{request.param}"))


def release(rendered, match) -> dict:
    (found,) = [r for r in rendered.releases if match(r)]
    return found


def kueue_release(rendered) -> dict:
    return release(rendered, lambda r: r["chart"].rsplit("/", 1)[-1] == "kueue")


def kueue_endpoint(rendered) -> dict[str, str]:
    """Endpoint labels of Kueue's metrics port, as the chart would create them from the
    rendered values: Service `<release>-controller-manager-metrics-service` (release name
    contains the chart name) with the port whose targetPort is the manager's metrics port."""
    kueue = kueue_release(rendered)
    values = kueue["values"]
    config = yaml.safe_load(values["managerConfig"]["controllerManagerConfigYaml"])
    metrics_port = int(config["metrics"]["bindAddress"].rsplit(":", 1)[1])
    (port,) = [p for p in values["metricsService"]["ports"] if p["targetPort"] == metrics_port]
    return {
        "__meta_kubernetes_namespace": kueue["namespace"],
        "__meta_kubernetes_service_name": f"{kueue['name']}-controller-manager-metrics-service",
        "__meta_kubernetes_endpoint_port_name": port["name"],
    }


def reaches(job: dict, labels: dict[str, str]) -> bool:
    """Whether Prometheus would keep this endpoint as a target of `job`."""
    watched = [
        c for c in job.get("kubernetes_sd_configs", [])
        if c["role"] == "endpoints"
        and labels["__meta_kubernetes_namespace"]
        in (c.get("namespaces") or {}).get("names", [labels["__meta_kubernetes_namespace"]])
    ]
    if not watched:
        return False
    for rule in job.get("relabel_configs", []):
        action = rule.get("action", "replace")
        if action not in ("keep", "drop"):
            continue
        value = rule.get("separator", ";").join(labels.get(k, "") for k in rule["source_labels"])
        if (re.fullmatch(rule.get("regex", "(.*)"), value) is not None) != (action == "keep"):
            return False
    return True


def scrape_jobs(rendered) -> list[dict]:
    kps = release(rendered, lambda r: r["chart"] == "kube-prometheus-stack")
    return kps["values"]["prometheus"]["prometheusSpec"]["additionalScrapeConfigs"]


def kueue_metrics_used(rendered) -> set[str]:
    """kueue_* series the dashboards use, directly or through a recording rule."""
    recorded = {}
    for rule_set in (o for o in rendered.objects if o["kind"] == "PrometheusRule"):
        for group in rule_set["spec"]["groups"]:
            recorded |= {r["record"]: metric_names(r["expr"]) for r in group["rules"] if "record" in r}
    used: set[str] = set()
    for cm in (o for o in rendered.objects if o["kind"] == "ConfigMap"
               and (o["metadata"].get("labels") or {}).get("grafana_dashboard") == "1"):
        for board in map(json.loads, cm["data"].values()):
            used |= {n for p in board["panels"] for t in p["targets"] for n in metric_names(t["expr"])}
            for var in board["templating"]["list"]:
                used |= grafana_variable_metric_names(var["query"]["query"])
    sources = set().union(*(recorded.get(n, {n}) for n in used))
    return {n for n in sources if n.startswith("kueue_")}


def test_dashboards_kueue_metrics_come_from_the_kueue_target(rendered):
    used = kueue_metrics_used(rendered)
    assert {"kueue_pending_workloads", "kueue_admission_wait_time_seconds_bucket"} <= used
    assert used <= EXPORTED_METRICS["kueue"]


def test_exactly_one_job_scrapes_kueue_with_its_token_over_https(rendered):
    endpoint = kueue_endpoint(rendered)
    jobs = [j for j in scrape_jobs(rendered) if reaches(j, endpoint)]
    assert [j["job_name"] for j in jobs] == ["kueue"]
    (job,) = jobs
    assert job["scheme"] == "https"
    assert job["authorization"]["credentials_file"].endswith("serviceaccount/token")
    # The chart's own ServiceMonitor would be a second scrape of the same series.
    assert kueue_release(rendered)["values"]["enablePrometheus"] is False
    assert not [o for o in rendered.objects if o["kind"] == "ServiceMonitor"]


def test_the_reach_check_misses_a_job_for_another_port_or_namespace(rendered):
    endpoint = kueue_endpoint(rendered)
    (job,) = [j for j in scrape_jobs(rendered) if j["job_name"] == "kueue"]
    assert not reaches(job, {**endpoint, "__meta_kubernetes_endpoint_port_name": "webhook"})
    assert not reaches(job, {**endpoint, "__meta_kubernetes_namespace": "elsewhere"})
    assert not reaches(job, {**endpoint, "__meta_kubernetes_service_name": "kueue-webhook-service"})
