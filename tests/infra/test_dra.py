"""Dynamic Resource Allocation for GPUs: an option of the gpu stack next to the device
plugin, validated offline against resource.k8s.io/v1 at the pinned Kubernetes version."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from infra.config.compute import ComputeConfig
from infra.verify import policy, quotas
from infra.verify.render import STACKS_DIR, render_stack
from infra.verify.validate import validate_object, validate_objects


def _dra_config() -> dict:
    config = yaml.safe_load((STACKS_DIR / "gpu" / "Pulumi.gpu.yaml").read_text())
    compute = config["config"]["ai4s:compute"]
    compute["gpu"].update(sharing="none", allocation="dra")
    for model in compute["gpu"]["models"]:
        model.pop("migProfiles", None)
    for team in compute["teams"]:
        team["quota"].pop("mig", None)
    return config


@pytest.fixture(scope="module")
def dra(tmp_path_factory):
    out = tmp_path_factory.mktemp("dra")
    path = out / "Pulumi.gpu.yaml"
    path.write_text(yaml.safe_dump(_dra_config()))
    return render_stack("gpu", out / "render", config_file=path)


def _release(r, name):
    (rel,) = [x for x in r.releases if x["name"] == name]
    return rel


def test_dra_replaces_the_device_plugin_and_installs_the_dra_driver(dra):
    assert _release(dra, "gpu-operator")["values"]["devicePlugin"] == {"enabled": False}
    driver = _release(dra, "nvidia-dra-driver-gpu")
    assert driver["chart"] == "nvidia-dra-driver-gpu" and driver["version"] == "25.12.0"


def test_every_team_gets_a_gpu_claim_template_that_validates(dra):
    templates = [o for o in dra.objects if o["kind"] == "ResourceClaimTemplate"]
    assert {t["metadata"]["namespace"] for t in templates} == {"team-climate", "team-drug-discovery"}
    for t in templates:
        assert t["apiVersion"] == "resource.k8s.io/v1"
        (request,) = t["spec"]["spec"]["devices"]["requests"]
        assert request["exactly"]["deviceClassName"] == "gpu.nvidia.com"
        assert validate_object(t) == []
    broken = copy.deepcopy(templates[0])
    broken["spec"]["spec"]["devices"]["requests"][0]["exactly"]["count"] = "one"
    assert validate_object(broken)


def test_kueue_counts_dra_claims_against_gpu_quota(dra):
    (kueue,) = [r for r in dra.releases if r["name"] == "kueue"]
    config = yaml.safe_load(kueue["values"]["managerConfig"]["controllerManagerConfigYaml"])
    assert config["featureGates"] == {"KueueDRAIntegration": True}
    assert config["resources"]["deviceClassMappings"] == [
        {"name": "nvidia.com/gpu", "deviceClassNames": ["gpu.nvidia.com"]}]


def test_the_dra_stack_validates_and_keeps_its_properties(dra):
    assert validate_objects(dra.objects) == []
    assert policy.check(dra.objects, dra.releases) == []
    assert quotas.check(dra.objects, dra.releases) == []


def test_the_committed_gpu_stack_keeps_the_device_plugin(tmp_path: Path):
    r = render_stack("gpu", tmp_path)
    assert _release(r, "gpu-operator")["values"]["devicePlugin"] == {"enabled": True}
    assert not [o for o in r.objects if o["kind"] == "ResourceClaimTemplate"]


def test_dra_with_mig_is_refused_naming_the_key():
    config = _dra_config()["config"]["ai4s:compute"]
    config["gpu"]["sharing"] = "time-slicing"
    with pytest.raises(ValueError, match="compute.gpu.allocation: 'dra' requires sharing 'none'"):
        ComputeConfig.from_mapping(config)
