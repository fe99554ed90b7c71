"""Stack config parsing: committed configs load; each bad value fails naming its key."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from compute_helpers import DELETE, mutated

from infra.config.compute import ComputeConfig, Preemption, Quota, Team
from infra.verify.render import STACKS_DIR, load_stack_config


def committed(stack: str) -> dict:
    flat = load_stack_config(STACKS_DIR / stack / f"Pulumi.{stack}.yaml")
    return json.loads(flat["ai4s:compute"])


@pytest.mark.parametrize("stack", ["local", "gpu"])
def test_committed_stack_configs_parse(stack):
    cfg = ComputeConfig.from_mapping(committed(stack))
    assert [t.namespace for t in cfg.teams] == ["team-climate", "team-drug-discovery"]
    assert (cfg.gpu is None) == (stack == "local")


def test_gpu_config_is_typed():
    cfg = ComputeConfig.from_mapping(committed("gpu"))
    assert cfg.gang_scheduler == "volcano"
    assert cfg.gpu.sharing == "mig" and cfg.gpu.models[0].mig_profiles == ("1g.10gb", "3g.40gb")
    assert cfg.teams[0].quota.mig == {"a100-80gb": {"1g.10gb": 7, "3g.40gb": 2}}
    assert cfg.offload.teams == ("climate",)
    assert cfg.preemption == Preemption(
        within_cluster_queue="LowerPriority",
        reclaim_within_cohort="Any",
        borrow_within_cohort="Never",
    )


BAD = [
    ("teams.0.quota.cpu", "-2", "compute.teams[0].quota.cpu"),
    ("teams.1.quota.memory", "lots", "compute.teams[1].quota.memory"),
    (
        "teams.0.borrowingLimit.gpus",
        {"a100-80gb": -1},
        "compute.teams[0].borrowingLimit.gpus.a100-80gb",
    ),
    ("gpu.models.0.model", "rtx-9090", "compute.gpu.models[0].model"),
    ("gpu.models.0.migProfiles", ["9g.99gb"], "compute.gpu.models[0].migProfiles"),
    ("teams.0.namespace", DELETE, "compute.teams[0].namespace: required"),
    ("teams.0.namespace", "Team_Climate", "compute.teams[0].namespace"),
    ("teams.0.members", ["alice"], "compute.teams[0].members[0]"),
    ("teams.0.quota.gpus", {"t4": 1}, "compute.teams[0].quota.gpus.t4"),
    (
        "teams.0.quota.mig",
        {"a100-80gb": {"7g.80gb": 1}},
        "compute.teams[0].quota.mig.a100-80gb.7g.80gb",
    ),
    ("gangScheduler", "slurm", "compute.gangScheduler"),
    ("gpu.sharing", "vgpu", "compute.gpu.sharing"),
    ("gpu.timeSlicingReplicas", 1, "compute.gpu.timeSlicingReplicas"),
    ("gpu.dcgmExporterTag", "latest", "compute.gpu.dcgmExporterTag"),
    ("gpu.driverPreinstalled", "false", "compute.gpu.driverPreinstalled: expected true or false"),
    ("operators", {"kuberay": "no"}, "compute.operators.kuberay"),
    ("gpu.models", {"model": "h100-80gb"}, "compute.gpu.models: expected a list"),
    ("offload.nodeLabels", {"virtual": 1}, "compute.offload.nodeLabels.virtual"),
    ("preemption.withinClusterQueue", "Always", "compute.preemption.withinClusterQueue"),
    ("priorities.0.value", "high", "compute.priorities[0].value"),
    ("offload.teams", ["physics"], "compute.offload.teams"),
    ("teams.1.name", "climate", "compute.teams[].name: duplicate 'climate'"),
    ("teams", [], "compute.teams: at least one team"),
    ("quotas", {}, "compute.quotas: unknown key"),
    (
        "sharedQueueNamespaces",
        ["team-climate"],
        "compute.sharedQueueNamespaces: 'team-climate' is a team namespace",
    ),
    ("teams.0.quota.gpu", 1, "compute.teams[0].quota.gpu: unknown key"),
]


@pytest.mark.parametrize(
    ("path", "value", "message"), BAD, ids=[b[0] + ":" + str(b[1])[:12] for b in BAD]
)
def test_bad_value_fails_naming_the_key(path, value, message):
    with pytest.raises(ValueError) as err:
        ComputeConfig.from_mapping(mutated(committed("gpu"), path, value))
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_absent_keys_take_the_dataclass_defaults():
    raw = {"teams": [{"name": "a", "namespace": "team-a", "quota": {"cpu": "1"}}]}
    parsed = ComputeConfig.from_mapping(raw)
    assert parsed == ComputeConfig(
        teams=(Team(name="a", namespace="team-a", quota=Quota(cpu="1")),)
    )


def test_mig_profiles_require_mig_sharing():
    raw = mutated(committed("gpu"), "gpu.sharing", "time-slicing")
    with pytest.raises(ValueError, match="compute.gpu.sharing"):
        ComputeConfig.from_mapping(raw)


def test_borrow_within_cohort_needs_reclaim():
    raw = mutated(committed("gpu"), "preemption.borrowWithinCohort", "LowerPriority")
    raw = mutated(raw, "fairSharing", False)
    raw = mutated(raw, "preemption.reclaimWithinCohort", "Never")
    with pytest.raises(ValueError, match="compute.preemption.borrowWithinCohort"):
        ComputeConfig.from_mapping(raw)


def test_fair_sharing_is_on_by_default_and_refuses_borrow_within_cohort():
    assert ComputeConfig.from_mapping(committed("gpu")).fair_sharing is True
    raw = mutated(committed("gpu"), "preemption.borrowWithinCohort", "LowerPriority")
    with pytest.raises(ValueError, match="must be 'Never' when fairSharing is true"):
        ComputeConfig.from_mapping(raw)
    assert ComputeConfig.from_mapping(mutated(raw, "fairSharing", False)).fair_sharing is False


def test_dataclasses_validate_when_built_in_code():
    with pytest.raises(ValueError, match="Team.namespace"):
        Team(name="a", namespace="", quota=Quota())
    with pytest.raises(ValueError, match="compute.teams"):
        ComputeConfig(teams=())


def test_config_file_with_secret_or_bare_key_is_rejected(tmp_path: Path):
    bad = tmp_path / "Pulumi.x.yaml"
    bad.write_text("config:\n  compute: {}\n")
    with pytest.raises(ValueError, match="needs a namespace"):
        load_stack_config(bad)
    bad.write_text("config:\n  ai4s:token:\n    secure: AAAA\n")
    with pytest.raises(ValueError, match="Pulumi secret"):
        load_stack_config(bad)


@pytest.mark.parametrize("name", ["Team-A", "-lead", "a" * 64, "x_y", ""])
def test_compute_and_services_reject_a_bad_name_with_the_same_message(name):
    """One DNS-label rule for both config halves: a name fails the same way in each."""
    from infra.config.services import services_config_from_mapping

    with pytest.raises(ValueError) as compute_err:
        Team(name="climate", namespace=name, quota=Quota(cpu="1", memory="1Gi"))
    with pytest.raises(ValueError) as services_err:
        services_config_from_mapping({"tracking": {"namespace": name}})
    assert str(services_err.value) == str(compute_err.value).replace(
        "Team.namespace", "services.tracking.namespace"
    )
