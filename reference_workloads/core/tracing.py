"""OpenTelemetry tracing: one span per stage, with the science parameters as attributes.

Spans go over OTLP/HTTP when ``OTEL_EXPORTER_OTLP_ENDPOINT`` (or the traces-specific
variable) is set; otherwise they are kept as JSON lines in the run folder, so a local run
still has its trace.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult

_ENDPOINT_VARS = ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")
_provider: TracerProvider | None = None


class JsonLinesSpanExporter(SpanExporter):
    """Append each finished span to a JSON-lines file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        with self._lock, self.path.open("a") as handle:
            for span in spans:
                handle.write(span.to_json(indent=None) + "\n")
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        return None


def otlp_endpoint() -> str | None:
    return next((os.environ[v] for v in _ENDPOINT_VARS if os.environ.get(v)), None)


def init_tracing(run_dir: str | os.PathLike[str], service_name: str) -> TracerProvider:
    """Create this process's tracer provider (a fresh one each call; shut the old one down)."""
    global _provider
    shutdown_tracing()
    provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
    if otlp_endpoint():
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        exporter: SpanExporter = OTLPSpanExporter()
    else:
        Path(run_dir).mkdir(parents=True, exist_ok=True)
        exporter = JsonLinesSpanExporter(Path(run_dir) / "traces.jsonl")
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    _provider = provider
    return provider


def shutdown_tracing() -> None:
    global _provider
    if _provider is not None:
        _provider.force_flush()
        _provider.shutdown()
        _provider = None


def _attribute(value: Any) -> Any:
    if isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list | tuple) and all(isinstance(v, int | float | str) for v in value):
        return list(value)
    return json.dumps(value, sort_keys=True, default=str)


@contextmanager
def stage_span(name: str, **attributes: Any) -> Iterator[trace.Span]:
    """A span for one stage; attributes are flattened to OTel-legal values."""
    tracer = (_provider or trace.get_tracer_provider()).get_tracer("ai4s")
    with tracer.start_as_current_span(name) as span:
        for key, value in attributes.items():
            span.set_attribute(key, _attribute(value))
        yield span


def read_spans(run_dir: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """The spans a local run kept in its folder."""
    path = Path(run_dir) / "traces.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
