"""Trainer component: release, restricted torch and MPI runtimes, Volcano gang option."""

from __future__ import annotations

import pulumi
from compute_helpers import by_name, of_kind

from infra.components.trainer import MPI_RUNTIME, TORCH_RUNTIME, Trainer, TrainerArgs
from infra.verify import policy
from infra.verify.render import kubernetes_objects, run_under_mocks
from infra.verify.validate import validate_objects
from infra.versions import pin


def _render(**kw):
    return run_under_mocks(lambda: Trainer("trainer", TrainerArgs(**kw))).registrations


@pulumi.runtime.test
def test_torch_runtime_uses_torch_policy(monitor):
    t = Trainer("trainer", TrainerArgs())

    def check(spec):
        assert spec["mlPolicy"] == {"numNodes": 1, "torch": {}}
        container = spec["template"]["spec"]["replicatedJobs"][0]["template"]["spec"]["template"][
            "spec"
        ]["containers"][0]
        assert container["image"] == pin("torch-runtime-image").image
        assert container["securityContext"]["runAsNonRoot"] is True

    return t.runtimes[TORCH_RUNTIME].spec.apply(check)


def test_runtimes_wait_for_trainer_release():
    regs = _render()
    release = by_name(regs)["trainer-release"].urn
    runtimes = of_kind(regs, "ClusterTrainingRuntime")
    assert {r.inputs["metadata"]["name"] for r in runtimes} == {TORCH_RUNTIME, MPI_RUNTIME}
    assert all(release in r.dependencies for r in runtimes)


def test_release_pins_trainer_and_installs_jobset():
    rel = by_name(_render())["trainer-release"].inputs
    assert rel["chart"] == "oci://ghcr.io/kubeflow/charts/kubeflow-trainer"
    assert rel["version"] == pin("trainer").version
    assert rel["values"]["jobset"] == {"install": True}
    assert rel["values"]["runtimes"] == {"defaultEnabled": False}


def test_mpi_runtime_has_launcher_and_ssh_workers_and_volcano_only_when_selected():
    def mpi(regs):
        return next(o for o in kubernetes_objects(regs) if o["metadata"]["name"] == MPI_RUNTIME)[
            "spec"
        ]

    spec = mpi(_render())
    assert spec["mlPolicy"]["mpi"]["mpiImplementation"] == "OpenMPI"
    assert [j["name"] for j in spec["template"]["spec"]["replicatedJobs"]] == ["launcher", "node"]
    assert "podGroupPolicy" not in spec
    assert mpi(_render(gang_scheduler="volcano"))["podGroupPolicy"] == {"volcano": {}}


def test_runtimes_validate_and_pass_policy():
    objects = [
        o
        for o in kubernetes_objects(_render(gang_scheduler="volcano"))
        if o["kind"] == "ClusterTrainingRuntime"
    ]
    assert validate_objects(objects) == []
    assert policy.check(objects) == []


def test_mpi_sshd_keeps_net_bind_service_and_drops_everything_else():
    from infra.components.trainer import SSHD_CAPABILITIES

    spec = next(o for o in kubernetes_objects(_render())
                if o["metadata"]["name"] == MPI_RUNTIME)["spec"]
    jobs = {j["name"]: j for j in spec["template"]["spec"]["replicatedJobs"]}
    (sshd,) = jobs["node"]["template"]["spec"]["template"]["spec"]["containers"]
    assert sshd["command"] == ["/usr/sbin/sshd"]
    # the image's sshd carries cap_net_bind_service+ep; without it in the bounding set exec fails
    assert sshd["securityContext"]["capabilities"] == {"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]}
    assert SSHD_CAPABILITIES == ("NET_BIND_SERVICE",)
