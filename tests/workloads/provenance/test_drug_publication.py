"""A real published ci_tiny drug-discovery case study: its crate passes roc-validator, no
file names a local path, and `verify` recomputes the headline from the published
predictions and catches a changed prediction. The session's one
ci_tiny run is shared (tests/conftest.py)."""

from __future__ import annotations

import json
import shutil

import pandas as pd
import pytest

from reference_workloads.core.hashing import sha256_file
from reference_workloads.provenance.crate import CRATE_FILE
from reference_workloads.provenance.paths import local_paths_in, local_roots
from reference_workloads.provenance.publish import publish
from reference_workloads.provenance.validation import validate_crate
from reference_workloads.provenance.verify import verify


@pytest.fixture(scope="module")
def published(drug_ci_tiny_run, tmp_path_factory):
    run_dir = drug_ci_tiny_run  # the session's shared run: publishing only reads it
    folder = tmp_path_factory.mktemp("drug") / "casestudies" / "drug-discovery" / "results"
    summary = publish(run_dir, folder, name="drug-discovery", overrides=[], code_version="test",
                      command="ai4s casestudies --only drug-discovery --recipe ci_tiny")
    return run_dir, folder, summary


@pytest.mark.slow
@pytest.mark.timeout(1200)
def test_the_drug_crate_is_valid_and_names_no_local_path(published):
    run_dir, folder, summary = published
    assert validate_crate(folder, severity="RECOMMENDED") == []
    assert local_paths_in(folder, local_roots(run_dir)) == []
    graph = {e["@id"]: e for e in json.loads((folder / CRATE_FILE).read_text())["@graph"]}
    stages = sorted(p.stem for p in (run_dir / ".stages").glob("*.json"))
    assert sorted(i.removeprefix("#stage-") for i, e in graph.items()
                  if e["@type"] == "CreateAction" and i != "#run") == stages
    seed = summary["headline"]["seeds"][0]
    assert {"library", "physics", "tasks_physics", "tasks_activity", *(f"{s}@seed-{seed}" for s in (
        "train_physics", "train_activity", "baseline_physics", "baseline_activity", "screen", "evaluate"))} <= set(stages)


@pytest.mark.slow
def test_the_physics_table_holds_docking_scores_and_the_crate_names_the_receptor(published):
    from reference_workloads.drug_discovery.docking.receptor import RECEPTOR_PATH, _package_root

    run_dir, folder, _ = published
    library = pd.read_parquet(run_dir / "data" / "library.parquet")
    table = pd.read_parquet(run_dir / "physics" / "physics.parquet")
    assert table["record"].tolist() == sorted(library["record"]) and {"energy_min", "mmff_status"} <= set(table)
    ok = table["status"] == "ok"
    assert ok.mean() > 0.8 and table.loc[ok, "docking_score"].between(-20, 0).all()
    assert table.loc[~ok, "docking_score"].isna().all()
    graph = {e["@id"]: e for e in json.loads((folder / CRATE_FILE).read_text())["@graph"]}
    receptor = graph["#dataset-receptor"]
    assert receptor["@type"] == "Dataset" and receptor["sha256"] == sha256_file(_package_root() / RECEPTOR_PATH)
    properties = {graph[p["@id"]]["name"]: graph[p["@id"]]["value"] for p in receptor["additionalProperty"]}
    assert properties["pdbqt_sha256"] == sha256_file(run_dir / "physics" / "receptor" / "receptor.pdbqt")
    assert properties["source_path"] == RECEPTOR_PATH and "HSD->HID" in properties["preparation_steps"]
    objects = graph["#stage-physics"]["object"]
    assert {"@id": "#dataset-receptor"} in (objects if isinstance(objects, list) else [objects])


@pytest.mark.slow
def test_the_drug_headline_is_recomputed_and_a_changed_prediction_is_caught(published, tmp_path):
    _, source, summary = published
    assert verify(source) == []
    seeds = summary["headline"]["seeds"]
    per_seed = [json.loads((source / f"seed-{s}-results.json").read_text())["metrics"] for s in seeds]
    gnn_rmse = summary["headline"]["metrics"]["physics"]["gnn"]["rmse"]
    assert gnn_rmse == pytest.approx(sum(m["physics"]["gnn"]["rmse"] for m in per_seed) / len(seeds))
    folder = tmp_path / "results"
    shutil.copytree(source, folder)
    name = f"seed-{seeds[0]}-test_predictions.parquet"
    table = pd.read_parquet(folder / name)
    table.loc[0, "prediction"] += 1.0
    table.to_parquet(folder / name, index=False)
    problems = verify(folder)
    assert any(p.startswith(f"{name}: sha256") for p in problems)
    document = json.loads((folder / CRATE_FILE).read_text())
    for entity in document["@graph"]:
        if entity["@id"] == name:
            entity["sha256"] = sha256_file(folder / name)
            entity["contentSize"] = str((folder / name).stat().st_size)
    (folder / CRATE_FILE).write_text(json.dumps(document))
    task, model = table.loc[0, "task"], table.loc[0, "model"]
    assert any(p.startswith(f"headline.metrics.{task}.{model}.rmse") for p in verify(folder))


@pytest.mark.slow
def test_the_drug_readme_template_renders_from_the_published_summary(published, tmp_path):
    from reference_workloads.provenance.paths import REPO
    from reference_workloads.provenance.readme import render

    _, _, summary = published
    text = render((REPO / "casestudies" / "drug-discovery" / "README.template.md").read_text(), summary)
    assert f"{summary['headline']['screen']['speedup']:.1f}x" in text and summary["identifier"] in text
    assert "{{" not in text
