"""Chart contracts: the values each stack passes satisfy what the pinned chart reads."""

from __future__ import annotations

import copy

import pytest
import yaml
from test_secrets_harness import render_services

from infra.components.observability import HEALTH_CHECK_PORT, collector_config
from infra.verify import contracts
from infra.verify.render import render_stack

COLLECTOR = "ai4s-obs-otel-collector"


@pytest.fixture(scope="module")
def services():
    return render_services()


def _with_config(rendered, config: dict) -> tuple[dict, list[dict]]:
    """The collector release and the objects, its ConfigMap replaced by `config`."""
    objects = copy.deepcopy(rendered.objects)
    for obj in objects:
        if obj["kind"] == "ConfigMap" and obj["metadata"]["name"] == f"{COLLECTOR}-config":
            obj["data"]["relay"] = yaml.safe_dump(config)
    return rendered.release(COLLECTOR), objects


def test_every_contract_file_loads_and_names_a_pinned_chart():
    from infra.versions import PINS

    pinned = {(p.name, p.version) for p in PINS if p.kind == "helm-chart"}
    pinned |= {(f"{p.repository}/{p.name}", p.version) for p in PINS
               if p.kind == "helm-chart" and p.repository.startswith("oci://")}
    assert contracts.contracts(), "no chart contract found"
    assert set(contracts.contracts()) <= pinned


@pytest.mark.parametrize("stack", ["local", "gpu"])
def test_both_stacks_satisfy_every_chart_contract(stack, tmp_path):
    r = render_stack(stack, tmp_path)
    assert [str(f) for f in contracts.check(r.releases, r.objects)] == []


def test_collector_runs_the_health_check_the_chart_probes(services):
    config = collector_config()
    assert "health_check" in config["service"]["extensions"]
    assert config["extensions"]["health_check"]["endpoint"].endswith(f":{HEALTH_CHECK_PORT}")
    assert HEALTH_CHECK_PORT == 13133  # chart 0.127.2 probes this port
    release, objects = _with_config(services, config)
    assert contracts.check_release(release, objects) == []


@pytest.mark.parametrize("breakage, expected", [
    (lambda c: c.pop("extensions"), "extensions.health_check: not defined"),
    (lambda c: c["service"].pop("extensions"), "health_check is not enabled"),
    (lambda c: c["extensions"]["health_check"].update(endpoint="${env:MY_POD_IP}:13134"),
     "does not serve port 13133"),
    (lambda c: c["extensions"]["health_check"].update(endpoint="localhost:13133"),
     "not reachable by the kubelet"),
])
def test_a_collector_config_the_probes_cannot_reach_is_caught(services, breakage, expected):
    config = copy.deepcopy(collector_config())
    breakage(config)
    release, objects = _with_config(services, config)
    found = [str(f) for f in contracts.check_release(release, objects)]
    assert any(expected in f for f in found), found


@pytest.mark.parametrize("path, expected", [
    ("image.repository", "values.image.repository must be set"),
    ("securityContext", "values.securityContext.allowPrivilegeEscalation must be false"),
    ("securityContext.capabilities", "values.securityContext.capabilities.drop must include ALL"),
])
def test_values_the_chart_needs_are_required(services, path, expected):
    release = copy.deepcopy(services.release(COLLECTOR))
    *parents, leaf = path.split(".")
    node = release["values"]
    for p in parents:
        node = node[p]
    node.pop(leaf, None)
    found = [str(f) for f in contracts.check_release(release, services.objects)]
    assert any(expected in f for f in found), found


def test_a_bad_contract_file_is_named(tmp_path):
    with pytest.raises(ValueError, match="unknown keys"):
        contracts._contract({"chart": "x", "version": "1", "probez": []}, tmp_path / "x.yaml")


@pytest.mark.parametrize("change, expected", [
    (lambda c: c["health"].update(healthProbeBindAddress=":8082"),
     "livenessProbe on port 8081: health.healthProbeBindAddress"),
    (lambda c: c["metrics"].update(bindAddress=":8080"), "metrics on port 8443: metrics.bindAddress"),
    (lambda c: c["webhook"].update(port=9444), "webhook-server on port 9443: webhook.port"),
])
def test_a_kueue_configuration_off_the_charts_fixed_ports_is_caught(tmp_path, change, expected):
    r = render_stack("local", tmp_path)
    (release,) = [copy.deepcopy(x) for x in r.releases if x["name"] == "kueue"]
    assert contracts.check_release(release, r.objects) == []
    key = release["values"]["managerConfig"]
    config = yaml.safe_load(key["controllerManagerConfigYaml"])
    change(config)
    key["controllerManagerConfigYaml"] = yaml.safe_dump(config)
    found = [str(f) for f in contracts.check_release(release, r.objects)]
    assert any(expected in f for f in found), found


def test_minio_pods_run_restricted_and_the_charts_gates_are_checked(services):
    release = copy.deepcopy(services.release("ai4s-storage"))
    assert contracts.check_release(release, services.objects) == []
    release["values"]["makeUserJob"]["securityContext"]["enabled"] = False
    release["values"]["containerSecurityContext"].pop("seccompProfile")
    release["values"]["securityContext"].pop("seccompProfile")
    found = [str(f) for f in contracts.check_release(release, services.objects)]
    assert any("values.makeUserJob.securityContext.enabled must be true" in f for f in found), found
    assert any("values.containerSecurityContext (or values.securityContext) must set a seccompProfile" in f
               for f in found), found
