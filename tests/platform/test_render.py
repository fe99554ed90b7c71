"""`ai4s workload render`: every stage object validates against the CRD and Kubernetes schemas,
passes the stacks' policies and the workload rules; broken copies are refused."""

from __future__ import annotations

import copy
import json
import shlex

import pytest
import yaml
from typer.testing import CliRunner

from infra import outputs as infra_outputs
from infra.verify import policy
from infra.verify import quotas as infra_quotas
from infra.verify.validate import validate_object, validate_objects
from reference_workloads.cli import app
from reference_workloads.core.launch import MAP_BACKEND_ENV
from reference_workloads.core.recipes import RecipeError, StageResources
from reference_workloads.platform import checks
from reference_workloads.platform.objects import QUEUE_LABEL
from reference_workloads.platform.quota import flavor_capacity
from reference_workloads.platform.render import RenderError, render_workload
from reference_workloads.platform.target import OUTPUT_KEYS, TargetError, target_from_outputs

from .conftest import DIGEST_IMAGE

CASES = [("climate", "mpi"), ("drug-discovery", "mpi"), ("drug-discovery", "ray")]


def _render(stacks, stack, workload, recipe="ci_tiny", *, physics="mpi", overrides=(), image=DIGEST_IMAGE):
    target = target_from_outputs(stacks[stack].outputs, stack=stack, team=workload)
    return [s.manifest for s in render_workload(workload, recipe, target, image=image,
                                                physics=physics, overrides=overrides)]


def _all_findings(stacks, stack, manifests):
    """Schemas + cross references + stack policies + workload rules, as one list of strings."""
    stack_objects = stacks[stack].objects
    return ([str(f) for f in validate_objects([*stack_objects, *manifests])]
            + [str(v) for v in policy.check([*stack_objects, *manifests])]
            + [str(f) for f in checks.check_objects(manifests, stack_objects)])


@pytest.mark.parametrize("stack", ["local", "gpu", "gpu-shared"])
@pytest.mark.parametrize(("workload", "physics"), CASES)
def test_rendered_objects_validate_and_pass_every_policy(stacks, stack, workload, physics):
    manifests = _render(stacks, stack, workload, physics=physics)
    kinds = [m["kind"] for m in manifests]
    assert kinds[:2] == (["RayJob", "TrainJob"] if physics == "ray" else ["TrainJob", "TrainJob"])
    if workload == "drug-discovery":
        assert kinds[-1] == "InferenceService"
    assert _all_findings(stacks, stack, manifests) == []


def test_the_gpu_recipe_fits_the_gpu_stack_also_with_a_mig_slice_for_serving(stacks):
    whole = _render(stacks, "gpu", "drug-discovery", "h100x1")
    train = next(m for m in whole if m["metadata"]["labels"]["ai4s.dev/stage"] == "train")
    assert train["spec"]["trainer"]["resourcesPerNode"]["limits"]["nvidia.com/gpu"] == "1"
    mig = _render(stacks, "gpu", "drug-discovery", "h100x1",
                  overrides=("resources.serve.gpus=0", "resources.serve.mig_profile=1g.10gb"))
    serve = mig[-1]["spec"]["predictor"]["containers"][0]["resources"]["requests"]
    assert serve["nvidia.com/mig-1g.10gb"] == "1" and "nvidia.com/gpu" not in serve
    assert _all_findings(stacks, "gpu", whole) == [] and _all_findings(stacks, "gpu", mig) == []


def test_the_ray_physics_entrypoint_is_the_kits_own_physics_stage_on_the_ray_map(stacks):
    """The RayJob runs what the MPI TrainJob runs, `ai4s run ... --stage physics`, with the Ray map
    selected outside the recipe, and publishes to the run's data layer: so the train pod resumes
    the physics stage it finished instead of docking everything again."""
    overrides = ("train.epochs=1", "docking.exhaustiveness=2")
    ray = _render(stacks, "local", "drug-discovery", physics="ray", overrides=overrides)[0]
    mpi = _render(stacks, "local", "drug-discovery", physics="mpi", overrides=overrides)[0]
    command = mpi["spec"]["trainer"]["command"]
    assert command[:3] == ["ai4s", "run", "drug-discovery"] and command[-2:] == ["--stage", "physics"]
    assert shlex.split(ray["spec"]["entrypoint"]) == [f"{MAP_BACKEND_ENV}=ray", *command]
    assert "--set docking.exhaustiveness=2" in ray["spec"]["entrypoint"]
    env = {e["name"]: e.get("value") for e in ray["spec"]["rayClusterSpec"]["headGroupSpec"]["template"]["spec"]
           ["containers"][0]["env"]}
    assert env["AI4S_STORAGE"] == {e["name"]: e.get("value") for e in mpi["spec"]["trainer"]["env"]}["AI4S_STORAGE"]


@pytest.mark.parametrize(("cpu", "expected"), [("0.5", "1"), ("1", "1"), ("2.5", "3")])
def test_ray_is_started_with_a_whole_number_of_cpus(stacks, cpu, expected):
    # `ray start --num-cpus` takes an integer: a Kubernetes quantity such as "500m" stops the pod
    ray = _render(stacks, "local", "drug-discovery", physics="ray", overrides=(f"resources.physics.cpu={cpu}",))[0]
    cluster = ray["spec"]["rayClusterSpec"]
    for params in (cluster["headGroupSpec"]["rayStartParams"], cluster["workerGroupSpecs"][0]["rayStartParams"]):
        assert params["num-cpus"] == expected
    assert cluster["headGroupSpec"]["template"]["spec"]["containers"][0]["resources"]["requests"]["cpu"] == (
        {"0.5": "500m", "1": "1", "2.5": "2500m"}[cpu])  # the pod's own request is still the recipe's


def test_objects_request_what_the_recipe_declares_and_carry_the_platform_env(stacks):
    manifests = _render(stacks, "local", "climate", overrides=("resources.train.cpu=1.5",))
    sim, train = manifests[0]["spec"]["trainer"], manifests[1]["spec"]["trainer"]
    assert sim["numNodes"] == 2 and sim["resourcesPerNode"]["requests"] == {"cpu": "500m", "memory": "512Mi"}
    assert train["resourcesPerNode"]["limits"] == {"cpu": "1500m", "memory": "2048Mi"}
    assert manifests[0]["spec"]["runtimeRef"]["name"] == "ai4s-mpi"
    assert manifests[1]["spec"]["runtimeRef"]["name"] == "ai4s-torch-distributed"
    env = {e["name"]: e for e in train["env"]}
    outputs = stacks["local"].outputs
    assert env["AWS_ENDPOINT_URL"]["value"] == outputs["s3Endpoint"]
    assert env["AI4S_STORAGE"]["value"].startswith("s3://artifacts/climate/")
    assert env["MLFLOW_TRACKING_URI"]["value"] == outputs["trackingUris"]["climate"]
    assert env["OTEL_EXPORTER_OTLP_ENDPOINT"]["value"] == outputs["otlpEndpoint"]
    assert env["AI4S_IMAGE_DIGEST"]["value"] == DIGEST_IMAGE.split("@")[1]
    assert env["AWS_SECRET_ACCESS_KEY"]["valueFrom"]["secretKeyRef"]["name"] == outputs["s3CredentialsSecret"]


def test_a_missing_queue_label_is_refused(stacks):
    manifests = _render(stacks, "local", "drug-discovery")
    broken = copy.deepcopy(manifests)
    del broken[1]["metadata"]["labels"][QUEUE_LABEL]
    found = _all_findings(stacks, "local", broken)
    assert len(found) == 1 and found[0].startswith("[queue-label] TrainJob team-drug-discovery/"), found


def test_a_queue_of_another_team_is_refused(stacks):
    broken = _render(stacks, "local", "climate")
    broken[0]["metadata"]["labels"][QUEUE_LABEL] = "drug-discovery"
    assert [f for f in _all_findings(stacks, "local", broken) if "[queue-label]" in f]


@pytest.mark.parametrize(("workload", "physics", "index"), [("climate", "mpi", 0), ("drug-discovery", "ray", 0),
                                                            ("drug-discovery", "mpi", 3)])
def test_an_image_by_tag_is_refused(stacks, workload, physics, index):
    """A TrainJob's trainer image is outside any pod spec: the workload rule must see it; pod
    containers (RayJob, InferenceService) are caught by the stack policy too."""
    broken = _render(stacks, "local", workload, physics=physics, image="ghcr.io/ai4s-kit/ai4s:0.4.0")
    found = _all_findings(stacks, "local", broken[index:index + 1])
    assert any(f.startswith("[image-digest]") and "ai4s:0.4.0" in f for f in found), found


def test_a_request_above_quota_is_refused(stacks):
    found = _all_findings(stacks, "local", _render(stacks, "local", "climate", overrides=("resources.train.cpu=4",)))
    assert found == ["[fits-quota] TrainJob team-climate/" + found[0].split("team-climate/")[1]]
    assert "requests 4 cpu, more than ClusterQueue climate can ever admit (3:" in found[0]
    # a GPU recipe on the CPU-only stack: its queue covers no GPUs at all
    gpu = _all_findings(stacks, "local", _render(stacks, "local", "drug-discovery", "h100x1"))
    assert any("nvidia.com/gpu, which ClusterQueue drug-discovery does not cover" in f for f in gpu)


def test_the_schemas_refuse_an_unknown_field_and_policy_a_privileged_ray_pod(stacks):
    manifests = _render(stacks, "local", "drug-discovery", physics="ray")
    job = copy.deepcopy(manifests[1])
    job["spec"]["trainer"]["numProcsPerNode"] = 2  # misspelt
    assert any("numProcsPerNode" in str(f) for f in validate_object(job))
    ray = copy.deepcopy(manifests[0])
    head = ray["spec"]["rayClusterSpec"]["headGroupSpec"]["template"]["spec"]["containers"][0]
    head["securityContext"]["privileged"] = True
    assert any(v.rule == "no-privileged" for v in policy.check([*stacks["local"].objects, ray]))
    head["imagePullPolcy"] = "Always"  # misspelt: the embedded Pod schema is checked strictly
    assert any("imagePullPolcy" in str(f) for f in validate_object(ray))


def test_render_refuses_ranks_that_disagree_and_a_team_the_stack_lacks(stacks):
    target = target_from_outputs(stacks["local"].outputs, stack="local", team="climate")
    with pytest.raises(RenderError, match=r"resources.simulate.ranks=3 is invalid: expected simulation.ranks=2"):
        render_workload("climate", "ci_tiny", target, image=DIGEST_IMAGE, overrides=("resources.simulate.ranks=3",))
    with pytest.raises(TargetError, match=r"team='ocean' is invalid: .*\['climate', 'drug-discovery'\]"):
        target_from_outputs(stacks["local"].outputs, stack="local", team="ocean")


def test_stage_resources_name_the_bad_field():
    with pytest.raises(RecipeError, match=r"^memory_gib=0 is invalid: expected a number > 0$"):
        StageResources(cpu=1, memory_gib=0)
    with pytest.raises(RecipeError, match=r"^gpus=1 is invalid: expected 0 when mig_profile is set"):
        StageResources(cpu=1, memory_gib=1, gpus=1, mig_profile="1g.10gb")


def test_the_output_keys_read_are_the_stacks_output_keys():
    assert set(OUTPUT_KEYS) <= set(infra_outputs.COMPUTE_KEYS) | set(infra_outputs.SERVICES_KEYS)


def test_the_cli_writes_numbered_objects_and_a_plan_and_fails_on_an_unpinned_image(stacks, tmp_path):
    outputs = stacks["local"].out_dir / "outputs.json"
    runner = CliRunner()
    ok = runner.invoke(app, ["workload", "render", "drug-discovery", "--recipe", "ci_tiny", "--stack", str(outputs.parent),
                             "--image", DIGEST_IMAGE, "--out", str(tmp_path / "drug")])
    assert ok.exit_code == 0, ok.output
    plan = json.loads((tmp_path / "drug" / "plan.json").read_text())
    assert [p["stage"] for p in plan] == ["physics", "train", "evaluate", "serve"]
    assert plan[1]["after"] == ["physics"]
    assert yaml.safe_load((tmp_path / "drug" / "04-serve.yaml").read_text())["kind"] == "InferenceService"
    bad = runner.invoke(app, ["workload", "render", "climate", "--recipe", "ci_tiny", "--stack", "local",
                              "--image", "ghcr.io/ai4s-kit/ai4s:0.4.0", "--out", str(tmp_path / "climate")])
    assert bad.exit_code == 1 and "[image-digest]" in bad.output, bad.output


@pytest.mark.parametrize("stack", ["local", "gpu", "gpu-shared"])
def test_quota_capacity_agrees_with_the_stacks_own_quota_arithmetic(stacks, stack):
    """platform/quota.py repeats infra/verify/quotas.py's borrowing rule (workloads may not
    import the platform layer): summed over flavors, the two agree on every ClusterQueue."""
    objects = stacks[stack].objects
    queues = [o for o in objects if o["kind"] == "ClusterQueue"]
    for cq in queues:
        cohort = [q for q in queues if q["spec"].get("cohortName") == cq["spec"].get("cohortName")]
        ours = {r: sum(v for _, v in offers) for r, offers in flavor_capacity(cq, cohort).items()}
        assert ours == infra_quotas.admissible(cq, cohort if cq["spec"].get("cohortName") else [cq]), cq["metadata"]
