"""Spans reach a real OTLP/HTTP receiver when OTEL_EXPORTER_OTLP_ENDPOINT is set."""

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from reference_workloads.core.tracing import init_tracing, shutdown_tracing, stage_span


class _Receiver(BaseHTTPRequestHandler):
    requests: list[ExportTraceServiceRequest] = []

    def do_POST(self):  # noqa: N802 - http.server's naming
        body = self.rfile.read(int(self.headers["Content-Length"]))
        message = ExportTraceServiceRequest()
        message.ParseFromString(body)
        type(self).requests.append((self.path, self.headers["Content-Type"], message))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.end_headers()

    def log_message(self, *args):
        pass


def test_stage_spans_are_exported_over_otlp_with_science_attributes(tmp_path, monkeypatch):
    _Receiver.requests = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", f"http://127.0.0.1:{server.server_port}")
        init_tracing(tmp_path, "ai4s-test")
        with stage_span("stage.simulate", nx=64, f0=1e-4, initial_condition="vortices", grid=[64, 64]):
            pass
        shutdown_tracing()
    finally:
        server.shutdown()
    assert not (tmp_path / "traces.jsonl").exists()
    path, content_type, message = _Receiver.requests[0]
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
