"""The crate names the receptor a physics stage declares: a Dataset with its origin and
hashes, linked as an input of that stage's action (the real run is checked in
tests/workloads/provenance/test_drug_publication.py)."""

from __future__ import annotations

from reference_workloads.drug_discovery.pipeline import receptor_dataset
from reference_workloads.provenance.crate import _actions, stage_datasets

ORIGIN = {
    "package": "prolif", "version": "2.0.3",
    "receptor": {"path": "data/vina/rec.pdb", "sha256": "a" * 64},
    "reference_ligand": {"path": "data/vina/lig.pdb", "sha256": "b" * 64, "smiles": "CC", "name": "ergotamine"},
    "preparation": {"tool": "meeko", "version": "0.6.1", "edits": ["HSD->HID, HSE->HIE", "acetyl cap atoms -> ACE"]},
    "pocket": {"center": [1.0, 2.0, 3.0], "size": [20.0, 21.0, 22.0]}, "pdbqt_sha256": "c" * 64,
}


def _stage(name, summary):
    return {"name": name, "inputs_hash": "k", "seconds": 1.0, "start": "s", "end": "e", "object": ["#input-recipe"],
            "result": [], "summary": summary}


def test_the_receptor_is_a_dataset_entity_with_its_hashes_linked_from_the_physics_action():
    physics = _stage("physics", {"table": "physics/physics.parquet",
                                 "datasets": {"receptor": receptor_dataset(ORIGIN)}})
    entity, *values = stage_datasets(physics)
    assert entity["@id"] == "#dataset-receptor" and entity["@type"] == "Dataset"
    assert entity["sha256"] == "a" * 64 and entity["url"] == "https://pypi.org/project/prolif/2.0.3/"
    # flat entities referenced by @id (RO-Crate 1.1 forbids nested ones)
    assert entity["additionalProperty"] == [{"@id": v["@id"]} for v in values]
    properties = {p["name"]: p["value"] for p in values}
    assert properties["pdbqt_sha256"] == "c" * 64 and properties["source_path"] == "data/vina/rec.pdb"
    assert "HSD->HID" in properties["preparation_steps"] and "[20.0, 21.0, 22.0]" == properties["pocket_size"]
    run = {"command": "ai4s run", "description": "d", "start": "s", "end": "e", "workflow_name": "w",
           "stages": [_stage("library", {"molecules": 3}), physics]}
    actions = {a["@id"]: a for a in _actions(run, [], [], {})}
    assert actions["#stage-physics"]["object"] == [{"@id": "#input-recipe"}, {"@id": "#dataset-receptor"}]
    assert actions["#stage-library"]["object"] == {"@id": "#input-recipe"}  # declares none
