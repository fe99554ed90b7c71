"""Operations: data is protected, the cluster is named, destroy order covers KServe,
the Gateway API is on."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from infra.config.cluster import ClusterConfig
from infra.verify.render import STACKS_DIR, run_stack

DATA_HOLDERS = ("services-storage-release", "services-tracking-db", "services-obs-kps")


@pytest.fixture(scope="module", params=["local", "gpu"])
def registrations(request):
    monitor, _ = run_stack(request.param)
    return {r.name: r for r in monitor.registrations}


def test_minio_postgres_and_prometheus_are_protected_and_retained(registrations):
    for name in DATA_HOLDERS:
        assert registrations[name].protect and registrations[name].retain_on_delete, name
    # nothing else is: a destroy of the rest stays possible
    others = [r for n, r in registrations.items() if r.protect and n not in DATA_HOLDERS]
    assert others == []


def test_every_kubernetes_resource_uses_the_stacks_explicit_provider(registrations):
    (provider,) = [r for r in registrations.values() if r.type == "pulumi:providers:kubernetes"]
    assert provider.inputs["context"] in ("kind-ai4s", "ai4s-gpu")
    on_default = [n for n, r in registrations.items()
                  if r.type.startswith("kubernetes:") and not r.provider.startswith(provider.urn)]
    assert on_default == []


def test_team_namespaces_wait_for_kserve(registrations):
    kserve = registrations["services-serving-kserve"].urn
    for name, r in registrations.items():
        if r.type == "kubernetes:core/v1:Namespace" and name.startswith("compute-tenancy-"):
            assert kserve in r.dependencies, name


def test_kserve_writes_routes_for_the_gateway_api(registrations):
    values = registrations["services-serving-kserve"].inputs["values"]
    gateway = values["kserve"]["controller"]["gateway"]["ingressGateway"]
    assert gateway["enableGatewayApi"] is True
    assert gateway["kserveGateway"] == "kserve/kserve-ingress-gateway"


def test_a_stack_without_a_context_is_refused(tmp_path: Path):
    config = yaml.safe_load((STACKS_DIR / "local" / "Pulumi.local.yaml").read_text())
    del config["config"]["ai4s:kubernetes"]
    path = tmp_path / "Pulumi.local.yaml"
    path.write_text(yaml.safe_dump(config))
    with pytest.raises(Exception, match="kubernetes: required"):
        run_stack("local", path)
    with pytest.raises(ValueError, match="kubernetes.context: required"):
        ClusterConfig.from_mapping({"context": " "})
    with pytest.raises(ValueError, match="kubernetes.namespace: unknown key"):
        ClusterConfig.from_mapping({"context": "x", "namespace": "y"})


def test_protect_data_can_be_turned_off_for_a_planned_teardown(tmp_path: Path):
    config = yaml.safe_load((STACKS_DIR / "local" / "Pulumi.local.yaml").read_text())
    config["config"]["ai4s:services"]["protectData"] = False
    path = tmp_path / "Pulumi.local.yaml"
    path.write_text(yaml.safe_dump(config))
    monitor, _ = run_stack("local", path)
    assert not [r.name for r in monitor.registrations if r.protect or r.retain_on_delete]
