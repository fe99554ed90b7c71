"""A real published ci_tiny climate case study: the crate passes roc-validator, nothing in it
names a local path, `ai4s verify` catches a changed byte in any listed file and an edited
summary, the README and drift report follow the results, and `ai4s rerun` reproduces the
run bitwise from the crate alone. One run is shared by the whole module."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from reference_workloads.cli import app
from reference_workloads.core.hashing import sha256_file
from reference_workloads.provenance.crate import CRATE_FILE
from reference_workloads.provenance.drift import AGREES, DRIFTS
from reference_workloads.provenance.paths import REPO, local_paths_in, local_roots
from reference_workloads.provenance.readme import TemplateError, render, render_case_study
from reference_workloads.provenance.validation import MAIN_WORKFLOW_ID_CHECK, validate_crate
from reference_workloads.provenance.verify import verify

runner = CliRunner()


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    """`ai4s casestudies --only climate --recipe ci_tiny` into temporary folders."""
    root = tmp_path_factory.mktemp("published")
    runs, dest = root / "runs", root / "casestudies"
    result = runner.invoke(app, ["casestudies", "--only", "climate", "--recipe", "ci_tiny",
                                 "--runs", str(runs), "--dest", str(dest)])
    assert result.exit_code == 0, result.output
    assert "drift of climate against nothing recorded" in result.output  # the drift table
    return runs / "climate" / "ci_tiny", dest / "climate" / "results"


def _graph(folder):
    return {e["@id"]: e for e in json.loads((folder / CRATE_FILE).read_text())["@graph"]}


def _copy(folder, tmp_path):
    return Path(shutil.copytree(folder, tmp_path / "results"))


def _as_list(value):
    return value if isinstance(value, list) else [value]


@pytest.mark.timeout(900)
def test_the_crate_passes_roc_validator_at_required_and_recommended(published):
    _, folder = published
    assert validate_crate(folder, severity="REQUIRED") == []
    assert validate_crate(folder, severity="RECOMMENDED") == []
    # the one skipped recommendation is the http @id of the main workflow, a file of the crate
    unskipped = validate_crate(folder, severity="RECOMMENDED", skip=())
    assert unskipped and all(MAIN_WORKFLOW_ID_CHECK in issue for issue in unskipped), unskipped


def test_roc_validator_rejects_the_crate_on_ro_crate_1_3_as_the_kit_wrote_it_before(published, tmp_path):
    folder = _copy(published[1], tmp_path)
    document = json.loads((folder / CRATE_FILE).read_text())
    document["@context"] = "https://w3id.org/ro/crate/1.3/context"
    descriptor = next(e for e in document["@graph"] if e["@id"] == CRATE_FILE)
    descriptor["conformsTo"] = {"@id": "https://w3id.org/ro/crate/1.3"}
    (folder / CRATE_FILE).write_text(json.dumps(document))
    issues = validate_crate(folder, profile="process-run-crate-0.5", severity="REQUIRED")
    assert any("ro-crate-1.1_5.3" in issue and "conformsTo" in issue for issue in issues), issues


def test_the_crate_describes_files_stages_times_agent_and_software(published):
    run_dir, folder = published
    graph = _graph(folder)
    files = {i: e for i, e in graph.items() if "File" in _as_list(e["@type"])}
    assert set(files) == {p.name for p in folder.iterdir()} - {CRATE_FILE}
    for name, entity in files.items():
        assert entity["sha256"] == sha256_file(folder / name)
        assert entity["contentSize"] == str((folder / name).stat().st_size)
    stages = sorted(p.stem for p in (run_dir / ".stages").glob("*.json"))
    actions = {i: e for i, e in graph.items() if e["@type"] == "CreateAction"}
    assert sorted(i.removeprefix("#stage-") for i in actions if i != "#run") == stages
    for action in actions.values():
        assert action["startTime"] <= action["endTime"]
        assert graph[action["agent"]["@id"]]["@type"] == "Organization"
        assert graph[action["instrument"]["@id"]]["version"]
        assert action["object"] and action["result"]
    manifest = json.loads((folder / "manifest.json").read_text())
    seed = manifest["seeds"]["training"][0]
    evaluate = actions[f"#stage-evaluate@seed-{seed}"]
    assert {f"seed-{seed}-results.json", f"seed-{seed}-sample_errors.json"} <= {
        r["@id"] for r in _as_list(evaluate["result"])}
    assert "#model_hash" in {o["@id"] for o in _as_list(evaluate["object"])}
    manifest = json.loads((folder / "manifest.json").read_text())
    assert graph["#model_hash"]["value"] == manifest["model_hash"]
    software = {e["name"]: e["version"] for e in graph.values() if e["@type"] == "SoftwareApplication"}
    assert software["torch"] == manifest["packages"]["torch"]
    assert graph["workflow.json"]["version"] == manifest["code_version"]
    summary = json.loads((folder / "summary.json").read_text())
    assert graph["./"]["identifier"] == summary["identifier"].strip() and summary["identifier"].startswith("ai4s:")
    assert "#container-image" not in graph  # run on the host, not in the image: no digest in the manifest


def test_the_container_image_digest_is_recorded_when_one_was_used(published, tmp_path):
    from reference_workloads.provenance.publish import publish

    run_dir = Path(shutil.copytree(published[0], tmp_path / "run"))
    manifest = json.loads((run_dir / "manifest.json").read_text())
    manifest["image"] = {"name": "ghcr.io/ai4s/kit-climate", "tag": "0.1.0", "digest": "sha256:" + "ab" * 32}
    (run_dir / "manifest.json").write_text(json.dumps(manifest))
    folder = tmp_path / "results"
    publish(run_dir, folder, name="climate", command="c", overrides=[], code_version="v")
    graph = _graph(folder)
    image = graph["#container-image"]
    assert image["sha256"] == "ab" * 32 and image["registry"] == "ghcr.io" and image["tag"] == "0.1.0"
    train = next(i for i in graph if i.startswith("#stage-train@seed-"))
    assert graph[train]["containerImage"] == {"@id": "#container-image"}
    assert validate_crate(folder, severity="RECOMMENDED") == []


def test_no_published_file_names_a_local_path(published):
    run_dir, folder = published
    roots = local_roots(run_dir)
    assert str(REPO) in roots and str(Path.home()) in roots
    assert local_paths_in(folder, roots) == []
    # fixed at the source too: the run's own manifest records run-folder-relative paths
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["results"] == f"repeats/seed-{manifest['seeds']['training'][0]}/evaluation/results.json"
    assert not any(root in json.dumps(manifest) for root in roots)
    # the scan is not blind: a planted path is found
    planted = Path(str(folder) + "-planted")
    planted.mkdir(exist_ok=True)
    (planted / "x.json").write_text(json.dumps({"where": str(run_dir / "evaluation")}))
    assert local_paths_in(planted, roots)


def test_verify_passes_on_the_published_folder_and_its_crate_file(published):
    _, folder = published
    for target in (folder, folder / CRATE_FILE):
        result = runner.invoke(app, ["verify", str(target)])
        assert result.exit_code == 0, result.output
        assert "verified" in result.output


def test_verify_fails_on_a_changed_byte_in_any_listed_file(published, tmp_path):
    _, source = published
    names = sorted(i for i, e in _graph(source).items() if "File" in _as_list(e["@type"]))
    assert len(names) >= 10
    for name in names:
        folder = tmp_path / name
        shutil.copytree(source, folder)
        data = bytearray((folder / name).read_bytes())
        data[len(data) // 2] ^= 0x01
        (folder / name).write_bytes(bytes(data))
        problems = verify(folder)
        assert any(p.startswith(f"{name}: sha256") for p in problems), (name, problems)
        result = runner.invoke(app, ["verify", str(folder)])
        assert result.exit_code == 1 and f"{name}: sha256" in result.output


def _rehash(folder, name):
    """Make the crate agree with an edited file, as a careless or dishonest edit would."""
    document = json.loads((folder / CRATE_FILE).read_text())
    for entity in document["@graph"]:
        if entity["@id"] == name:
            entity["sha256"] = sha256_file(folder / name)
            entity["contentSize"] = str((folder / name).stat().st_size)
    (folder / CRATE_FILE).write_text(json.dumps(document))


def test_verify_fails_on_an_edited_summary_even_when_the_crate_is_rehashed(published, tmp_path):
    folder = _copy(published[1], tmp_path)
    summary = json.loads((folder / "summary.json").read_text())
    summary["headline"]["nrmse_horizon"]["emulator"] *= 0.5
    (folder / "summary.json").write_text(json.dumps(summary))
    _rehash(folder, "summary.json")
    problems = verify(folder)
    assert len(problems) == 1 and problems[0].startswith("headline.nrmse_horizon.emulator: summary says")
    result = runner.invoke(app, ["verify", str(folder)])
    assert result.exit_code == 1 and result.output.count("problem:") == 1


def test_verify_fails_on_edited_predictions_and_on_a_summary_of_another_manifest(published, tmp_path):
    folder = _copy(published[1], tmp_path)
    name = f"seed-{json.loads((folder / 'manifest.json').read_text())['seeds']['training'][0]}-sample_errors.json"
    errors = json.loads((folder / name).read_text())
    errors["emulator_sse"][0][-1][0] *= 4.0
    (folder / name).write_text(json.dumps(errors))
    _rehash(folder, name)
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["model_hash"] = "0" * 64
    (folder / "manifest.json").write_text(json.dumps(manifest))
    _rehash(folder, "manifest.json")
    problems = verify(folder)
    assert any(p.startswith("headline.nrmse_horizon.emulator") for p in problems), problems
    assert any("identifier" in p for p in problems)
    assert any(p.startswith("summary.json hashes.model_hash") for p in problems)
    assert any(p.startswith("manifest.json model_hash") for p in problems), problems


def test_verify_names_an_unlisted_file_and_a_bad_argument(published, tmp_path):
    folder = _copy(published[1], tmp_path)
    (folder / "extra.png").write_bytes(b"png")
    problems = verify(folder)
    assert problems[0] == "extra.png: published but not listed in the crate"
    assert all("identifier" in p for p in problems[1:])  # the result set is not the one named
    result = runner.invoke(app, ["verify", str(tmp_path / "nowhere")])
    assert result.exit_code == 2
    assert "is invalid: expected a results folder holding ro-crate-metadata.json" in " ".join(result.output.split())


def test_the_readme_is_rendered_from_the_results(published, tmp_path):
    _, source = published
    study = tmp_path / "climate"
    shutil.copytree(source, study / "results")
    template = (REPO / "casestudies" / "climate" / "README.template.md").read_text()
    (study / "README.template.md").write_text(template)
    first = render_case_study(study).read_text()
    summary = json.loads((study / "results" / "summary.json").read_text())
    assert summary["identifier"] in first and "How to cite" in first
    assert f"{summary['headline']['nrmse_horizon']['emulator']:.4f}" in first
    summary["headline"]["nrmse_horizon"]["emulator"] = 0.123456
    (study / "results" / "summary.json").write_text(json.dumps(summary))
    second = render_case_study(study).read_text()
    assert "0.1235" in second and "0.1235" not in first
    with pytest.raises(TemplateError, match="template field 'headline.gone' is invalid"):
        render("{{ headline.gone }}", summary)


def test_the_drift_report_agrees_with_itself_and_flags_a_moved_number(published, tmp_path):
    from reference_workloads.provenance.publish import publish

    run_dir, source = published
    summary = json.loads((source / "summary.json").read_text())
    drift = json.loads((source / "drift.json").read_text())
    assert drift["against"]["identifier"] is None  # the first publication: nothing recorded
    again = publish(run_dir, tmp_path / "again", name="climate", command="c", overrides=[],
                    code_version=summary["code_version"], recorded=summary)
    assert again["drift"]["agrees"], [r for r in again["drift"]["rows"] if r["status"] != AGREES]
    assert again["identifier"] == summary["identifier"]  # same bytes, same name
    moved = json.loads(json.dumps(summary))
    moved["headline"]["nrmse_horizon"]["emulator"] *= 1.01  # beyond its rtol 1e-4
    moved["headline"]["epochs"] += 1  # a count: bitwise
    report = publish(run_dir, tmp_path / "moved", name="climate", command="c", overrides=[],
                     code_version=summary["code_version"], recorded=moved)["drift"]
    drifted = {r["number"] for r in report["rows"] if r["status"] == DRIFTS}
    assert drifted == {"nrmse_horizon.emulator", "epochs"} and not report["agrees"]


@pytest.mark.timeout(900)
def test_rerun_reproduces_the_case_study_bitwise_from_the_crate(published, tmp_path):
    _, source = published
    folder = _copy(source, tmp_path)
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["code_version"] = "0" * 40  # as if published by another commit
    (folder / "manifest.json").write_text(json.dumps(manifest))
    out = tmp_path / "rerun"
    result = runner.invoke(app, ["rerun", str(folder / CRATE_FILE), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "bitwise agreement" in result.output
    assert "differs from the crate's" in result.output  # the code-version warning
    rerun_manifest = json.loads((out / "manifest.json").read_text())
    assert rerun_manifest["dataset_hash"] == manifest["dataset_hash"]
    assert rerun_manifest["model_hash"] == manifest["model_hash"]


def test_rerun_reports_a_difference_and_refuses_an_unbuildable_recipe(tmp_path):
    from reference_workloads.climate.recipes import book
    from reference_workloads.core.recipes import RecipeError, recipe_dict
    from reference_workloads.provenance.rerun import RerunReport, overrides_for

    report = RerunReport(run_dir=tmp_path, recorded={"model_hash": "a"}, reproduced={"model_hash": "b"})
    assert not report.bitwise and report.differences == ["model_hash: crate a, rerun b"]
    resolved = recipe_dict(book.get("ci_tiny", ["train.learning_rate=0.01", "simulation.seed=9"]))
    assert overrides_for(book, "ci_tiny", resolved) == ["simulation.seed=9", "train.learning_rate=0.01"]
    resolved["simulation"]["colour"] = "blue"
    with pytest.raises(RecipeError, match="'simulation.colour' of the crate is unknown"):
        overrides_for(book, "ci_tiny", resolved)
