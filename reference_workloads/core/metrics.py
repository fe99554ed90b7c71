"""Training metrics over OTLP: the names the platform's dashboards read.

When ``OTEL_EXPORTER_OTLP_ENDPOINT`` (or the metrics-specific variable) is set, rank 0 of a
training job exports two gauges per epoch, ``ai4s.train.samples_per_second`` and
``ai4s.train.loss``; the platform's collector turns them into the Prometheus series
``ai4s_train_samples_per_second`` and ``ai4s_train_loss``. Without an endpoint nothing is
exported: the same numbers are in the run's training summary and event log.
"""

from __future__ import annotations

import os
from typing import Any

_ENDPOINT_VARS = ("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")
SAMPLES_PER_SECOND = "ai4s.train.samples_per_second"
LOSS = "ai4s.train.loss"
EXPORT_INTERVAL_MS = 10_000  # how stale a dashboard's training gauges may be; close() sends the last ones


class TrainingMetrics:
    """Per-epoch gauges for one training job; a no-op without an OTLP endpoint."""

    def __init__(self, service_name: str, attributes: dict[str, Any]) -> None:
        self.attributes = attributes
        self._provider = None
        if not any(os.environ.get(v) for v in _ENDPOINT_VARS):
            return
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
        from opentelemetry.sdk.resources import Resource

        # exported from the reader's own thread, never from the training loop: a blocking
        # POST per epoch cost short epochs several per cent of their throughput (bench)
        reader = PeriodicExportingMetricReader(OTLPMetricExporter(), export_interval_millis=EXPORT_INTERVAL_MS)
        self._provider = MeterProvider(resource=Resource.create({"service.name": service_name}),
                                       metric_readers=[reader])
        meter = self._provider.get_meter("ai4s")
        self._throughput = meter.create_gauge(SAMPLES_PER_SECOND, description="training samples per second")
        self._loss = meter.create_gauge(LOSS, description="mean training loss of the last epoch")

    @property
    def enabled(self) -> bool:
        return self._provider is not None

    def epoch(self, *, samples: int, seconds: float, loss: float) -> None:
        if self._provider is None:
            return
        self._throughput.set(samples / max(seconds, 1e-9), self.attributes)
        self._loss.set(loss, self.attributes)

    def close(self) -> None:
        if self._provider is not None:
            self._provider.shutdown()
            self._provider = None
