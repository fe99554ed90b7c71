"""The compute block as a whole: what config switches on and off."""

from __future__ import annotations

from compute_helpers import A100_MIG, H100, minimal_config

from infra import outputs
from infra.components.compute import Compute, gpu_resources
from infra.config.compute import Gpu, Operators
from infra.verify.render import run_under_mocks


def _types(config):
    regs = run_under_mocks(lambda: Compute("compute", config)).registrations
    return regs, {r.type for r in regs}


def test_minimal_config_installs_kueue_kuberay_trainer_but_no_gpu_or_volcano():
    regs, types = _types(minimal_config())
    assert {
        "ai4s:kueue:Kueue",
        "ai4s:kuberay:KubeRay",
        "ai4s:trainer:Trainer",
        "ai4s:tenancy:Tenancy",
    } <= types
    assert not {"ai4s:gpu:GpuStack", "ai4s:volcano:Volcano"} & types
    comp = next(r for r in regs if r.type == "ai4s:compute:Compute")
    top = [r for r in regs if r.parent == comp.urn]
    assert all(r.name.startswith("compute-") for r in top)


def test_operators_can_be_switched_off():
    config = minimal_config(operators=Operators(kuberay=False, trainer=False))
    compute = {}

    def program():
        compute["c"] = Compute("compute", config)

    regs = run_under_mocks(program).registrations
    assert not {"ai4s:kuberay:KubeRay", "ai4s:trainer:Trainer"} & {r.type for r in regs}
    exports = compute["c"].exports
    assert (
        exports[outputs.TRAINING_RUNTIMES] == [] and exports[outputs.RAY_OPERATOR_NAMESPACE] == ""
    )
    assert set(exports) == set(outputs.COMPUTE_KEYS)


def test_volcano_and_gpu_follow_config():
    config = minimal_config(
        gang_scheduler="volcano", gpu=Gpu(models=(A100_MIG, H100), sharing="mig")
    )
    _, types = _types(config)
    assert {"ai4s:gpu:GpuStack", "ai4s:volcano:Volcano"} <= types


def test_gpu_resources_list_whole_gpus_and_every_mig_slice():
    config = minimal_config(gpu=Gpu(models=(A100_MIG, H100), sharing="mig"))
    assert gpu_resources(config) == (
        "nvidia.com/gpu",
        "nvidia.com/mig-1g.10gb",
        "nvidia.com/mig-3g.40gb",
    )
    assert gpu_resources(minimal_config()) == ()


def test_gpu_config_reaches_the_operator_values():
    config = minimal_config(
        gpu=Gpu(
            models=(H100,),
            sharing="time-slicing",
            time_slicing_replicas=2,
            driver_preinstalled=True,
            dcgm_exporter_tag="4.8.1-ubuntu22.04",
        )
    )
    regs = run_under_mocks(lambda: Compute("compute", config)).registrations
    values = next(r for r in regs if r.name == "compute-gpu-release").inputs["values"]
    assert values["driver"] == {"enabled": False}
    assert values["dcgmExporter"]["version"] == "4.8.1-ubuntu22.04"
    assert values["devicePlugin"]["config"]["name"] == "ai4s-time-slicing"
