"""Grafana dashboards as code: GPU use per team, Kueue queues, training, inference.

``build_dashboards(gpu=...)`` returns ``{uid: dashboard JSON}``; the observability
component ships each as a ConfigMap that Grafana's sidecar loads. Every metric used here
must be exported by something in the stack (tests check the PromQL against the catalogue
in :mod:`infra.components.observability`).
"""

from __future__ import annotations

from infra.components.dashboards.grafana import Panel, Query, dashboard, namespace_variable

_NS = 'namespace=~"$namespace"'


def gpu_by_team(*, gpu: bool) -> dict:
    panels = [
        Panel(title="GPUs allocated per team (running pods)", unit="short",
              queries=(Query(expr=f"namespace:gpu_requested:sum{{{_NS}}}", legend="{{namespace}}"),)),
        Panel(title="GPU requests by pod", unit="short", kind="stat",
              queries=(Query(expr=f'sum by (namespace, pod) (kube_pod_container_resource_requests{{resource="nvidia_com_gpu", {_NS}}})',
                             legend="{{namespace}}/{{pod}}"),)),
    ]
    if gpu:
        panels += [
            Panel(title="GPU utilisation per team", unit="percent",
                  queries=(Query(expr=f"namespace:gpu_utilization:avg{{{_NS}}}", legend="{{namespace}}"),)),
            Panel(title="GPU memory used per team", unit="bytes",
                  queries=(Query(expr=f"namespace:gpu_memory_used_bytes:sum{{{_NS}}}", legend="{{namespace}}"),)),
            Panel(title="GPU utilisation per device", unit="percent",
                  queries=(Query(expr="DCGM_FI_DEV_GPU_UTIL", legend="{{Hostname}} gpu {{gpu}}"),)),
            Panel(title="Framebuffer used per device", unit="decmbytes",
                  queries=(Query(expr="DCGM_FI_DEV_FB_USED", legend="{{Hostname}} gpu {{gpu}}"),)),
        ]
    return dashboard(uid="ai4s-gpu-by-team", title="ai4s / GPU use per team", panels=panels,
                     tags=["ai4s", "gpu"], variables=[namespace_variable("kube_pod_info")])


def queues() -> dict:
    panels = [
        Panel(title="Pending workloads per ClusterQueue", queries=(
            Query(expr="sum by (cluster_queue, status) (kueue_pending_workloads)",
                  legend="{{cluster_queue}} {{status}}"),)),
        Panel(title="Admission wait p90", unit="s", queries=(
            Query(expr="cluster_queue:kueue_admission_wait_seconds:p90", legend="{{cluster_queue}}"),)),
        Panel(title="Admissions per minute", unit="short", queries=(
            Query(expr="sum by (cluster_queue) (rate(kueue_admitted_workloads_total[5m])) * 60",
                  legend="{{cluster_queue}}"),)),
        Panel(title="Quota used vs nominal", unit="short", queries=(
            Query(expr="sum by (cluster_queue, resource) (kueue_cluster_queue_resource_usage)",
                  legend="{{cluster_queue}} {{resource}} used"),
            Query(expr="sum by (cluster_queue, resource) (kueue_cluster_queue_nominal_quota)",
                  legend="{{cluster_queue}} {{resource}} nominal"),)),
    ]
    return dashboard(uid="ai4s-queues", title="ai4s / Kueue queues and admission", panels=panels,
                     tags=["ai4s", "kueue"])


def training() -> dict:
    panels = [
        Panel(title="Training throughput", unit="short", queries=(
            Query(expr='sum by (k8s_namespace_name, service_name) (ai4s_train_samples_per_second{k8s_namespace_name=~"$namespace"})',
                  legend="{{k8s_namespace_name}} {{service_name}}"),)),
        Panel(title="Training loss", unit="short", queries=(
            Query(expr='ai4s_train_loss{k8s_namespace_name=~"$namespace"}', legend="{{service_name}}"),)),
        Panel(title="Stage duration p95 (from spans)", unit="ms", queries=(
            Query(expr="histogram_quantile(0.95, sum by (span_name, le) "
                       "(rate(traces_span_metrics_duration_milliseconds_bucket[5m])))",
                  legend="{{span_name}}"),)),
        Panel(title="Stages completed per hour", unit="short", queries=(
            Query(expr="sum by (span_name) (increase(traces_span_metrics_calls_total[1h]))",
                  legend="{{span_name}}"),)),
    ]
    return dashboard(uid="ai4s-training", title="ai4s / Training", panels=panels,
                     tags=["ai4s", "training"], variables=[namespace_variable("kube_pod_info")])


def inference() -> dict:
    panels = [
        Panel(title="Predict latency p95", unit="s", queries=(
            Query(expr="model:request_predict_seconds:p95", legend="{{model_name}}"),)),
        Panel(title="Predict latency p50", unit="s", queries=(
            Query(expr="histogram_quantile(0.5, sum by (model_name, le) (rate(request_predict_seconds_bucket[5m])))",
                  legend="{{model_name}}"),)),
        Panel(title="Requests per second", unit="reqps", queries=(
            Query(expr="sum by (model_name) (rate(request_predict_seconds_count[5m]))",
                  legend="{{model_name}}"),)),
        Panel(title="Pre/post-processing latency p95", unit="s", queries=(
            Query(expr="histogram_quantile(0.95, sum by (le) (rate(request_preprocess_seconds_bucket[5m])))",
                  legend="preprocess"),
            Query(expr="histogram_quantile(0.95, sum by (le) (rate(request_postprocess_seconds_bucket[5m])))",
                  legend="postprocess"),)),
        Panel(title="MLflow tracking requests per second", unit="reqps", queries=(
            Query(expr="sum by (status) (rate(mlflow_http_request_total[5m]))", legend="{{status}}"),)),
    ]
    return dashboard(uid="ai4s-inference", title="ai4s / Inference and tracking", panels=panels,
                     tags=["ai4s", "serving"])


def build_dashboards(*, gpu: bool) -> dict[str, dict]:
    """All dashboards of a stack, keyed by uid."""
    boards = [gpu_by_team(gpu=gpu), queues(), training(), inference()]
    return {b["uid"]: b for b in boards}
