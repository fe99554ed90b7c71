"""Quotas as a property: on both stacks an admitted job always fits; over-committed
configs (each a real defect of earlier renders) are caught."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from infra.verify import quotas
from infra.verify.render import STACKS_DIR, render_stack


@pytest.fixture(scope="module")
def renders(tmp_path_factory) -> dict:
    return {s: render_stack(s, tmp_path_factory.mktemp(f"q-{s}")) for s in ("local", "gpu", "gpu-shared")}


def _findings(objects, releases=()) -> list[str]:
    return [str(f) for f in quotas.check(objects, releases)]


def _edit(objects, kind: str, name: str, namespace: str | None, change) -> list[dict]:
    objects = copy.deepcopy(objects)
    (obj,) = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name
              and o["metadata"].get("namespace") == namespace]
    change(obj)
    return objects


@pytest.mark.parametrize("stack", ["local", "gpu", "gpu-shared"])
def test_an_admitted_job_always_fits_on_both_stacks(renders, stack):
    r = renders[stack]
    assert _findings(r.objects, r.releases) == []


def test_admissible_counts_borrowing_up_to_what_the_cohort_owns(renders):
    objects = renders["local"].objects
    cqs = [o for o in objects if o["kind"] == "ClusterQueue"]
    climate = next(c for c in cqs if c["metadata"]["name"] == "climate")
    # nominal 2 CPU + borrowingLimit 1 (the other team owns 2)
    assert quotas.admissible(climate, cqs)["cpu"] == 3


def test_a_quota_on_limits_is_caught(renders):
    objects = _edit(renders["local"].objects, "ResourceQuota", "team-quota", "team-climate",
                    lambda o: o["spec"]["hard"].update({"limits.cpu": "3"}))
    assert any("hard.limits.cpu caps limits" in f for f in _findings(objects))


def test_a_quota_below_what_kueue_admits_is_caught(renders):
    objects = _edit(renders["local"].objects, "ResourceQuota", "team-quota", "team-climate",
                    lambda o: o["spec"]["hard"].update({"requests.cpu": "2"}))
    assert any("hard.requests.cpu is 2, but its ClusterQueues ['climate'] may admit 3" in f
               for f in _findings(objects))


def test_an_offload_queue_beyond_the_namespace_quota_is_caught(renders):
    r = renders["gpu"]
    objects = _edit(r.objects, "ResourceQuota", "team-quota", "team-climate",
                    lambda o: o["spec"]["hard"].update({"requests.cpu": "96"}))
    found = _findings(objects, r.releases)
    assert any("['climate', 'offloading'] may admit 352" in f for f in found), found


def test_mig_and_whole_gpu_flavors_on_the_same_nodes_are_caught(renders):
    r = renders["gpu"]
    objects = _edit(r.objects, "ResourceFlavor", "gpu-a100-80gb-mig", None,
                    lambda o: o["spec"]["nodeLabels"].pop("ai4s.dev/gpu-partitioning"))
    assert any("[flavors-disjoint]" in f for f in _findings(objects, r.releases))


def test_limit_range_defaults_above_limits_are_caught(renders):
    def change(o):
        o["spec"]["limits"][0]["defaultRequest"]["cpu"] = "2"
    objects = _edit(renders["local"].objects, "LimitRange", "container-defaults", "team-climate", change)
    assert any("[limitrange-consistent]" in f for f in _findings(objects))


def test_runtime_defaults_too_big_for_the_team_quota_are_caught(tmp_path: Path):
    config = yaml.safe_load((STACKS_DIR / "local" / "Pulumi.local.yaml").read_text())
    compute = config["config"]["ai4s:compute"]
    compute["defaults"].update(cpuRequest="1500m", cpuLimit="2")  # two pods: 3 CPU > 2
    path = tmp_path / "Pulumi.local.yaml"
    path.write_text(yaml.safe_dump(config))
    r = render_stack("local", tmp_path / "out", config_file=path)
    found = _findings(r.objects, r.releases)
    assert any("[runtime-fits] a default job requests 3 cpu" in f and "ai4s-mpi" in f
               for f in found), found


def test_notebook_namespace_is_exempt_because_its_pods_exist_before_admission(renders):
    r = renders["gpu"]
    assert quotas.pod_managed_namespaces(r.releases) == {"ai4s-notebooks"}
    assert quotas.pod_managed_namespaces([]) == set()
