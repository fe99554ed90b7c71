"""Notebooks: JupyterHub profiles that put notebook pods on the team's Kueue queue."""

from __future__ import annotations

import json

import pytest
from test_secrets_harness import NOTEBOOKS_ON, TEAMS, depends_on, render_services

from infra.components.notebooks import QUEUE_LABEL, cpu_cores, kubespawner_memory
from infra.config.services import services_config_from_mapping
from infra.verify import policy
from infra.verify.validate import validate_object

CONFIG = {"notebooks": {**NOTEBOOKS_ON, "profiles": [
    {"slug": "small", "displayName": "Small", "resources": {
        "cpuRequest": "500m", "memoryRequest": "1Gi", "cpuLimit": "2", "memoryLimit": "4Gi"}},
    {"slug": "gpu", "displayName": "One GPU", "gpus": 1, "resources": {
        "cpuRequest": "2", "memoryRequest": "16Gi", "cpuLimit": "4", "memoryLimit": "32Gi"}},
]}}


@pytest.fixture(scope="module")
def rendered():
    return render_services(CONFIG, gpu=True)


def test_every_team_gets_every_size_labelled_with_its_queue(rendered):
    values = rendered.release("jupyterhub")["values"]
    profiles = {p["slug"]: p["kubespawner_override"] for p in values["singleuser"]["profileList"]}
    assert set(profiles) == {f"{t}-{s}" for t in TEAMS for s in ("small", "gpu")}
    small = profiles["climate-small"]
    assert small["extra_labels"][QUEUE_LABEL] == "notebooks-climate"
    assert (small["cpu_guarantee"], small["cpu_limit"], small["mem_guarantee"], small["mem_limit"]) == (0.5, 2.0, "1G", "4G")
    assert "extra_resource_limits" not in small
    assert profiles["drugs-gpu"]["extra_resource_limits"] == {"nvidia.com/gpu": "1"}
    env = small["environment"]
    assert env["MLFLOW_TRACKING_URI"] == rendered.outputs["trackingUris"]["climate"]
    assert profiles["drugs-small"]["environment"]["MLFLOW_TRACKING_URI"] == rendered.outputs["trackingUris"]["drugs"]
    assert env["OTEL_EXPORTER_OTLP_ENDPOINT"] == rendered.outputs["otlpEndpoint"]
    assert env["AI4S_TEAM_NAMESPACE"] == "team-climate"


def test_notebooks_submit_jobs_to_the_team_local_queue_as_a_team_account(rendered):
    values = rendered.release("jupyterhub")["values"]
    override = {p["slug"]: p["kubespawner_override"] for p in values["singleuser"]["profileList"]}["drugs-small"]
    assert override["service_account"] == "notebook-drugs"
    assert override["environment"]["AI4S_LOCAL_QUEUE"] == "drugs"
    bindings = {b["metadata"]["namespace"]: b for b in rendered.objects_of("RoleBinding")
                if b["metadata"]["name"].startswith("notebooks-")}
    assert set(bindings) == set(TEAMS.values())
    binding = bindings["team-drugs"]
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "notebook-submitter"}
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "notebook-drugs", "namespace": "ai4s-notebooks"}]
    accounts = {a["metadata"]["name"]: a for a in rendered.objects_of("ServiceAccount")}
    assert accounts["notebook-drugs"]["automountServiceAccountToken"] is False
    assert all(validate_object(o) == [] for o in [binding, *accounts.values()])
    assert depends_on(rendered, "ai4s-notebooks-hub", "ai4s-notebooks-sa-drugs")


def test_local_queues_point_at_team_cluster_queues_and_validate(rendered):
    queues = {q["metadata"]["name"]: q for q in rendered.objects_of("LocalQueue")}
    assert set(queues) == {"notebooks-climate", "notebooks-drugs"}
    assert queues["notebooks-climate"]["spec"] == {"clusterQueue": "climate"}
    assert queues["notebooks-climate"]["metadata"]["namespace"] == "ai4s-notebooks"
    assert all(validate_object(q) == [] for q in queues.values())
    assert depends_on(rendered, "ai4s-notebooks-hub", "ai4s-notebooks-queue-climate")


def test_hub_stays_inside_the_cluster_and_needs_no_privileged_pods(rendered):
    values = rendered.release("jupyterhub")["values"]
    assert values["proxy"]["service"]["type"] == "ClusterIP"
    assert values["prePuller"] == {"hook": {"enabled": False}, "continuous": {"enabled": False}}
    assert rendered.outputs["notebooksUrl"] == "http://proxy-public.ai4s-notebooks.svc.cluster.local"
    assert policy.check(rendered.objects, rendered.releases) == []


def test_notebooks_are_optional():
    rendered = render_services({})
    assert not [r for r in rendered.releases if r["name"] == "jupyterhub"]
    assert rendered.outputs["notebooksUrl"] == ""


@pytest.mark.parametrize(("convert", "value", "expected"), [
    (cpu_cores, "250m", 0.25), (cpu_cores, "3", 3.0), (kubespawner_memory, "512Mi", "512M"),
])
def test_quantity_conversion(convert, value, expected):
    assert convert(value) == expected


@pytest.mark.parametrize(("convert", "value"), [(cpu_cores, "1Gi"), (kubespawner_memory, "1G")])
def test_unconvertible_quantities_are_rejected(convert, value):
    with pytest.raises(ValueError, match="is not accepted"):
        convert(value)


@pytest.mark.parametrize(("raw", "message"), [
    ({"notebooks": {**NOTEBOOKS_ON, "profiles": []}}, "at least one profile"),
    ({"notebooks": {"enabled": True}}, "services.notebooks.oauth: required"),
    ({"notebooks": {**NOTEBOOKS_ON, "oauth": {**NOTEBOOKS_ON["oauth"], "tokenUrl": "http://x"}}},
     "services.notebooks.oauth.tokenUrl"),
    ({"notebooks": {**NOTEBOOKS_ON, "gpuQuota": 0, "profiles": [
        {"slug": "g", "displayName": "G", "gpus": 1, "resources": {}}]}}, "services.notebooks.gpuQuota"),
    ({"notebooks": {**NOTEBOOKS_ON, "apiServerCidrs": ["kubernetes"]}}, "services.notebooks.apiServerCidrs"),
    ({"notebooks": {"profiles": [{"slug": "a", "displayName": "A", "resources": {}, "gpus": 9}]}},
     r"services.notebooks.profiles.gpus"),
    ({"notebooks": {"profiles": [{"slug": "a", "displayName": "A", "resources": {}},
                                 {"slug": "a", "displayName": "B", "resources": {}}]}}, "duplicate slugs"),
    ({"notebooks": {"profiles": [{"slug": "a", "resources": {}}]}}, "services.notebooks.profiles\\[0\\].displayName: required"),
    ({"notebooks": {"enabled": "yes"}}, "services.notebooks.enabled"),
])
def test_bad_notebook_config_names_the_key(raw, message):
    with pytest.raises(ValueError, match=message):
        services_config_from_mapping(raw)


def test_a_stack_must_let_team_queues_admit_the_notebooks_namespace():
    from infra.components.services import services_for_compute
    from infra.config.compute import CONFIG_KEY, ComputeConfig
    from infra.verify.render import STACKS_DIR, load_stack_config

    raw = load_stack_config(STACKS_DIR / "gpu" / "Pulumi.gpu.yaml")
    compute = ComputeConfig.from_mapping({**json.loads(raw[f"ai4s:{CONFIG_KEY}"]), "sharedQueueNamespaces": []})
    cfg = services_config_from_mapping({"notebooks": NOTEBOOKS_ON})
    with pytest.raises(ValueError, match="compute.sharedQueueNamespaces: must include services.notebooks.namespace"):
        services_for_compute("s", cfg, compute, compute=None)


def _profiles_for(values: dict, user: str, groups: tuple[str, ...]) -> list[str]:
    """Run the hub's profile filter (the extraConfig JupyterHub executes) for one user."""
    from types import SimpleNamespace

    from infra.components.notebooks import PROFILE_FILTER_KEY

    c = SimpleNamespace(KubeSpawner=SimpleNamespace(profile_list=values["singleuser"]["profileList"]))
    exec(values["hub"]["extraConfig"][PROFILE_FILTER_KEY], {"c": c})
    spawner = SimpleNamespace(user=SimpleNamespace(
        name=user, groups=[SimpleNamespace(name=g) for g in groups]))
    return sorted(p["slug"] for p in c.KubeSpawner.profile_list(spawner))


def test_users_see_only_their_teams_profiles(rendered):
    values = rendered.release("jupyterhub")["values"]
    # the harness makes each team's members `group:<team>`
    assert _profiles_for(values, "ana", ("climate",)) == ["climate-gpu", "climate-small"]
    assert _profiles_for(values, "bo", ("drugs",)) == ["drugs-gpu", "drugs-small"]
    assert _profiles_for(values, "eve", ("visitors",)) == []
    assert _profiles_for(values, "both", ("climate", "drugs")) == [
        "climate-gpu", "climate-small", "drugs-gpu", "drugs-small"]
    auth = values["hub"]["config"]["GenericOAuthenticator"]
    assert values["hub"]["config"]["JupyterHub"]["authenticator_class"] == "generic-oauth"
    assert auth["manage_groups"] is True and auth["allowed_groups"] == ["climate", "drugs"]
    assert values["hub"]["extraEnv"]["OAUTH_CLIENT_SECRET"]["valueFrom"]["secretKeyRef"]["name"] == "jupyterhub-oauth"


def test_notebook_accounts_cannot_read_secrets(rendered):
    roles = [r for r in rendered.objects_of("Role") if r["metadata"]["name"] == "notebook-submitter"]
    assert {r["metadata"]["namespace"] for r in roles} == set(TEAMS.values())
    for role in roles:
        for rule in role["rules"]:
            assert "secrets" not in rule["resources"], rule
    # and they still submit jobs
    assert any("trainjobs" in rule["resources"] and "create" in rule["verbs"] for rule in roles[0]["rules"])


def test_gpu_notebooks_are_capped_by_a_quota(rendered):
    (quota,) = [q for q in rendered.objects_of("ResourceQuota")
                if q["metadata"]["namespace"] == "ai4s-notebooks"]
    assert quota["spec"]["hard"] == {"requests.nvidia.com/gpu": "2"}
    assert validate_object(quota) == []


def test_notebooks_may_reach_mlflow_the_collector_and_the_api_server(rendered):
    policy_values = rendered.release("jupyterhub")["values"]["singleuser"]["networkPolicy"]
    reach = {}
    for rule in policy_values["egress"]:
        for peer in rule["to"]:
            key = peer.get("ipBlock", {}).get("cidr") or peer["namespaceSelector"]["matchLabels"][
                "kubernetes.io/metadata.name"]
            reach.setdefault(key, set()).update(p["port"] for p in rule["ports"])
    assert reach["ai4s-services"] >= {5000, 4317, 4318}
    assert reach["10.0.0.10/32"] == {443, 6443}
    assert policy_values["egressAllowRules"]["privateIPs"] is False  # nothing else private
