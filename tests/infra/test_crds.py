"""CRD schema registry: each kind accepts what the platform emits and rejects broken objects."""

from __future__ import annotations

from pathlib import Path

import pytest
from compute_helpers import A100_MIG, DELETE, H100, PRIORITIES, TEAMS, mutated

from infra.components.kueue import Kueue, KueueArgs, LocalQueues, LocalQueuesArgs
from infra.components.trainer import Trainer, TrainerArgs
from infra.components.volcano import Volcano, VolcanoArgs
from infra.config.compute import Offload, Quota
from infra.verify import crds
from infra.verify.render import kubernetes_objects, run_under_mocks
from infra.verify.validate import validate_object

OURS = {
    ("kueue.x-k8s.io/v1beta2", "ResourceFlavor"),
    ("kueue.x-k8s.io/v1beta2", "ClusterQueue"),
    ("kueue.x-k8s.io/v1beta2", "LocalQueue"),
    ("kueue.x-k8s.io/v1beta2", "WorkloadPriorityClass"),
    ("scheduling.volcano.sh/v1beta1", "Queue"),
    ("trainer.kubeflow.org/v1alpha1", "ClusterTrainingRuntime"),
}


@pytest.fixture(scope="module")
def emitted() -> dict[str, dict]:
    """One object of every kind the compute components emit, keyed by kind."""

    def program():
        offload = Offload(quota=Quota(cpu="8", memory="16Gi"))
        Kueue(
            "k",
            KueueArgs(
                cohort="ai4s",
                teams=TEAMS,
                priorities=PRIORITIES,
                gpu_models=(A100_MIG, H100),
                offload=offload,
            ),
        )
        LocalQueues("q", LocalQueuesArgs(teams=TEAMS, offload=offload))
        Volcano("v", VolcanoArgs(teams=TEAMS, capabilities=[{"cpu": "4"}, {"cpu": "2"}]))
        Trainer("t", TrainerArgs(gang_scheduler="volcano"))

    objects = kubernetes_objects(run_under_mocks(program).registrations)
    # Registration order is not deterministic; pick the richest object of each kind by name.
    chosen = {
        "ResourceFlavor": "gpu-h100-80gb",
        "ClusterTrainingRuntime": "ai4s-mpi",
        "ClusterQueue": "climate",
        "LocalQueue": "climate",
        "Queue": "climate",
        "WorkloadPriorityClass": "high",
    }
    return {o["kind"]: o for o in objects if chosen.get(o["kind"]) == o["metadata"]["name"]}


def test_registry_holds_every_kind_we_emit():
    assert OURS <= set(crds.registry())


def test_every_emitted_kind_validates(emitted):
    assert {k for _, k in OURS} <= set(emitted)
    for obj in emitted.values():
        assert validate_object(obj) == [], obj["kind"]


JOB = "spec.template.spec.replicatedJobs.1.template.spec"

BROKEN = [
    ("ResourceFlavor", "spec.nodeLabels", {f"k{i}": "v" for i in range(9)}, "spec.nodeLabels"),
    ("ResourceFlavor", "spec.tolerations.0.operator", "Maybe", "operator"),
    ("ResourceFlavor", "spec.tolerations.0.value", "x", "tolerations"),  # value with Exists
    ("ResourceFlavor", "metadata.namespace", "team-a", "cluster-scoped"),
    ("ClusterQueue", "spec.cohort", "ai4s", "spec"),  # v1beta1 field name, gone in v1beta2
    ("ClusterQueue", "spec.queueingStrategy", "LIFO", "queueingStrategy"),
    (
        "ClusterQueue",
        "spec.resourceGroups.0.flavors.0.resources.0.nominalQuota",
        "-1",
        "nominalQuota",
    ),
    (
        "ClusterQueue",
        "spec.resourceGroups.0.flavors.0.resources.0.nominalQuota",
        DELETE,
        "nominalQuota",
    ),
    ("ClusterQueue", "spec.resourceGroups.0.coveredResources", [], "coveredResources"),
    ("ClusterQueue", "spec.preemption.withinClusterQueue", "Always", "withinClusterQueue"),
    (
        "ClusterQueue",
        "spec.preemption",
        {"reclaimWithinCohort": "Never", "borrowWithinCohort": {"policy": "LowerPriority"}},
        "policy",
    ),
    ("ClusterQueue", "spec.cohortName", "Not_A_Name", "cohortName"),
    ("LocalQueue", "spec.clusterQueue", DELETE, "clusterQueue"),
    ("LocalQueue", "metadata.namespace", DELETE, "namespaced"),
    ("LocalQueue", "spec.stopPolicy", "Pause", "stopPolicy"),
    ("WorkloadPriorityClass", "value", "high", "value"),
    ("WorkloadPriorityClass", "value", 2**31, "value"),
    ("WorkloadPriorityClass", "spec", {"value": 1}, "<root>"),
    ("Queue", "spec.weight", 0, "weight"),
    ("Queue", "spec.capability.cpu", "-4", "capability"),
    ("Queue", "spec.reclaimable", "yes", "reclaimable"),
    (
        "ClusterTrainingRuntime",
        "spec.mlPolicy.mpi.mpiImplementation",
        "MVAPICH",
        "mpiImplementation",
    ),
    ("ClusterTrainingRuntime", "spec.mlPolicy.torch", {}, "mlPolicy"),  # two policies at once
    ("ClusterTrainingRuntime", "spec.mlPolicy.flux", {}, "mlPolicy"),
    ("ClusterTrainingRuntime", "spec.mlPolicy.numNodes", 0, "numNodes"),
    ("ClusterTrainingRuntime", "spec.podGroupPolicy.coscheduling", {}, "podGroupPolicy"),
    ("ClusterTrainingRuntime", "spec.template.spec.replicatedJobs.0.name", "Launcher", "name"),
    ("ClusterTrainingRuntime", JOB + ".template.spec.containers.0.name", DELETE, "as Job"),
    ("ClusterTrainingRuntime", JOB + ".template.spec.containers.0.args", "-De", "as Job"),
    ("ClusterTrainingRuntime", JOB + ".template.spec.containers.0.resources.limit", {}, "as Job"),
]


@pytest.mark.parametrize(
    ("kind", "path", "value", "needle"),
    BROKEN,
    ids=[f"{b[0]}:{b[1].split('.')[-1]}" for b in BROKEN],
)
def test_broken_object_is_rejected(emitted, kind, path, value, needle):
    findings = validate_object(mutated(emitted[kind], path, value))
    assert findings, f"{kind} with {path}={value!r} was accepted"
    assert any(needle in str(f) for f in findings), [str(f) for f in findings]


def test_torch_policy_has_no_fields_in_trainer_v2_2(emitted):
    """numProcPerNode lives on the TrainJob since Trainer v2.2; in a runtime it is refused."""
    runtime = mutated(emitted["ClusterTrainingRuntime"], "spec.mlPolicy", {"torch": {}})
    assert validate_object(runtime) == []
    runtime = mutated(runtime, "spec.mlPolicy.torch", {"numProcPerNode": "auto"})
    assert any("mlPolicy.torch" in str(f) for f in validate_object(runtime))


def test_unknown_custom_resource_is_an_error_not_a_pass():
    obj = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}, "spec": {}}
    findings = validate_object(obj)
    assert len(findings) == 1 and "no schema registered" in findings[0].message


def test_known_group_with_unregistered_version_is_an_error(emitted):
    obj = dict(emitted["LocalQueue"], apiVersion="kueue.x-k8s.io/v1alpha9")
    assert "no schema registered" in validate_object(obj)[0].message


def test_duplicate_registration_is_refused(tmp_path: Path):
    src = crds.SCHEMA_DIR / "kueue.x-k8s.io_v1beta2_localqueue.yaml"
    for name in ("a.yaml", "b.yaml"):
        (tmp_path / name).write_text(src.read_text())
    with pytest.raises(ValueError, match="already registered"):
        crds.registry(tmp_path)


def test_invalid_schema_file_is_refused(tmp_path: Path):
    (tmp_path / "x.yaml").write_text(
        "apiVersion: a/v1\nkind: X\nscope: Cluster\nschema: {type: 12}\n"
    )
    with pytest.raises(Exception, match="12"):
        crds.registry(tmp_path)
    (tmp_path / "x.yaml").write_text("apiVersion: a/v1\nkind: X\nscope: Global\nschema: {}\n")
    with pytest.raises(ValueError, match="scope"):
        crds.registry(tmp_path)
