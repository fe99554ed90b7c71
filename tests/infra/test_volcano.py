"""Volcano component: pinned release and one capped Queue per team after the CRDs."""

from __future__ import annotations

import pulumi
import pytest
from compute_helpers import TEAMS, by_name, of_kind

from infra.components.volcano import Volcano, VolcanoArgs
from infra.verify.render import kubernetes_objects, run_under_mocks
from infra.verify.validate import validate_objects

CAPS = [{"cpu": "4", "memory": "8Gi"}, {"cpu": "2", "memory": "4Gi"}]


def _render():
    return run_under_mocks(
        lambda: Volcano("volcano", VolcanoArgs(teams=TEAMS, capabilities=CAPS))
    ).registrations


@pulumi.runtime.test
def test_queue_capability_matches_team(monitor):
    v = Volcano("volcano", VolcanoArgs(teams=TEAMS, capabilities=CAPS))

    def check(spec):
        assert spec == {
            "weight": 1,
            "reclaimable": True,
            "capability": {"cpu": "2", "memory": "4Gi"},
        }

    return v.queues["drugs"].spec.apply(check)


def test_queues_wait_for_release_and_release_for_namespace():
    regs = _render()
    names = by_name(regs)
    assert names["volcano-ns"].urn in names["volcano-release"].dependencies
    queues = of_kind(regs, "Queue")
    assert len(queues) == 2 and all(names["volcano-release"].urn in q.dependencies for q in queues)


def test_release_pins_chart_and_image_tag():
    rel = by_name(_render())["volcano-release"].inputs
    assert (rel["chart"], rel["version"]) == ("volcano", "1.15.1")
    assert rel["repositoryOpts"] == {"repo": "https://volcano-sh.github.io/helm-charts"}
    assert rel["values"]["basic"]["image_tag_version"] == "v1.15.1"


def test_queues_validate():
    objects = [o for o in kubernetes_objects(_render()) if o["kind"] == "Queue"]
    assert validate_objects(objects) == []


def test_capabilities_must_match_teams():
    with pytest.raises(ValueError, match="VolcanoArgs.capabilities"):
        run_under_mocks(lambda: Volcano("v", VolcanoArgs(teams=TEAMS, capabilities=CAPS[:1])))
