"""GPU stack component: GPU Operator values per sharing mode, time-slicing config."""

from __future__ import annotations

import pulumi
import pytest
import yaml
from compute_helpers import by_name

from infra.components.gpu import TIME_SLICING_CONFIG, GpuStack, GpuStackArgs, operator_values
from infra.verify.render import run_under_mocks


@pulumi.runtime.test
def test_operator_namespace_is_the_only_privileged_one(monitor):
    g = GpuStack("gpu", GpuStackArgs())
    return g.namespace.metadata.apply(
        lambda m: _assert_equal(m["labels"]["pod-security.kubernetes.io/enforce"], "privileged")
    )


def _assert_equal(a, b):
    assert a == b


def test_time_slicing_writes_config_and_release_waits_for_it():
    regs = run_under_mocks(
        lambda: GpuStack("gpu", GpuStackArgs(sharing="time-slicing", time_slicing_replicas=3))
    ).registrations
    names = by_name(regs)
    cm = names["gpu-time-slicing"]
    sharing = yaml.safe_load(cm.inputs["data"]["any"])["sharing"]["timeSlicing"]
    assert sharing["resources"] == [{"name": "nvidia.com/gpu", "replicas": 3}]
    rel = names["gpu-release"]
    assert cm.urn in rel.dependencies
    assert rel.inputs["values"]["devicePlugin"]["config"] == {
        "name": TIME_SLICING_CONFIG,
        "default": "any",
    }
    assert (rel.inputs["chart"], rel.inputs["version"]) == ("gpu-operator", "v26.3.0")


def test_mig_mode_enables_mig_manager_with_strategy():
    values = operator_values(GpuStackArgs(sharing="mig", mig_strategy="single"))
    assert values["migManager"] == {"enabled": True}
    assert values["mig"] == {"strategy": "single"}
    assert "config" not in values["devicePlugin"]


def test_preinstalled_driver_and_dcgm_override():
    values = operator_values(
        GpuStackArgs(driver_preinstalled=True, dcgm_exporter_tag="4.8.1-ubuntu22.04")
    )
    assert values["driver"] == {"enabled": False}
    assert values["dcgmExporter"] == {"enabled": True, "version": "4.8.1-ubuntu22.04"}


def test_no_time_slicing_config_without_time_slicing():
    regs = run_under_mocks(lambda: GpuStack("gpu", GpuStackArgs())).registrations
    assert "gpu-time-slicing" not in by_name(regs)


def test_bad_sharing_mode_is_rejected_by_name():
    with pytest.raises(ValueError, match="GpuStackArgs.sharing"):
        GpuStackArgs(sharing="vgpu")


def test_component_args_carry_every_operator_setting_of_the_stack_config():
    from compute_helpers import H100

    from infra.config.compute import Gpu

    gpu = Gpu(models=(H100,), sharing="time-slicing", time_slicing_replicas=8,
              mig_strategy="single", driver_preinstalled=True, dcgm_exporter_tag="4.8.1-ubuntu22.04")
    args = GpuStackArgs(**gpu.operator_settings())
    assert {k: getattr(args, k) for k in gpu.operator_settings()} == gpu.operator_settings()
    assert set(gpu.operator_settings()) == {
        "sharing", "time_slicing_replicas", "mig_strategy", "driver_preinstalled", "dcgm_exporter_tag",
        "allocation",
    }


@pytest.mark.parametrize(
    ("field", "value", "key"),
    [("time_slicing_replicas", 1, "timeSlicingReplicas"), ("dcgm_exporter_tag", "latest", "dcgmExporterTag"),
     ("mig_strategy", "all", "migStrategy")],
)
def test_component_args_validate_like_the_stack_config(field, value, key):
    with pytest.raises(ValueError, match=rf"GpuStackArgs\.{key}"):
        GpuStackArgs(**{field: value})
