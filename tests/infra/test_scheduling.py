"""Scheduling is what the config says: fair sharing, no cluster-wide admission block,
notebook pods under Kueue, MPI gangs in their team's Volcano queue."""

from __future__ import annotations

import pytest
import yaml

from infra.components.tenancy import VOLCANO_QUEUE_ANNOTATION
from infra.components.volcano import ADMISSIONS
from infra.verify.render import render_stack


@pytest.fixture(scope="module")
def renders(tmp_path_factory) -> dict:
    return {s: render_stack(s, tmp_path_factory.mktemp(f"s-{s}")) for s in ("local", "gpu")}


def _release(r, name):
    (rel,) = [x for x in r.releases if x["name"] == name]
    return rel


def _manager_config(r) -> dict:
    values = _release(r, "kueue")["values"]
    return yaml.safe_load(values["managerConfig"]["controllerManagerConfigYaml"])


@pytest.mark.parametrize("stack", ["local", "gpu"])
def test_fair_sharing_is_on_and_admission_is_not_serialised(renders, stack):
    config = _manager_config(renders[stack])
    assert config["fairSharing"] == {
        "preemptionStrategies": ["LessThanOrEqualToFinalShare", "LessThanInitialShare"]}
    assert config["waitForPodsReady"]["blockAdmission"] is False


def test_notebook_pods_are_managed_by_kueue_in_the_hub_namespace_only(renders):
    config = _manager_config(renders["gpu"])
    assert "pod" in config["integrations"]["frameworks"]
    assert config["managedJobsNamespaceSelector"] == {"matchExpressions": [{
        "key": "kubernetes.io/metadata.name", "operator": "In", "values": ["ai4s-notebooks"]}]}
    # the local stack has no notebooks: no pod integration, no selector
    local = _manager_config(renders["local"])
    assert "pod" not in local["integrations"]["frameworks"]
    assert "managedJobsNamespaceSelector" not in local


def test_mpi_gangs_land_in_their_teams_volcano_queue(renders):
    r = renders["gpu"]
    admissions = _release(r, "volcano")["values"]["custom"]["enabled_admissions"].split(",")
    assert "/podgroups/mutate" in admissions and tuple(admissions) == ADMISSIONS
    queues = {o["metadata"]["name"] for o in r.objects if o["kind"] == "Queue"}
    runtime = next(o for o in r.objects if o["metadata"]["name"] == "ai4s-mpi")
    assert "volcano" in runtime["spec"]["podGroupPolicy"]
    for ns in (o for o in r.objects if o["kind"] == "Namespace"
               and o["metadata"].get("labels", {}).get("ai4s.dev/tenant") == "true"):
        team = ns["metadata"]["labels"]["ai4s.dev/team"]
        assert ns["metadata"]["annotations"][VOLCANO_QUEUE_ANNOTATION] == team
        assert team in queues
    local_ns = [o for o in renders["local"].objects if o["kind"] == "Namespace"]
    assert not any(VOLCANO_QUEUE_ANNOTATION in (o["metadata"].get("annotations") or {})
                   for o in local_ns)


@pytest.mark.parametrize("stack", ["local", "gpu"])
def test_runtime_defaults_are_the_stacks_container_defaults(renders, stack):
    r = renders[stack]
    (lr,) = [o for o in r.objects if o["kind"] == "LimitRange"
             and o["metadata"]["namespace"] == "team-climate"]
    limits = lr["spec"]["limits"][0]
    for runtime in (o for o in r.objects if o["kind"] == "ClusterTrainingRuntime"):
        for job in runtime["spec"]["template"]["spec"]["replicatedJobs"]:
            for c in job["template"]["spec"]["template"]["spec"]["containers"]:
                assert c["resources"] == {"requests": limits["defaultRequest"],
                                          "limits": limits["default"]}
