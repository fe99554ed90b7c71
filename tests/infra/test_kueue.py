"""Kueue component under Pulumi mocks: objects, quotas, ordering, controller config."""

from __future__ import annotations

import pulumi
import yaml
from compute_helpers import A100_MIG, H100, PRIORITIES, TEAMS, by_name, of_kind, team

from infra.components.kueue import (
    INTEGRATIONS,
    Kueue,
    KueueArgs,
    LocalQueues,
    LocalQueuesArgs,
    manager_config,
    resource_groups,
)
from infra.config.compute import Offload, Preemption, Quota
from infra.verify.render import kubernetes_objects, run_under_mocks
from infra.verify.validate import validate_objects


def _render(**kw):
    args = KueueArgs(**{"cohort": "ai4s", "teams": TEAMS, "priorities": PRIORITIES, **kw})
    return run_under_mocks(lambda: Kueue("kueue", args)).registrations


@pulumi.runtime.test
def test_cluster_queue_outputs_carry_cohort_quota_and_preemption(monitor):
    args = KueueArgs(
        cohort="shared",
        teams=TEAMS,
        preemption=Preemption(within_cluster_queue="Never", reclaim_within_cohort="LowerPriority"),
    )
    k = Kueue("kueue", args)
    lq = LocalQueues("queues", LocalQueuesArgs(teams=TEAMS))

    def check(values):
        spec, lq_spec = values
        assert spec["cohortName"] == "shared"
        assert spec["namespaceSelector"] == {
            "matchExpressions": [
                {"key": "kubernetes.io/metadata.name", "operator": "In", "values": ["team-climate"]}
            ]
        }
        cpu = spec["resourceGroups"][0]["flavors"][0]["resources"][0]
        assert cpu == {"name": "cpu", "nominalQuota": "4"}
        assert spec["preemption"]["withinClusterQueue"] == "Never"
        assert spec["preemption"]["reclaimWithinCohort"] == "LowerPriority"
        assert lq_spec == {"clusterQueue": "climate"}

    return pulumi.Output.all(
        k.cluster_queues["climate"].spec, lq.queues["team-climate/climate"].spec
    ).apply(check)


def test_every_component_child_is_parented_and_named_from_component():
    regs = _render()
    comp = next(r for r in regs if r.type == "ai4s:kueue:Kueue")
    children = [r for r in regs if r is not comp]
    assert children and all(r.parent == comp.urn for r in children)
    assert all(r.name.startswith("kueue-") for r in children)


def test_custom_resources_wait_for_the_release_that_installs_their_crds():
    regs = _render(offload=Offload(quota=Quota(cpu="8", memory="16Gi")))
    release = next(r for r in regs if r.type == "kubernetes:helm.sh/v3:Release")
    crs = [r for r in regs if r.type.startswith("kubernetes:kueue.x-k8s.io/")]
    assert len(crs) == 7  # 2 flavors, 2 priorities, 2 team queues, 1 offload queue
    names = by_name(regs)
    for cr in crs:
        direct = release.urn in cr.dependencies
        via = any(
            release.urn in names[n].dependencies for n in names if names[n].urn in cr.dependencies
        )
        assert direct or via, f"{cr.name} does not wait for the Kueue release"
    # queues wait for their flavors
    assert names["kueue-flavor-cpu"].urn in names["kueue-cq-climate"].dependencies


def test_local_queues_wait_for_what_the_caller_names():
    def program():
        ns = pulumi.CustomResource("test:index:Namespace", "team-ns", {})
        LocalQueues("queues", LocalQueuesArgs(teams=TEAMS), pulumi.ResourceOptions(depends_on=[ns]))

    regs = run_under_mocks(program).registrations
    ns_urn = by_name(regs)["team-ns"].urn
    lqs = of_kind(regs, "LocalQueue")
    assert len(lqs) == 2 and all(ns_urn in r.dependencies for r in lqs)
    assert {(r.inputs["metadata"]["namespace"], r.inputs["spec"]["clusterQueue"]) for r in lqs} == {
        ("team-climate", "climate"),
        ("team-drugs", "drugs"),
    }


def test_flavors_one_per_gpu_model_plus_mig_and_interlink():
    regs = _render(
        gpu_models=(A100_MIG, H100), offload=Offload(quota=Quota(cpu="8", memory="16Gi"))
    )
    flavors = {
        r.inputs["metadata"]["name"]: r.inputs.get("spec") for r in of_kind(regs, "ResourceFlavor")
    }
    assert set(flavors) == {
        "cpu",
        "gpu-a100-80gb",
        "gpu-a100-80gb-mig",
        "gpu-h100-80gb",
        "interlink",
    }
    assert flavors["gpu-h100-80gb"]["nodeLabels"] == {
        "nvidia.com/gpu.product": "NVIDIA-H100-80GB-HBM3"
    }
    assert flavors["interlink"]["tolerations"][0]["key"] == "virtual-node.interlink/no-schedule"
    assert not flavors["cpu"]  # no node labels: combinable with a GPU flavor


def test_resource_groups_cover_gpus_and_mig_with_zero_fill():
    quota = Quota(cpu="4", memory="8Gi", gpus={"h100-80gb": 2}, mig={"a100-80gb": {"1g.10gb": 7}})
    borrow = Quota(cpu="2", memory="4Gi", gpus={"h100-80gb": 1})
    groups = resource_groups(quota, borrow, (A100_MIG, H100))
    assert [g["coveredResources"] for g in groups] == [
        ["cpu", "memory"],
        ["nvidia.com/gpu"],
        ["nvidia.com/mig-1g.10gb", "nvidia.com/mig-3g.40gb"],
    ]
    gpu = {f["name"]: f["resources"][0] for f in groups[1]["flavors"]}
    assert gpu["gpu-h100-80gb"] == {
        "name": "nvidia.com/gpu",
        "nominalQuota": 2,
        "borrowingLimit": 1,
    }
    assert gpu["gpu-a100-80gb"]["nominalQuota"] == 0
    mig = groups[2]["flavors"][0]["resources"]
    assert [r["nominalQuota"] for r in mig] == [7, 0]


def test_no_borrowing_limit_field_when_team_has_none():
    groups = resource_groups(Quota(cpu="1", memory="1Gi"), None, ())
    assert all("borrowingLimit" not in r for r in groups[0]["flavors"][0]["resources"])


def test_offload_queue_only_for_listed_teams_and_outside_cohort():
    offload = Offload(quota=Quota(cpu="8", memory="16Gi"), teams=("climate",))
    regs = _render(offload=offload)
    regs += run_under_mocks(
        lambda: LocalQueues("q", LocalQueuesArgs(teams=TEAMS, offload=offload))
    ).registrations
    cqs = {r.inputs["metadata"]["name"]: r.inputs["spec"] for r in of_kind(regs, "ClusterQueue")}
    assert "cohortName" not in cqs["offloading"]
    assert cqs["offloading"]["namespaceSelector"]["matchExpressions"][0]["values"] == [
        "team-climate"
    ]
    lqs = [
        (r.inputs["metadata"]["namespace"], r.inputs["metadata"]["name"])
        for r in of_kind(regs, "LocalQueue")
    ]
    assert ("team-climate", "offloading") in lqs and ("team-drugs", "offloading") not in lqs


def test_shared_namespaces_may_use_every_team_queue():
    regs = _render(shared_namespaces=("ai4s-notebooks",))
    selectors = {
        r.inputs["metadata"]["name"]: r.inputs["spec"]["namespaceSelector"]["matchExpressions"][0][
            "values"
        ]
        for r in of_kind(regs, "ClusterQueue")
    }
    assert selectors == {
        "climate": ["team-climate", "ai4s-notebooks"],
        "drugs": ["team-drugs", "ai4s-notebooks"],
    }


def test_priority_classes_carry_top_level_value():
    regs = _render()
    objs = [o for o in kubernetes_objects(regs) if o["kind"] == "WorkloadPriorityClass"]
    assert {o["metadata"]["name"]: o["value"] for o in objs} == {"high": 1000, "low": 10}


def test_rendered_kueue_objects_validate():
    regs = _render(
        gpu_models=(A100_MIG, H100), offload=Offload(quota=Quota(cpu="8", memory="16Gi"))
    )
    assert validate_objects(kubernetes_objects(regs)) == []


def test_manager_config_enables_every_required_integration_and_gang_admission():
    cfg = yaml.safe_load(manager_config(KueueArgs(cohort="ai4s", teams=(team(),))))
    assert cfg["apiVersion"] == "config.kueue.x-k8s.io/v1beta2"
    frameworks = set(cfg["integrations"]["frameworks"])
    assert frameworks == set(INTEGRATIONS)
    assert {
        "batch/job",
        "jobset.x-k8s.io/jobset",
        "kubeflow.org/mpijob",
        "ray.io/rayjob",
        "ray.io/raycluster",
        "trainer.kubeflow.org/trainjob",
    } <= frameworks
    assert cfg["waitForPodsReady"]["timeout"] == "5m"


def test_release_pins_chart_and_image():
    regs = _render()
    rel = next(r for r in regs if r.type == "kubernetes:helm.sh/v3:Release")
    assert rel.inputs["chart"] == "oci://registry.k8s.io/kueue/charts/kueue"
    assert rel.inputs["version"] == "0.19.2"
    image = rel.inputs["values"]["controllerManager"]["manager"]["image"]
    assert image["tag"] == "v0.19.2" and image["repository"] == "registry.k8s.io/kueue/kueue"
