"""The catalogue: the real one is valid and fully covered by checks; broken ones are refused."""

from __future__ import annotations

import copy

import pytest
import yaml

from conformance.catalogue import (
    CATALOGUE_PATH,
    CatalogueError,
    Target,
    cncf_checklist,
    load,
    parse,
)
from conformance.registry import registry

from .helpers import catalogue_doc, requirement


def test_real_catalogue_is_valid_and_every_requirement_has_a_check():
    catalogue = load()
    ids = [r.id for r in catalogue.requirements]
    assert len(ids) == len(set(ids)) >= 15
    assert set(registry()) == set(ids)  # no requirement without a check, no orphan check
    assert {r.layer for r in catalogue.requirements} == {"platform", "kit", "workload"}
    musts = [r for r in catalogue.requirements if r.level == "MUST"]
    assert all(" MUST" in r.description for r in musts)


def test_every_id_of_the_current_cncf_checklist_has_a_requirement_at_its_level():
    checklist = cncf_checklist()
    assert checklist.version == "v1.37" and len(checklist.requirements) == 15
    assert sum(i.level == "MUST" for i in checklist.requirements) == 8
    catalogue = load()
    for item in checklist.requirements:
        mapped = [r for r in catalogue.requirements if r.cncf_id == item.id and not r.retired]
        assert mapped, f"{item.id} has no requirement"
        # an upstream MUST needs a MUST of ours; every mapped requirement names its layer
        assert item.level == "SHOULD" or any(r.level == "MUST" for r in mapped), item.id
        assert all(r.layer in ("platform", "kit", "workload") for r in mapped)
    assert {"ai_inference", "cluster_autoscaling", "pod_autoscaling"} <= {
        i.id for i in checklist.requirements if i.level == "MUST"}


def test_profiles_are_data_and_nest():
    catalogue = load()
    offline, cluster, gpu = (catalogue.profile(n).requirements for n in ("offline", "cluster", "gpu-cluster"))
    assert set(offline) < set(cluster) < set(gpu)
    assert set(gpu) == {r.id for r in catalogue.requirements if not r.retired}
    assert "AI4S-SCHED-002" not in offline  # nothing live offline
    with pytest.raises(ValueError, match="profile 'laptop' is unknown"):
        catalogue.profile("laptop")


def test_performance_targets_are_the_contracted_ones():
    expected = {"AI4S-PERF-001": ("kernel_roofline_fraction", ">=", 0.5),
                "AI4S-PERF-002": ("ddp_instrumentation_overhead", "<=", 0.03),
                "AI4S-PERF-003": ("serving_overhead_p50_ms", "<=", 2.0),
                "AI4S-PERF-004": ("surrogate_over_physics_throughput", ">=", 100),
                "AI4S-PERF-005": ("emulator_speedup_at_equal_accuracy", ">=", 1.0),
                "AI4S-PERF-006": ("mpi_strong_scaling_efficiency_2", ">=", 0.6)}
    catalogue = load()
    for rid, (metric, op, value) in expected.items():
        assert catalogue.get(rid).target == Target(metric=metric, op=op, value=value)


def test_the_fields_the_whitepaper_reads_exist():
    for r in load().requirements:
        assert all(hasattr(r, f) for f in ("id", "level", "title", "description", "layer", "target"))


def test_statistical_and_bitwise_claims_are_declared():
    catalogue = load()
    assert catalogue.get("AI4S-REPRO-001").reproducibility == "bitwise"
    quality = catalogue.get("AI4S-QUAL-001")
    assert quality.reproducibility == "statistical"
    assert quality.target == Target(metric="paired_interval_clears_margin", op="==", value=1)
    assert catalogue.get("AI4S-REPRO-004").reproducibility == "statistical"


@pytest.mark.parametrize("mutate, message", [
    (lambda d: d["requirements"].append(copy.deepcopy(d["requirements"][0])), "duplicate requirement id 'AI4S-PLAT-001'"),
    (lambda d: d["requirements"][0].update(level="MAY"), "AI4S-PLAT-001: level"),
    (lambda d: d["requirements"][0].pop("description"), "'description' is a required property"),
    (lambda d: d["requirements"][0].update(cncf_id="gang"), "AI4S-PLAT-001: cncf_id"),
    (lambda d: d["requirements"][0].update(since="0.2.0"), "since 0.2.0 is later than kit_release 0.1.0"),
    (lambda d: d["requirements"][0].update(id="PLAT-1"), "does not match"),
    (lambda d: d["requirements"][0].update(description="The kit does the thing."), "AI4S-PLAT-001: description"),
    (lambda d: d["requirements"][0].update(target={"metric": "x", "op": "~", "value": 1}), "AI4S-PLAT-001: target/op"),
    (lambda d: d.update(extra=1), "Additional properties"),
    (lambda d: d["profiles"]["all"]["requirements"].append("AI4S-PLAT-009"),
     "profile 'all' lists unknown requirement 'AI4S-PLAT-009'"),
    (lambda d: d["profiles"]["all"].update(extends="nope"), "profile 'all' extends unknown profile 'nope'"),
    (lambda d: d["profiles"].update(a={"description": "loops back", "requirements": ["AI4S-PLAT-001"],
                                       "extends": "b"},
                                    b={"description": "loops back", "requirements": ["AI4S-PLAT-001"],
                                       "extends": "a"}), "extends itself"),
    (lambda d: d.pop("profiles"), "'profiles' is a required property"),
])
def test_broken_catalogues_are_refused_with_the_field_named(mutate, message):
    doc = catalogue_doc(requirement("AI4S-PLAT-001"), requirement("AI4S-PLAT-002"))
    parse(copy.deepcopy(doc))  # the unmutated document is fine
    mutate(doc)
    with pytest.raises(CatalogueError, match=message.replace("(", r"\(")):
        parse(doc)


def test_a_catalogue_file_that_is_not_yaml_is_refused(tmp_path):
    path = tmp_path / "catalogue.yaml"
    path.write_text("requirements: [unclosed\n")
    with pytest.raises(CatalogueError, match="not valid YAML"):
        load(path)


def test_the_file_round_trips_through_yaml():
    raw = yaml.safe_load(CATALOGUE_PATH.read_text())
    assert parse(raw) == load()


def test_select_by_id_category_layer_and_unknown_names():
    catalogue = load()
    assert [r.id for r in catalogue.select(ids=["AI4S-REPRO-002"])] == ["AI4S-REPRO-002"]
    assert {r.category for r in catalogue.select(categories=["quality"])} == {"quality"}
    assert {r.layer for r in catalogue.select(layers=["workload"])} == {"workload"}
    for bad in ({"ids": ["AI4S-NOPE-001"]}, {"categories": ["nope"]}, {"layers": ["nope"]}):
        with pytest.raises(ValueError, match="unknown"):
            catalogue.select(**bad)


def test_target_comparisons():
    assert Target(metric="m", op=">=", value=0).met_by(0.0)
    assert not Target(metric="m", op=">=", value=0).met_by(-0.01)
    assert Target(metric="m", op="==", value=0).met_by(0)
    assert not Target(metric="m", op="==", value=0).met_by(2)
