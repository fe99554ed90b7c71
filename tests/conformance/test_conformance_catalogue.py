"""The catalogue: the real one is valid and fully covered by checks; broken ones are refused."""

from __future__ import annotations

import copy

import pytest
import yaml

from conformance.catalogue import CATALOGUE_PATH, CatalogueError, Target, load, parse
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


def test_real_catalogue_maps_the_cncf_must_requirements_it_retests():
    cncf = {r.cncf_id for r in load().requirements if r.cncf_id}
    assert {"gang_scheduling", "robust_controller", "accelerator_metrics", "ai_service_metrics",
            "secure_accelerator_access", "gpu_sharing"} <= cncf


def test_statistical_and_bitwise_claims_are_declared():
    catalogue = load()
    assert catalogue.get("AI4S-REPRO-001").reproducibility == "bitwise"
    quality = catalogue.get("AI4S-QUAL-001")
    assert quality.reproducibility == "statistical"
    assert quality.target == Target(metric="leads_not_beating_persistence", op="==", value=0)


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
