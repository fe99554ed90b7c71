"""The OpenTelemetry Collector configuration carries every signal to an exporter."""

from __future__ import annotations

import copy

import pytest
import yaml
from test_secrets_harness import render_services

from infra.components.observability import (
    COLLECTOR_PROMETHEUS_PORT,
    collector_config,
    collector_config_problems,
)


def test_shipped_config_is_complete():
    assert collector_config_problems(collector_config()) == []


def test_deployed_config_is_complete_and_binds_the_pod_ip():
    rendered = render_services()
    values = rendered.release("ai4s-obs-otel-collector")["values"]
    # The chart runs exactly the config in our ConfigMap (no merge with chart defaults).
    assert values["configMap"] == {"create": False, "existingName": "ai4s-obs-otel-collector-config"}
    (config_map,) = [o for o in rendered.objects_of("ConfigMap")
                     if o["metadata"]["name"] == "ai4s-obs-otel-collector-config"]
    config = yaml.safe_load(config_map["data"]["relay"])
    assert config == collector_config()
    assert collector_config_problems(config) == []
    endpoints = [p["endpoint"] for p in config["receivers"]["otlp"]["protocols"].values()]
    endpoints.append(config["exporters"]["prometheus"]["endpoint"])
    assert all(e.startswith("${env:MY_POD_IP}:") for e in endpoints), endpoints
    assert values["ports"]["prom-exporter"]["containerPort"] == COLLECTOR_PROMETHEUS_PORT


def test_span_metrics_flow_through_the_connector_to_prometheus():
    pipelines = collector_config()["service"]["pipelines"]
    assert "spanmetrics" in pipelines["traces"]["exporters"]
    assert "spanmetrics" in pipelines["metrics"]["receivers"]
    assert pipelines["metrics"]["exporters"] == ["prometheus"]


def _broken(mutate) -> list[str]:
    config = copy.deepcopy(collector_config())
    mutate(config)
    return collector_config_problems(config)


@pytest.mark.parametrize(("mutate", "expected"), [
    (lambda c: c["service"]["pipelines"]["metrics"]["processors"].append("filter"),
     "service.pipelines.metrics.processors: 'filter' is not defined"),
    (lambda c: c["receivers"].update({"zipkin": {}}), "receivers.zipkin: defined but in no pipeline"),
    (lambda c: c["service"]["pipelines"]["metrics"].update({"exporters": []}),
     "service.pipelines.metrics.exporters: empty"),
    (lambda c: c["service"]["pipelines"]["metrics"]["receivers"].remove("spanmetrics"),
     "connectors.spanmetrics: must be an exporter in one pipeline and a receiver in another"),
    (lambda c: c["service"].update({"pipelines": {}}), "service.pipelines: no pipeline defined"),
])
def test_broken_configs_are_reported(mutate, expected):
    assert expected in _broken(mutate)


def test_a_receiver_whose_only_path_is_a_connector_cycle_reaches_no_exporter():
    config = {
        "receivers": {"otlp": {}},
        "connectors": {"forward": {}},
        "exporters": {"debug": {}},
        "service": {"pipelines": {
            "traces": {"receivers": ["otlp"], "exporters": ["forward"]},
            "traces/loop": {"receivers": ["forward"], "exporters": ["forward"]},
            "logs": {"receivers": ["forward"], "exporters": ["forward"]},
        }},
    }
    assert "receivers.otlp: reaches no exporter" in collector_config_problems(config)
    config["service"]["pipelines"]["logs"]["exporters"] = ["debug"]
    assert collector_config_problems(config) == []
