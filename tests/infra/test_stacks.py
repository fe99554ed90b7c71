"""Both stacks render offline; everything validates and passes policy; ordering holds."""

from __future__ import annotations

import ast
import json
import runpy
from pathlib import Path

import pytest
import yaml
from compute_helpers import depends_transitively
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from infra import outputs
from infra.verify import crds, policy
from infra.verify.render import (
    FAKE_RANDOM_PREFIX,
    REDACTED,
    STACKS_DIR,
    install_mocks,
    load_stack_config,
    render_stack,
)
from infra.verify.validate import check_release_namespaces, validate_dir

STACKS = ["local", "gpu", "gpu-shared"]


@pytest.fixture(scope="module")
def renders(tmp_path_factory) -> dict:
    """Each stack rendered once for the whole module (rendering is the slow part)."""
    return {s: render_stack(s, tmp_path_factory.mktemp(f"render-{s}")) for s in STACKS}


@pytest.fixture(params=STACKS)
def rendered(request, renders):
    return renders[request.param]


def test_stack_folders_are_complete():
    for stack in STACKS:
        folder = STACKS_DIR / stack
        assert yaml.safe_load((folder / "Pulumi.yaml").read_text())["runtime"]["name"] == "python"
        assert (folder / f"Pulumi.{stack}.yaml").is_file()
        assert len((folder / "__main__.py").read_text().splitlines()) < 60
    assert (STACKS_DIR / "README.md").is_file()


def _code_lines(path: Path) -> list[str]:
    """Statements of a module: its docstring and blank lines left out."""
    tree = ast.parse(path.read_text())
    body = tree.body[1:] if ast.get_docstring(tree) else tree.body
    return [ast.unparse(node) for node in body]


def test_stacks_share_one_program_and_differ_only_in_config():
    programs = {s: _code_lines(STACKS_DIR / s / "__main__.py") for s in STACKS}
    assert programs["local"] == programs["gpu"]
    assert len(programs["local"]) <= 3



def test_render_writes_every_object_and_release(rendered):
    out = rendered.out_dir
    assert len(list((out / "objects").glob("*.yaml"))) == len(rendered.objects) > 20
    releases = [yaml.safe_load(p.read_text()) for p in (out / "releases").glob("*.yaml")]
    assert len(releases) == len(rendered.releases) >= 3
    for rel in releases:
        assert rel["chart"] and rel["version"] and isinstance(rel["values"], dict)
        assert rel["repository"] or rel["chart"].startswith("oci://")
    graph = json.loads((out / "graph.json").read_text())
    assert len(graph) == len(rendered.registrations)


def test_everything_validates(rendered):
    assert [str(f) for f in validate_dir(rendered.out_dir)] == []
    assert check_release_namespaces(rendered.objects, rendered.releases) == []


def test_every_custom_resource_kind_is_registered(rendered):
    builtin_groups = {
        "v1",
        "rbac.authorization.k8s.io/v1",
        "networking.k8s.io/v1",
        "apps/v1",
        "batch/v1",
    }
    for obj in rendered.objects:
        if obj["apiVersion"] not in builtin_groups:
            crds.lookup(obj["apiVersion"], obj["kind"])


def test_all_policies_pass(rendered):
    assert [str(v) for v in policy.check(rendered.objects, rendered.releases)] == []


def test_custom_resources_come_after_a_helm_release(rendered):
    regs = rendered.registrations
    releases = [r.urn for r in regs if r.type == "kubernetes:helm.sh/v3:Release"]
    custom = [
        r
        for r in regs
        if r.custom and (r.inputs.get("apiVersion"), r.inputs.get("kind")) in crds.registry()
    ]
    assert custom
    for r in custom:
        assert any(depends_transitively(regs, r.name, rel) for rel in releases), r.name


def test_kueue_queues_wait_for_the_kueue_release_specifically(rendered):
    regs = rendered.registrations
    kueue = next(
        r.urn
        for r in regs
        if r.type == "kubernetes:helm.sh/v3:Release" and r.inputs["name"] == "kueue"
    )
    queues = [r for r in regs if r.inputs.get("kind") in ("ClusterQueue", "LocalQueue")]
    assert queues and all(depends_transitively(regs, q.name, kueue) for q in queues)


def test_outputs_export_every_compute_key(rendered):
    assert set(outputs.COMPUTE_KEYS) <= set(rendered.outputs)
    assert rendered.outputs[outputs.TEAM_NAMESPACES] == ["team-climate", "team-drug-discovery"]


def test_outputs_json_is_exactly_the_stacks_exports(rendered):
    written = json.loads((rendered.out_dir / "outputs.json").read_text())
    assert written == rendered.outputs
    assert set(written) == set(outputs.COMPUTE_KEYS) | set(outputs.SERVICES_KEYS)
    assert written[outputs.S3_BUCKETS] == ["datasets", "artifacts", "checkpoints", "results"]
    assert written[outputs.TRACKING_URI].startswith("http://")
    assert written[outputs.OTLP_ENDPOINT].startswith("http://")
    assert written[outputs.DASHBOARDS] and all(
        url.startswith(written[outputs.GRAFANA_URL]) for url in written[outputs.DASHBOARDS].values()
    )


def test_generated_passwords_render_redacted_and_never_in_clear(rendered):
    """Every random resource has a (fake) result under the render mocks: each Secret key
    it feeds is written as the placeholder, and the value itself is in no file."""
    randoms = [r for r in rendered.registrations if r.type.startswith("random:")]
    assert len(randoms) >= 4
    secrets = [o for o in rendered.objects if o["kind"] == "Secret"]
    assert secrets
    for secret in secrets:
        data = secret.get("stringData") or secret.get("data")
        assert data and all(v is not None for v in data.values()), secret["metadata"]
    root = next(s for s in secrets if s["metadata"]["name"].endswith("storage-root"))
    assert root["stringData"]["rootPassword"] == REDACTED
    for path in rendered.files:
        assert FAKE_RANDOM_PREFIX not in path.read_text(), path


def test_team_namespaces_are_destroyed_before_every_operator_and_its_objects(rendered):
    """Destroy runs creation backwards: namespaces (and users' jobs in them) go while
    controllers still run, and before queues/runtimes that the jobs keep in use."""
    regs = rendered.registrations
    team_ns = [
        r
        for r in regs
        if r.inputs.get("kind") == "Namespace"
        and (r.inputs["metadata"].get("labels") or {}).get(policy.TENANT_LABEL) == "true"
    ]
    releases = [
        r
        for r in regs
        if r.type == "kubernetes:helm.sh/v3:Release"
        and r.parent.split("::")[-1].startswith("compute-")
    ]
    in_use = [
        r
        for r in regs
        if r.inputs.get("kind")
        in ("ClusterQueue", "Queue", "ClusterTrainingRuntime", "ResourceFlavor")
    ]
    assert team_ns and len(releases) >= 3 and in_use
    for ns in team_ns:
        for r in releases + in_use:
            assert depends_transitively(regs, ns.name, r.urn), f"{ns.name} is not after {r.name}"
    by_ns = {n.inputs["metadata"]["name"]: n for n in team_ns}
    team_lqs = [
        r
        for r in regs
        if r.inputs.get("kind") == "LocalQueue" and r.inputs["metadata"]["namespace"] in by_ns
    ]
    assert len(team_lqs) >= 2
    for lq in team_lqs:
        assert depends_transitively(regs, lq.name, by_ns[lq.inputs["metadata"]["namespace"]].urn)


def test_gpu_stack_differs_where_config_says(renders):
    gpu = renders["gpu"]
    assert gpu.outputs[outputs.GANG_SCHEDULER] == "volcano"
    assert gpu.outputs[outputs.OFFLOAD_QUEUE] == "offloading"
    assert "gpu-operator" in {r["name"] for r in gpu.releases}
    assert "interlink" in gpu.outputs[outputs.RESOURCE_FLAVORS]


def _break_compute(config: dict) -> None:
    config["ai4s:compute"]["teams"][0]["quota"]["cpu"] = "-2"


def _break_services(config: dict) -> None:
    # the services block is read after the compute block, but validated before it is built
    config["ai4s:services"].setdefault("storage", {})["volumeSize"] = "-5Gi"


@pytest.mark.parametrize(
    ("breaks", "key"),
    [(_break_compute, r"compute\.teams\[0\]\.quota\.cpu"),
     (_break_services, r"services\.storage\.volumeSize")],
)
def test_bad_config_fails_naming_the_key_before_any_resource(tmp_path: Path, breaks, key):
    raw = yaml.safe_load((STACKS_DIR / "local" / "Pulumi.local.yaml").read_text())
    breaks(raw["config"])
    bad = tmp_path / "Pulumi.bad.yaml"
    bad.write_text(yaml.safe_dump(raw))
    monitor = install_mocks(config=load_stack_config(bad), project="ai4s-local", stack="bad")
    with pytest.raises(ValueError, match=key):
        _sync_await(
            run_pulumi_func(lambda: runpy.run_path(str(STACKS_DIR / "local" / "__main__.py")))
        )
    assert monitor.registrations == []


def test_render_is_reproducible_and_replaces_a_previous_render(renders, tmp_path: Path):
    stale = tmp_path / "objects" / "configmap.x.stale.yaml"
    stale.parent.mkdir(parents=True)
    stale.write_text("kind: ConfigMap\n")
    render_stack("local", tmp_path)
    assert not stale.exists()

    def tree(root: Path) -> dict[str, bytes]:
        return {
            str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
        }

    assert tree(tmp_path) == tree(renders["local"].out_dir)


def test_unknown_stack_and_missing_config_are_named(tmp_path: Path):
    with pytest.raises(ValueError, match="unknown stack 'mars'"):
        render_stack("mars", tmp_path)
    with pytest.raises(ValueError, match="does not exist"):
        render_stack("local", tmp_path, tmp_path / "nope.yaml")


def test_gpu_shared_stack_time_slices_its_gpus(renders):
    r = renders["gpu-shared"]
    (operator,) = [x for x in r.releases if x["name"] == "gpu-operator"]
    assert operator["values"]["devicePlugin"]["config"] == {"name": "ai4s-time-slicing", "default": "any"}
    (sharing,) = [o for o in r.objects if o["kind"] == "ConfigMap" and o["metadata"]["name"] == "ai4s-time-slicing"]
    config = yaml.safe_load(sharing["data"]["any"])
    assert config["sharing"]["timeSlicing"]["resources"] == [{"name": "nvidia.com/gpu", "replicas": 4}]
    assert r.outputs[outputs.GPU_SHARING] == "time-slicing"
