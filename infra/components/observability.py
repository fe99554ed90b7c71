"""Observability: OpenTelemetry Collector, kube-prometheus-stack, GPU accounting, dashboards.

Data path: workloads send OTLP (traces and metrics) to the collector; the collector turns
spans into RED metrics (``spanmetrics`` connector) and exposes every metric on a Prometheus
endpoint; Prometheus scrapes that endpoint, annotated workload pods (KServe predictors,
MLflow), Kueue, kube-state-metrics and, on GPU stacks, the DCGM exporter. Recording rules
turn kube-state-metrics GPU requests into per-namespace allocation (the AI_INFN accounting
pattern, without a custom exporter), and Grafana loads the dashboards of
:mod:`infra.components.dashboards` from labelled ConfigMaps.

The collector configuration, scrape configuration and rules are plain data built by the
functions below, so tests check them offline (pipeline completeness, ``promtool``) exactly
as they are deployed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_random as random
import yaml
from pulumi_kubernetes.apiextensions import CustomResource
from pulumi_kubernetes.core.v1 import ConfigMap, Secret
from pulumi_kubernetes.helm.v3 import Release
from pulumi_kubernetes.networking.v1 import NetworkPolicy

from infra.components import kueue
from infra.components.dashboards import build_dashboards
from infra.config.services import (
    ChartPin,
    Resources,
    check_dns_label,
    check_pinned_image,
    ingress_from_namespaces,
    split_image,
)

OTLP_GRPC_PORT = 4317
OTLP_HTTP_PORT = 4318
COLLECTOR_PROMETHEUS_PORT = 8889
HEALTH_CHECK_PORT = 13133
"""The chart's liveness and readiness probes call this port (infra/verify/charts)."""
DCGM_SERVICE = "nvidia-dcgm-exporter"
SA_TOKEN = "/var/run/secrets/kubernetes.io/serviceaccount/token"

# What each part of the stack exports; dashboards and rules may use only these names (plus
# the recording rules' own). Names are as Prometheus stores them (histogram series suffixed).
_HIST = ("_bucket", "_sum", "_count")
EXPORTED_METRICS: dict[str, frozenset[str]] = {
    "kube-state-metrics": frozenset({
        "kube_pod_container_resource_requests", "kube_pod_container_resource_limits",
        "kube_pod_status_phase", "kube_pod_info", "kube_namespace_labels",
        "kube_resourcequota",
    }),
    "kueue": frozenset({
        "kueue_pending_workloads", "kueue_admitted_workloads_total",
        "kueue_cluster_queue_resource_usage", "kueue_cluster_queue_nominal_quota",
        *(f"kueue_admission_wait_time_seconds{s}" for s in _HIST),
    }),
    # KServe's Python model server (raw deployment, scraped through pod annotations).
    "kserve-model-server": frozenset({
        f"request_{stage}_seconds{s}" for stage in ("preprocess", "predict", "postprocess")
        for s in _HIST
    }),
    "mlflow": frozenset({
        "mlflow_http_request_total", *(f"mlflow_http_request_duration_seconds{s}" for s in _HIST),
    }),
    # The reference workloads' OTLP metrics, through the collector's Prometheus exporter
    # (OTLP names with dots become underscores; gauges carry no unit suffix). A contract:
    # the workloads must emit these (today they send traces only; see stacks/README.md).
    "workloads-otlp": frozenset({
        "ai4s_train_samples_per_second", "ai4s_train_loss",
    }),
    # Span-derived RED metrics from the collector's spanmetrics connector.
    "collector-spanmetrics": frozenset({
        "traces_span_metrics_calls_total",
        *(f"traces_span_metrics_duration_milliseconds{s}" for s in _HIST),
    }),
}
GPU_EXPORTED_METRICS: dict[str, frozenset[str]] = {
    "dcgm-exporter": frozenset({
        "DCGM_FI_DEV_GPU_UTIL", "DCGM_FI_DEV_FB_USED", "DCGM_FI_DEV_FB_FREE",
        "DCGM_FI_DEV_POWER_USAGE", "DCGM_FI_DEV_GPU_TEMP",
    }),
}


def exported_metrics(*, gpu: bool) -> frozenset[str]:
    """Every metric name a stack's scrape targets export (recording rules excluded)."""
    catalogue = {**EXPORTED_METRICS, **(GPU_EXPORTED_METRICS if gpu else {})}
    return frozenset().union(*catalogue.values())


def collector_config() -> dict:
    """OpenTelemetry Collector config: OTLP in; metrics (and span metrics) out to Prometheus.

    Endpoints bind the pod IP (``MY_POD_IP`` is set by the chart), not 0.0.0.0.
    """
    return {
        # The chart's liveness and readiness probes call this extension; without it the pod
        # never becomes Ready and the Helm release times out on the first `pulumi up`.
        "extensions": {"health_check": {"endpoint": f"${{env:MY_POD_IP}}:{HEALTH_CHECK_PORT}"}},
        "receivers": {
            "otlp": {"protocols": {
                "grpc": {"endpoint": f"${{env:MY_POD_IP}}:{OTLP_GRPC_PORT}"},
                "http": {"endpoint": f"${{env:MY_POD_IP}}:{OTLP_HTTP_PORT}"},
            }},
        },
        "processors": {
            "memory_limiter": {"check_interval": "1s", "limit_percentage": 80,
                               "spike_limit_percentage": 25},
            "batch": {},
        },
        "connectors": {
            "spanmetrics": {
                # Stages run from milliseconds (evaluation) to hours (simulation, training);
                # default dimensions give span_name (= stage) and service_name labels.
                "histogram": {"explicit": {"buckets": ["10ms", "100ms", "1s", "10s", "60s", "600s", "3600s"]}},
            },
        },
        "exporters": {
            "prometheus": {"endpoint": f"${{env:MY_POD_IP}}:{COLLECTOR_PROMETHEUS_PORT}",
                           "resource_to_telemetry_conversion": {"enabled": True}},
            # No trace store in the platform yet: spans are logged (summary) after span metrics.
            "debug": {"verbosity": "basic"},
        },
        "service": {"extensions": ["health_check"], "pipelines": {
            "traces": {"receivers": ["otlp"], "processors": ["memory_limiter", "batch"],
                       "exporters": ["spanmetrics", "debug"]},
            "metrics": {"receivers": ["otlp", "spanmetrics"], "processors": ["memory_limiter", "batch"],
                        "exporters": ["prometheus"]},
        }},
    }


def collector_config_problems(config: dict) -> list[str]:
    """Why a collector config would not carry data end to end (empty list: it does).

    Every component a pipeline names must be defined; every defined receiver must feed a
    pipeline; and every receiver must reach an exporter, following connectors (an exporter
    in one pipeline that is a receiver in another) until a real exporter is found.
    """
    def defined(section: str) -> set[str]:
        # In Helm values a null removes the chart's default component: not defined.
        return {k for k, v in (config.get(section) or {}).items() if v is not None}

    receivers, processors = defined("receivers"), defined("processors")
    exporters, connectors = defined("exporters"), defined("connectors")
    pipelines = {k: v for k, v in ((config.get("service") or {}).get("pipelines") or {}).items() if v}
    problems: list[str] = []
    if not pipelines:
        return ["service.pipelines: no pipeline defined"]
    for pname, pipe in sorted(pipelines.items()):
        for role, known in (("receivers", receivers | connectors), ("processors", processors),
                            ("exporters", exporters | connectors)):
            for comp in pipe.get(role) or []:
                if comp not in known:
                    problems.append(f"service.pipelines.{pname}.{role}: {comp!r} is not defined")
        if not pipe.get("receivers"):
            problems.append(f"service.pipelines.{pname}.receivers: empty")
        if not pipe.get("exporters"):
            problems.append(f"service.pipelines.{pname}.exporters: empty")
    # Which pipelines each receiver/connector feeds.
    feeds: dict[str, set[str]] = {}
    for pname, pipe in pipelines.items():
        for comp in pipe.get("receivers") or []:
            feeds.setdefault(comp, set()).add(pname)

    def reaches_exporter(component: str, seen: frozenset[str]) -> bool:
        for pname in feeds.get(component, ()):
            for out in pipelines[pname].get("exporters") or []:
                if out in connectors:
                    if out not in seen and reaches_exporter(out, seen | {out}):
                        return True
                elif out in exporters:
                    return True
        return False

    for receiver in sorted(receivers):
        if receiver not in feeds:
            problems.append(f"receivers.{receiver}: defined but in no pipeline")
        elif not reaches_exporter(receiver, frozenset({receiver})):
            problems.append(f"receivers.{receiver}: reaches no exporter")
    for connector in sorted(connectors):
        used_as_exporter = any(connector in (p.get("exporters") or []) for p in pipelines.values())
        if not used_as_exporter or connector not in feeds:
            problems.append(f"connectors.{connector}: must be an exporter in one pipeline and a receiver in another")
    return problems


def scrape_configs(*, collector_target: str, kueue_namespace: str, dcgm_namespace: str | None,
                   interval: str) -> list[dict]:
    """Additional Prometheus scrape jobs (the chart adds its own for the cluster itself)."""
    jobs: list[dict] = [
        {"job_name": "otel-collector", "scrape_interval": interval,
         "static_configs": [{"targets": [collector_target]}]},
        {
            # Workload metrics: any pod annotated prometheus.io/scrape=true (KServe sets it
            # with serving.kserve.io/enable-prometheus-scraping; MLflow sets it here).
            "job_name": "annotated-pods", "scrape_interval": interval,
            "kubernetes_sd_configs": [{"role": "pod"}],
            "relabel_configs": [
                {"source_labels": ["__meta_kubernetes_pod_annotation_prometheus_io_scrape"],
                 "regex": "true", "action": "keep"},
                {"source_labels": ["__meta_kubernetes_pod_annotation_prometheus_io_path"],
                 "regex": "(.+)", "target_label": "__metrics_path__", "action": "replace"},
                {"source_labels": ["__address__", "__meta_kubernetes_pod_annotation_prometheus_io_port"],
                 "regex": r"([^:]+)(?::\d+)?;(\d+)", "replacement": "$1:$2",
                 "target_label": "__address__", "action": "replace"},
                {"source_labels": ["__meta_kubernetes_namespace"], "target_label": "namespace"},
                {"source_labels": ["__meta_kubernetes_pod_name"], "target_label": "pod"},
            ],
        },
        {
            "job_name": "kueue", "scrape_interval": interval, "scheme": "https",
            "kubernetes_sd_configs": [{"role": "endpoints", "namespaces": {"names": [kueue_namespace]}}],
            # Kueue serves metrics over HTTPS (self-signed cert) behind authn/authz: Prometheus
            # presents its service account token, which kube-prometheus-stack's ClusterRole
            # allows `get` on /metrics.
            "tls_config": {"insecure_skip_verify": True},
            "authorization": {"type": "Bearer", "credentials_file": SA_TOKEN},
            "relabel_configs": [
                {"source_labels": ["__meta_kubernetes_service_name", "__meta_kubernetes_endpoint_port_name"],
                 "regex": f"{kueue.METRICS_SERVICE};{kueue.METRICS_PORT_NAME}", "action": "keep"},
            ],
        },
    ]
    if dcgm_namespace:
        jobs.append({
            "job_name": "dcgm-exporter", "scrape_interval": interval,
            # DCGM labels each GPU with the pod/namespace using it; keep those, not the target's.
            "honor_labels": True,
            "kubernetes_sd_configs": [{"role": "endpoints", "namespaces": {"names": [dcgm_namespace]}}],
            "relabel_configs": [
                {"source_labels": ["__meta_kubernetes_service_name"], "regex": DCGM_SERVICE,
                 "action": "keep"},
            ],
        })
    return jobs


def rule_groups(*, gpu: bool) -> list[dict]:
    """Recording and alerting rules: GPU accounting per namespace, queues, serving latency."""
    accounting: list[dict] = [
        {"record": "namespace:gpu_requested:sum",
         "expr": 'sum by (namespace) (kube_pod_container_resource_requests{resource="nvidia_com_gpu"}'
                 ' * on (namespace, pod) group_left () max by (namespace, pod)'
                 ' (kube_pod_status_phase{phase="Running"}))'},
    ]
    if gpu:
        accounting += [
            {"record": "namespace:gpu_utilization:avg",
             "expr": 'avg by (namespace) (DCGM_FI_DEV_GPU_UTIL{namespace!=""})'},
            {"record": "namespace:gpu_memory_used_bytes:sum",
             "expr": 'sum by (namespace) (DCGM_FI_DEV_FB_USED{namespace!=""}) * 1024 * 1024'},
            {"alert": "TeamGPUsAllocatedButIdle",
             "expr": "namespace:gpu_requested:sum > 0 and on (namespace) namespace:gpu_utilization:avg < 5",
             "for": "30m", "labels": {"severity": "warning"},
             "annotations": {"summary": "GPUs held by {{ $labels.namespace }} are idle",
                             "description": "Namespace {{ $labels.namespace }} holds GPUs at under 5% use for 30 minutes."}},
        ]
    return [
        {"name": "ai4s-gpu-accounting", "rules": accounting},
        {"name": "ai4s-queues", "rules": [
            {"record": "cluster_queue:kueue_admission_wait_seconds:p90",
             "expr": "histogram_quantile(0.9, sum by (cluster_queue, le)"
                     " (rate(kueue_admission_wait_time_seconds_bucket[5m])))"},
            {"alert": "KueueWorkloadsInadmissible",
             "expr": 'sum by (cluster_queue) (kueue_pending_workloads{status="inadmissible"}) > 0',
             "for": "15m", "labels": {"severity": "warning"},
             "annotations": {"summary": "Inadmissible workloads in {{ $labels.cluster_queue }}",
                             "description": "ClusterQueue {{ $labels.cluster_queue }} has had inadmissible workloads for 15 minutes: check quotas and flavors."}},
        ]},
        {"name": "ai4s-serving", "rules": [
            {"record": "model:request_predict_seconds:p95",
             "expr": "histogram_quantile(0.95, sum by (model_name, le) (rate(request_predict_seconds_bucket[5m])))"},
        ]},
    ]


ALERT_SECRETS_DIR = "/etc/alertmanager/secrets"
"""Where the Prometheus operator mounts alertmanagerSpec.secrets (one folder per Secret)."""


def alertmanager_config(webhook_secret: str) -> dict:
    """Alert routing: every alert to the platform receiver (a webhook whose URL is read from
    a mounted Secret), grouped per alert and namespace so a team's alerts arrive together;
    critical ones repeat hourly; the always-firing Watchdog goes nowhere."""
    return {
        "route": {
            "receiver": "platform",
            "group_by": ["alertname", "namespace"],
            "group_wait": "30s", "group_interval": "5m", "repeat_interval": "12h",
            "routes": [
                {"receiver": "null", "matchers": ['alertname = "Watchdog"']},
                {"receiver": "platform", "matchers": ['severity = "critical"'], "repeat_interval": "1h"},
            ],
        },
        "inhibit_rules": [{"source_matchers": ['severity = "critical"'],
                           "target_matchers": ['severity = "warning"'],
                           "equal": ["alertname", "namespace"]}],
        "receivers": [
            {"name": "null"},
            {"name": "platform", "webhook_configs": [{
                "url_file": f"{ALERT_SECRETS_DIR}/{webhook_secret}/url", "send_resolved": True}]},
        ],
    }


def recorded_metrics(groups: list[dict]) -> frozenset[str]:
    """Names produced by recording rules (usable by dashboards like exported metrics)."""
    return frozenset(r["record"] for g in groups for r in g["rules"] if "record" in r)


def prometheus_check_config(jobs: list[dict], rule_files: list[str], interval: str) -> dict:
    """A standalone prometheus.yml holding our jobs and rules, for ``promtool check config``."""
    return {"global": {"scrape_interval": interval, "evaluation_interval": interval},
            "rule_files": rule_files, "scrape_configs": jobs}


@dataclass(kw_only=True, frozen=True, slots=True)
class ObservabilityArgs:
    """Inputs of :class:`Observability`."""

    collector_chart: ChartPin
    """open-telemetry/opentelemetry-collector chart."""
    collector_image: str
    """Collector image (contrib distribution, for spanmetrics), ``repository:tag``."""
    prometheus_chart: ChartPin
    """prometheus-community/kube-prometheus-stack chart (installs the monitoring CRDs)."""
    namespace: str
    """Namespace of Prometheus, Grafana, rules and dashboards (created by the caller)."""
    collector_namespace: str
    """Namespace of the collector, where workloads send OTLP (created by the caller)."""
    namespace_ready: tuple[pulumi.Resource, ...]
    """Resources creating both namespaces; everything in them waits for them."""
    scrape_interval: str
    """Prometheus scrape and evaluation interval."""
    retention: str
    """Prometheus retention."""
    prometheus_volume_size: str
    """Prometheus volume size."""
    gpu_metrics: bool
    """Scrape DCGM and add the GPU rules and panels."""
    dcgm_namespace: str
    """DCGM exporter namespace (GPU stacks)."""
    kueue_namespace: str
    """Kueue controller namespace."""
    client_namespaces: tuple[str, ...]
    """Namespaces allowed to send OTLP to the collector."""
    collector_resources: Resources
    """Collector container resources."""

    alert_webhook_secret: str = "ai4s-alert-webhook"
    """Secret (key ``url``) in the monitoring namespace with the alert webhook."""
    protect: bool = False
    """Pulumi `protect` and `retain_on_delete` on the data it holds (see services.protectData)."""

    def __post_init__(self) -> None:
        for key in ("namespace", "collector_namespace", "dcgm_namespace", "kueue_namespace"):
            check_dns_label(f"observability.{key}", getattr(self, key))
        check_pinned_image("observability.collector_image", self.collector_image)
        for ns in self.client_namespaces:
            check_dns_label("observability.client_namespaces", ns)


class Observability(pulumi.ComponentResource):
    """Collector + Prometheus/Grafana + rules + dashboards in one monitoring namespace."""

    otlp_endpoint: pulumi.Output[str]
    grafana_url: pulumi.Output[str]
    prometheus_url: pulumi.Output[str]
    dashboard_urls: pulumi.Output[dict]

    def __init__(self, name: str, args: ObservabilityArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("ai4s:observability:Observability", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        ns, collector_ns = args.namespace, args.collector_namespace
        svc = f"{ns}.svc.cluster.local"
        collector = f"{name}-otel-collector"
        collector_host = f"{collector}.{collector_ns}.svc.cluster.local"
        grafana = f"{name}-grafana"
        self.otlp_endpoint = pulumi.Output.from_input(f"http://{collector_host}:{OTLP_HTTP_PORT}")
        self.grafana_url = pulumi.Output.from_input(f"http://{grafana}.{svc}")
        self.prometheus_url = pulumi.Output.from_input(f"http://{name}-prometheus.{svc}:9090")

        in_ns = pulumi.ResourceOptions(parent=self, depends_on=list(args.namespace_ready))

        collector_values = {
            "fullnameOverride": collector,
            "mode": "deployment",
            "image": split_image(args.collector_image),
            "command": {"name": "otelcol-contrib"},
            # The chart would deep-merge its default receivers and pipelines into a `config`
            # value (and Pulumi drops the nulls that could remove them), so the collector
            # reads exactly our config from a ConfigMap we own instead.
            "configMap": {"create": False, "existingName": f"{collector}-config"},
            "ports": {
                "jaeger-compact": {"enabled": False}, "jaeger-thrift": {"enabled": False},
                "jaeger-grpc": {"enabled": False}, "zipkin": {"enabled": False},
                "prom-exporter": {"enabled": True, "containerPort": COLLECTOR_PROMETHEUS_PORT,
                                  "servicePort": COLLECTOR_PROMETHEUS_PORT, "protocol": "TCP"},
            },
            "resources": args.collector_resources.to_k8s(),
            "podSecurityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
            "securityContext": {"runAsNonRoot": True, "allowPrivilegeEscalation": False,
                                "readOnlyRootFilesystem": True, "capabilities": {"drop": ["ALL"]},
                                "seccompProfile": {"type": "RuntimeDefault"}},
        }
        config_map = ConfigMap(
            f"{name}-collector-config",
            metadata={"name": f"{collector}-config", "namespace": collector_ns},
            # The chart mounts key "relay" as the collector's --config file.
            data={"relay": yaml.safe_dump(collector_config(), sort_keys=False)},
            opts=in_ns,
        )
        self.collector = Release(
            f"{name}-collector", name=collector, namespace=collector_ns,
            **args.collector_chart.release_args(), values=collector_values,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[*args.namespace_ready, config_map]),
        )

        admin_password = random.RandomPassword(f"{name}-grafana-admin-password", length=32,
                                               special=False, opts=child)
        admin_secret = Secret(
            f"{name}-grafana-admin",
            metadata={"name": f"{grafana}-admin", "namespace": ns},
            string_data={"admin-user": "admin", "admin-password": admin_password.result},
            opts=in_ns,
        )
        groups = rule_groups(gpu=args.gpu_metrics)
        jobs = scrape_configs(
            collector_target=f"{collector_host}:{COLLECTOR_PROMETHEUS_PORT}",
            kueue_namespace=args.kueue_namespace,
            dcgm_namespace=args.dcgm_namespace if args.gpu_metrics else None,
            interval=args.scrape_interval,
        )
        prometheus_values = {
            "fullnameOverride": name,
            "prometheus": {"prometheusSpec": {
                "scrapeInterval": args.scrape_interval,
                "evaluationInterval": args.scrape_interval,
                "retention": args.retention,
                "additionalScrapeConfigs": jobs,
                # Select our PrometheusRules/ServiceMonitors without the chart's release label.
                "ruleSelectorNilUsesHelmValues": False,
                "serviceMonitorSelectorNilUsesHelmValues": False,
                "podMonitorSelectorNilUsesHelmValues": False,
                "storageSpec": {"volumeClaimTemplate": {"spec": {
                    "accessModes": ["ReadWriteOnce"],
                    "resources": {"requests": {"storage": args.prometheus_volume_size}}}}},
            }},
            "alertmanager": {
                "config": alertmanager_config(args.alert_webhook_secret),
                "alertmanagerSpec": {"secrets": [args.alert_webhook_secret]},
            },
            # Node exporter needs hostPath/hostNetwork, which the platform policy forbids;
            # our dashboards need only workload, Kueue and GPU metrics.
            "nodeExporter": {"enabled": False},
            "grafana": {
                "fullnameOverride": grafana,
                "admin": {"existingSecret": f"{grafana}-admin", "userKey": "admin-user",
                          "passwordKey": "admin-password"},
                "sidecar": {"dashboards": {"enabled": True, "label": "grafana_dashboard",
                                           "labelValue": "1"}},
            },
        }
        self.prometheus = Release(
            f"{name}-kps", name=name, namespace=ns,
            **args.prometheus_chart.release_args(), values=prometheus_values,
            # Prometheus keeps its TSDB on the release's PVC: never deleted by a destroy.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[*args.namespace_ready, admin_secret],
                                        protect=args.protect, retain_on_delete=args.protect),
        )
        CustomResource(
            f"{name}-rules",
            api_version="monitoring.coreos.com/v1",
            kind="PrometheusRule",
            metadata={"name": f"{name}-ai4s", "namespace": ns},
            spec={"groups": groups},
            # The CRD comes with kube-prometheus-stack: create after it, delete before it.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.prometheus]),
        )
        dashboards = build_dashboards(gpu=args.gpu_metrics)
        for uid, dashboard in sorted(dashboards.items()):
            ConfigMap(
                f"{name}-dashboard-{uid}",
                metadata={"name": f"{name}-dashboard-{uid}", "namespace": ns,
                          "labels": {"grafana_dashboard": "1"}},
                data={f"{uid}.json": json.dumps(dashboard, indent=1, sort_keys=True)},
                opts=in_ns,
            )
        self.dashboard_urls = pulumi.Output.from_input(
            {uid: f"http://{grafana}.{svc}/d/{uid}" for uid in sorted(dashboards)})
        NetworkPolicy(
            f"{name}-allow-otlp",
            metadata={"name": f"{name}-allow-otlp", "namespace": collector_ns},
            spec={
                "pod_selector": {"match_labels": {"app.kubernetes.io/name": "opentelemetry-collector",
                                                  "app.kubernetes.io/instance": collector}},
                "policy_types": ["Ingress"],
                "ingress": [
                    ingress_from_namespaces([collector_ns, *args.client_namespaces],
                                            [OTLP_GRPC_PORT, OTLP_HTTP_PORT]),
                    # Prometheus scrapes the collector's exporter from the monitoring namespace.
                    ingress_from_namespaces([ns], [COLLECTOR_PROMETHEUS_PORT]),
                ],
            },
            opts=in_ns,
        )
        self.register_outputs({
            "otlp_endpoint": self.otlp_endpoint, "grafana_url": self.grafana_url,
            "prometheus_url": self.prometheus_url, "dashboard_urls": self.dashboard_urls,
        })
