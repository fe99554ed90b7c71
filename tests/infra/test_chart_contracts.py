"""Chart contracts for every Helm release the stacks install: each names the version the
stack pins, and values that the chart would render into a broken or refused pod fail."""

from __future__ import annotations

import copy

import pytest
import yaml
from test_dra import _dra_config

from infra.verify import contracts
from infra.verify.render import render_stack
from infra.versions import PINS

STACKS = ("local", "gpu", "gpu-shared")


@pytest.fixture(scope="module")
def renders(tmp_path_factory):
    found = {s: render_stack(s, tmp_path_factory.mktemp(s)) for s in STACKS}
    out = tmp_path_factory.mktemp("dra")
    (out / "Pulumi.gpu.yaml").write_text(yaml.safe_dump(_dra_config()))
    found["gpu-dra"] = render_stack("gpu", out / "render", config_file=out / "Pulumi.gpu.yaml")
    return found


def _release(render, name):
    (rel,) = [copy.deepcopy(x) for x in render.releases if x["name"] == name]
    return rel


def _set(values: dict, dotted: str, value) -> None:
    *parents, leaf = dotted.split(".")
    for p in parents:
        values = values.setdefault(p, {})
    values[leaf] = value


def _found(render, release) -> list[str]:
    return [str(f) for f in contracts.check_release(release, render.objects)]


@pytest.mark.parametrize("stack", [*STACKS, "gpu-dra"])
def test_every_release_has_a_contract_for_the_version_it_installs(renders, stack):
    missing = [(r["name"], r["chart"], str(r["version"])) for r in renders[stack].releases
               if (r["chart"], str(r["version"])) not in contracts.contracts()]
    assert missing == []


def test_every_contract_names_the_version_infra_versions_pins():
    pinned = {}
    for p in PINS:
        if p.kind == "helm-chart":
            pinned[p.name] = pinned[f"{p.repository}/{p.name}"] = p.version
    for chart, version in contracts.contracts():
        assert pinned.get(chart) == version, f"{chart}: contract {version}, pinned {pinned.get(chart)}"


def test_a_version_bump_without_a_new_contract_is_seen(renders):
    release = _release(renders["local"], "kuberay-operator")
    release["version"] = "1.5.2"
    assert (release["chart"], release["version"]) not in contracts.contracts()


@pytest.mark.parametrize("stack", [*STACKS, "gpu-dra"])
def test_every_stack_holds_to_every_contract(renders, stack):
    r = renders[stack]
    assert [str(f) for f in contracts.check(r.releases, r.objects)] == []


# (release, values path, broken value, what the finding says): values that a chart at the
# pinned version would render into a pod that Pod Security refuses, one that never becomes
# Ready, or an image the chart does not read from where the stack put it.
BROKEN = [
    ("kuberay-operator", "securityContext.runAsNonRoot", False,
     "values.securityContext (or values.podSecurityContext) must set runAsNonRoot: true"),
    ("kuberay-operator", "image.repository", None, "values.image.repository must be set"),
    ("cert-manager", "webhook.containerSecurityContext.allowPrivilegeEscalation", True,
     "values.webhook.containerSecurityContext.allowPrivilegeEscalation must be false"),
    ("cert-manager", "cainjector.securityContext.seccompProfile", None,
     "values.cainjector.containerSecurityContext (or values.cainjector.securityContext) must set a seccompProfile"),
    ("cnpg", "containerSecurityContext.capabilities.drop", [],
     "values.containerSecurityContext.capabilities.drop must include ALL"),
    ("kubeflow-trainer", "manager.config.health.healthProbeBindAddress", ":8082",
     "livenessProbe on port 8081: values.manager.config.health.healthProbeBindAddress ':8082' listens elsewhere"),
    ("kubeflow-trainer", "manager.config.webhook.port", 9444, "webhook on port 9443"),
    ("kubeflow-trainer", "manager.securityContext.seccompProfile", None,
     "values.manager.securityContext (or no pod securityContext in the chart) must set a seccompProfile"),
    ("kubeflow-trainer", "jobset.controller.securityContext.allowPrivilegeEscalation", True,
     "values.jobset.controller.securityContext.allowPrivilegeEscalation must be false"),
    ("kserve", "kserve.controller.metricsBindPort", "8090", "metrics on port 8080: values.kserve.controller.metricsBindPort"),
    ("kserve", "kserve.controller.rbacProxyImage", "quay.io/brancz/kube-rbac-proxy",
     "values.kserve.controller.rbacProxyImage 'quay.io/brancz/kube-rbac-proxy' must carry a tag or digest"),
    ("kserve", "kserve.controller.rbacProxy.securityContext.runAsNonRoot", False,
     "values.kserve.controller.rbacProxy.securityContext (or values.kserve.controller.securityContext) must set runAsNonRoot"),
    ("volcano", "custom.default_csc.capabilities.add", ["SYS_ADMIN"],
     "capabilities.add ['SYS_ADMIN'] is not allowed by baseline"),
    ("volcano", "custom.scheduler_main_csc", {"privileged": True},
     "values.custom.scheduler_main_csc.privileged must not be true"),
    ("volcano", "basic.image_tag_version", "", "values.basic.admission_image_tag_version or"),
    ("services-obs", "prometheusOperator.containerSecurityContext.capabilities", None,
     "values.prometheusOperator.containerSecurityContext.capabilities.drop must include ALL"),
    ("services-obs", "prometheusOperator.admissionWebhooks.patch.securityContext.runAsNonRoot", False,
     "values.prometheusOperator.admissionWebhooks.createSecretJob.securityContext (or"),
    ("services-obs", "prometheus.prometheusSpec.image.tag", "", "values.prometheus.prometheusSpec.image.tag or"),
    ("jupyterhub", "proxy.chp.containerSecurityContext.seccompProfile", None,
     "values.proxy.chp.containerSecurityContext (or no pod securityContext in the chart) must set a seccompProfile"),
    ("jupyterhub", "hub.containerSecurityContext.capabilities", {"drop": ["NET_RAW"]},
     "values.hub.containerSecurityContext.capabilities.drop must include ALL"),
    ("kueue", "controllerManager.manager.podSecurityContext.runAsNonRoot", False,
     "values.controllerManager.manager.containerSecurityContext (or values.controllerManager.manager.podSecurityContext) "
     "must set runAsNonRoot: true"),
    ("volcano", "image.tag", "v1.15.2", "values.image.tag is not a key the chart reads an image from"),
    ("kuberay-operator", "operator.image.tag", "v1.5.2",
     "values.operator.image.tag is not a key the chart reads an image from"),
    ("cert-manager", "controller.image.repository", "quay.io/jetstack/cert-manager-controller",
     "values.controller.image.repository is not a key the chart reads an image from"),
    ("jupyterhub", "singleuser.image.digest", "sha256:00",
     "values.singleuser.image.digest is not a key the chart reads an image from"),
    ("gpu-operator", "operator.repository", "", "values.operator.repository must be set"),
    ("gpu-operator", "driver.version", "", "values.driver.version or"),
]


@pytest.mark.parametrize("name, path, value, expected", BROKEN, ids=[f"{b[0]}:{b[1]}" for b in BROKEN])
def test_values_the_chart_would_break_on_are_caught(renders, name, path, value, expected):
    render = renders["gpu"]
    release = _release(render, name)
    assert _found(render, release) == []
    _set(release["values"], path, value)
    found = _found(render, release)
    assert any(expected in f for f in found), found


def test_an_optional_pod_the_stack_switches_off_is_not_held_to_the_contract(renders):
    render = renders["gpu"]
    release = _release(render, "jupyterhub")
    _set(release["values"], "scheduling.userScheduler.containerSecurityContext", {"runAsNonRoot": False})
    assert _found(render, release) == []  # the stack turns the user scheduler off
    _set(release["values"], "scheduling.userScheduler.enabled", True)
    assert any("values.scheduling.userScheduler.containerSecurityContext" in f for f in _found(render, release))


def test_a_privileged_namespace_lets_the_dra_plugin_run_privileged_but_still_needs_its_image(renders):
    render = renders["gpu-dra"]
    release = _release(render, "nvidia-dra-driver-gpu")
    assert contracts.enforced_level(render.objects, release["namespace"]) == "privileged"
    assert _found(render, release) == []
    _set(release["values"], "image.repository", None)
    assert any("values.image.repository must be set" in f for f in _found(render, release))


def test_the_strictest_of_enforce_and_warn_is_the_level_held():
    ns = {"kind": "Namespace", "metadata": {"name": "x", "labels": {
        "pod-security.kubernetes.io/enforce": "baseline", "pod-security.kubernetes.io/warn": "restricted"}}}
    assert contracts.enforced_level([ns], "x") == "restricted"
    ns["metadata"]["labels"].pop("pod-security.kubernetes.io/warn")
    assert contracts.enforced_level([ns], "x") == "baseline"
    assert contracts.enforced_level([], "x") == "restricted"


def test_stack_values_merge_over_chart_defaults_as_helm_does():
    defaults = {"a": {"b": 1, "c": {"d": 2}}, "e": 3}
    assert contracts.merged_values(defaults, {"a": {"c": {"d": 4}}, "e": None}) == {"a": {"b": 1, "c": {"d": 4}}}
    assert defaults == {"a": {"b": 1, "c": {"d": 2}}, "e": 3}


def test_a_template_fallback_takes_the_first_set_value():
    values = {"custom": {"default_sc": {"x": 1}, "admission_sc": None}}
    assert contracts.first_set(values, ["custom.admission_sc", "custom.default_sc"]) == ({"x": 1}, "custom.default_sc")
    values["custom"]["admission_sc"] = {"y": 2}
    assert contracts.first_set(values, ["custom.admission_sc", "custom.default_sc"])[0] == {"y": 2}


def test_a_values_address_probe_without_its_address_is_a_bad_contract(tmp_path):
    with pytest.raises(ValueError, match="address is required"):
        contracts._contract({"chart": "x", "version": "1",
                             "probes": [{"name": "p", "defaultPort": 1, "servedBy": "values-address"}]},
                            tmp_path / "x.yaml")


def test_the_stacks_readme_has_a_row_per_contract():
    from infra.verify.render import STACKS_DIR

    rows = [line for line in (STACKS_DIR / "README.md").read_text().splitlines() if line.startswith("| `")]
    for chart, version in contracts.contracts():
        name = chart.rsplit("/", 1)[-1]
        assert any(line.startswith(f"| `{name}` {version}") for line in rows), f"stacks/README.md: no row for {name} {version}"


def test_pull_settings_are_not_taken_for_image_keys():
    assert not contracts._sets_an_image("basic.image_pull_policy", "IfNotPresent")
    assert not contracts._sets_an_image("image.pullPolicy", "IfNotPresent")
    assert contracts._sets_an_image("basic.image_tag_version", "v1.15.1")
    assert contracts._sets_an_image("kserve.controller.rbacProxyImage", "quay.io/brancz/kube-rbac-proxy:v0.18.0")
