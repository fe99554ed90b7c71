"""Spans and training metrics reach a real OTLP/HTTP receiver when OTEL_EXPORTER_OTLP_ENDPOINT is set."""

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from reference_workloads.core.metrics import LOSS, SAMPLES_PER_SECOND, TrainingMetrics
from reference_workloads.core.tracing import init_tracing, shutdown_tracing, stage_span

_MESSAGES = {"/v1/traces": ExportTraceServiceRequest, "/v1/metrics": ExportMetricsServiceRequest}


class _Receiver(BaseHTTPRequestHandler):
    requests: list[ExportTraceServiceRequest] = []

    def do_POST(self):  # noqa: N802 - http.server's naming
        body = self.rfile.read(int(self.headers["Content-Length"]))
        message = _MESSAGES[self.path]()
        message.ParseFromString(body)
        type(self).requests.append((self.path, self.headers["Content-Type"], message))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def receiver(monkeypatch):
    _Receiver.requests = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", f"http://127.0.0.1:{server.server_port}")
    yield _Receiver.requests
    server.shutdown()


def test_stage_spans_are_exported_over_otlp_with_science_attributes(tmp_path, receiver):
    init_tracing(tmp_path, "ai4s-test")
    with stage_span("stage.simulate", nx=64, f0=1e-4, initial_condition="vortices", grid=[64, 64]):
        pass
    shutdown_tracing()
    assert not (tmp_path / "traces.jsonl").exists()
    path, content_type, message = receiver[0]
    assert path == "/v1/traces" and content_type == "application/x-protobuf"
    resource = message.resource_spans[0]
    service = {a.key: a.value.string_value for a in resource.resource.attributes}["service.name"]
    span = resource.scope_spans[0].spans[0]
    attributes = {a.key: a.value for a in span.attributes}
    assert service == "ai4s-test" and span.name == "stage.simulate"
    assert attributes["nx"].int_value == 64
    assert attributes["f0"].double_value == 1e-4
    assert attributes["initial_condition"].string_value == "vortices"
    assert [v.int_value for v in attributes["grid"].array_value.values] == [64, 64]


def test_training_gauges_are_exported_under_the_names_the_dashboards_read(receiver):
    metrics = TrainingMetrics("ai4s-climate-training", {"workload": "climate"})
    assert metrics.enabled
    metrics.epoch(samples=640, seconds=3.2, loss=0.25)
    metrics.close()
    points = {}
    for path, _, message in receiver:
        assert path == "/v1/metrics"
        for resource in message.resource_metrics:
            for scope in resource.scope_metrics:
                for metric in scope.metrics:
                    point = metric.gauge.data_points[-1]
                    points[metric.name] = (point.as_double, {a.key: a.value.string_value for a in point.attributes})
    assert points[SAMPLES_PER_SECOND] == (200.0, {"workload": "climate"})
    assert points[LOSS] == (0.25, {"workload": "climate"})


def test_training_metrics_are_a_no_op_without_an_endpoint(monkeypatch):
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_ENDPOINT", raising=False)
    metrics = TrainingMetrics("x", {})
    assert not metrics.enabled
    metrics.epoch(samples=1, seconds=1.0, loss=1.0)
    metrics.close()
