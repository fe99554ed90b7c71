"""Training gauges leave the process from the exporter's thread, never from inside an epoch."""

from __future__ import annotations

from reference_workloads.core.metrics import TrainingMetrics
from tests.bench.otlp_sink import OtlpSink


def test_an_epoch_does_not_post_and_close_sends_the_last_gauges(monkeypatch):
    with OtlpSink() as sink:
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", sink.endpoint)
        metrics = TrainingMetrics("ai4s-test", {"workload": "test"})
        metrics.epoch(samples=80, seconds=0.4, loss=0.5)
        assert sink.posts == 0  # a blocking POST here would stall every rank at the next barrier
        metrics.close()
        assert sink.posts == 1
