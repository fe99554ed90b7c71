"""Quality, provenance and seed checks over copies of the published case studies, each copy
broken one way (the rows of issue 12's table among them); every broken input must fail
the check that guards it, and the unbroken copy must pass."""

from __future__ import annotations

import json
import shutil

import pytest

from conformance.checks import provenance, quality, reproducibility
from conformance.registry import REPO_ROOT, Status
from reference_workloads.climate.evaluate import beats_persistence
from reference_workloads.core.eventlog import EVAL_ERROR, EventLog, constants

from .helpers import context

CHECKS = (quality.climate_beats_persistence, quality.drug_gnn_vs_forest, provenance.event_logs,
          provenance.manifests, provenance.case_study_crates, provenance.case_studies_verify,
          reproducibility.seeds_in_band)


@pytest.fixture
def studies(tmp_path):
    """Copies of the committed case studies' results, safe to break."""
    root = tmp_path / "casestudies"
    for name in ("climate", "drug-discovery"):
        shutil.copytree(REPO_ROOT / "casestudies" / name / "results", root / name / "results")
    return root


def results(studies, name):
    return studies / name / "results"


def edit_json(path, change):
    doc = json.loads(path.read_text())
    change(doc)
    path.write_text(json.dumps(doc, indent=1))


def run(studies, tmp_path, fn):
    return fn(context(tmp_path, casestudies_root=studies))


def test_every_result_check_passes_on_the_published_case_studies(tmp_path, studies):
    ctx = context(tmp_path, casestudies_root=studies)
    for fn in CHECKS:
        result = fn(ctx)
        assert result.status is Status.PASSED, (fn.__name__, result.message)
    climate = quality.climate_beats_persistence(ctx).evidence
    # every held-out forecast of every seed is one pair (the count the published recipe implies)
    headline = json.loads((results(studies, "climate") / "summary.json").read_text())["headline"]
    assert climate["declared_margin"] == 0.05
    assert climate["comparison"]["n"] == headline["held_out_samples"] * headline["n_seeds"] == 240
    assert climate["measured"] == {"paired_interval_clears_margin": 1}


def test_missing_results_are_skipped_with_the_command(tmp_path):
    ctx = context(tmp_path, casestudies_root=tmp_path / "empty")
    for fn in CHECKS:
        result = fn(ctx)
        assert result.status is Status.SKIPPED and "ai4s casestudies" in result.message


def test_a_hand_edited_horizon_nrmse_fails_quality_and_verification(tmp_path, studies):
    # issue 12, row 1: 0.5 is ten times worse than persistence; the predictions say otherwise
    edit_json(results(studies, "climate") / "summary.json",
              lambda d: d["headline"]["nrmse_horizon"].update(emulator=0.5))
    ctx = context(tmp_path, casestudies_root=studies)
    climate = quality.climate_beats_persistence(ctx)
    assert climate.status is Status.FAILED
    assert "headline differs from the recomputed one at ['nrmse_horizon']" in climate.message
    verified = provenance.case_studies_verify(ctx)
    assert verified.status is Status.FAILED
    assert any("headline.nrmse_horizon.emulator" in p for p in verified.evidence["problems"]["climate"])


def test_zeroed_manifest_hashes_and_an_overwritten_figure_fail_provenance(tmp_path, studies):
    # issue 12, row 2
    for name in ("climate", "drug-discovery"):
        edit_json(results(studies, name) / "manifest.json",
                  lambda d: d.update({k: "0" * 64 for k in ("dataset_hash", "model_hash", "config_hash")}))
    (results(studies, "climate") / "skill_vs_lead.png").write_bytes(b"\x89PNG not the figure")
    ctx = context(tmp_path, casestudies_root=studies)
    manifests = provenance.manifests(ctx)
    assert manifests.status is Status.FAILED
    problems = manifests.evidence["manifests"]["casestudy:climate"]["problems"]
    assert f"model_hash {'0' * 64!r} is a placeholder, not a digest" in problems
    assert any(p.startswith("manifest.json: sha256") for p in problems)
    crates = provenance.case_study_crates(ctx)
    assert crates.status is Status.FAILED
    assert any(p.startswith("skill_vs_lead.png: sha256") for p in crates.evidence["crates"]["casestudy:climate"])
    assert provenance.case_studies_verify(ctx).status is Status.FAILED


@pytest.mark.parametrize("fn, name", [(quality.climate_beats_persistence, "climate"),
                                      (quality.drug_gnn_vs_forest, "drug-discovery")])
def test_a_summary_without_headline_fails_quality(tmp_path, studies, fn, name):
    # issue 12, row 3: was `unknown`, exit 0
    edit_json(results(studies, name) / "summary.json", lambda d: d.pop("headline"))
    result = run(studies, tmp_path, fn)
    assert result.status is Status.FAILED and "has no headline" in result.message


def test_an_emulator_that_ties_persistence_does_not_beat_it(tmp_path, studies):
    # an untrained emulator equals persistence exactly: a tie must never pass
    folder = results(studies, "climate")
    for path in folder.glob("seed-*-sample_errors.json"):
        edit_json(path, lambda d: d.update(emulator_sse=d["persistence_sse"]))
    result = run(studies, tmp_path, quality.climate_beats_persistence)
    assert result.status is Status.FAILED
    assert result.evidence["comparison"]["interval"] == [0.0, 0.0]
    assert "does not clear the margin" in result.message


def test_beats_persistence_reports_a_tied_lead_as_not_beating():
    # kills `<` -> `<=` in climate.evaluate.beats_persistence: ties are realistic
    scores = {"emulator": {"rmse_normalised": [0.0, 0.1, 0.2, 0.25]},
              "persistence": {"rmse_normalised": [0.0, 0.2, 0.2, 0.3]}}
    assert beats_persistence(scores, horizon=3) == [2]


def test_a_margin_below_the_recipes_fails_quality(tmp_path, studies):
    # the manifest's recipe is what the headline reads the margin from; the book declares 0.05
    edit_json(results(studies, "climate") / "manifest.json", lambda d: d["recipe"]["repeats"].update(margin=0.0))
    result = run(studies, tmp_path, quality.climate_beats_persistence)
    assert result.status is Status.FAILED
    assert "comparison uses margin 0.0, the recipe declares 0.05" in result.message


def test_a_reused_seed_fails_the_seed_check(tmp_path, studies):
    edit_json(results(studies, "drug-discovery") / "manifest.json",
              lambda d: d["seeds"].update(training=[0, 0, 1537641295, 1804231554, 1154384836]))
    result = run(studies, tmp_path, reproducibility.seeds_in_band)
    assert result.status is Status.FAILED
    assert "training seeds [0] are reused" in result.evidence["case_studies"]["drug-discovery"]["problems"][0]


@pytest.mark.parametrize("seeds, logged, spread, problem", [
    ([1, 2], [1], {"mean": 1.0, "std": 0.01}, "training seeds [2] are not logged"),
    ([1], [1], {"mean": 1.0, "std": None}, "1 distinct training seeds; at least 2"),
    ([1, 2], [1, 2], {"mean": 1.0, "std": 0.2}, "relative spread over seeds 0.2 exceeds the band 0.1"),
    ([1, 2], [1, 2], None, "no spread over seeds"),
])
def test_seed_rules(seeds, logged, spread, problem):
    manifest = {"seeds": {"training": seeds}}
    assert reproducibility.seed_problems({"seeds": {"training": [1, 2]}}, [1, 2], {"mean": 1.0, "std": 0.05},
                                         min_seeds=2, max_relative_std=0.1) == []
    found = reproducibility.seed_problems(manifest, logged, spread, min_seeds=2, max_relative_std=0.1)
    assert any(problem in p for p in found), found


def write_events(path, *, seed_first=True, status="success", epochs=2):
    log = EventLog(path)
    if seed_first:
        log.event(constants.SEED, 1234)
    log.event(constants.GLOBAL_BATCH_SIZE, 16)
    log.start(constants.RUN_START)
    if not seed_first:
        log.event(constants.SEED, 1234)
    for epoch in range(epochs):
        log.start(constants.EPOCH_START, epoch_num=epoch)
        log.event(EVAL_ERROR, 0.5, epoch_num=epoch)
        log.end(constants.EPOCH_STOP, epoch_num=epoch)
    log.end(constants.RUN_STOP, status=status)
    log.close()


@pytest.mark.parametrize("kwargs, problem", [
    ({"seed_first": False}, "seed is logged after run_start"),
    ({"status": "aborted"}, "last run_stop status is 'aborted'"),
    ({"epochs": 0}, "missing event 'epoch_start'"),
])
def test_event_log_rules(tmp_path, studies, kwargs, problem):
    log = results(studies, "climate") / "events.log"
    log.unlink()
    write_events(log, **kwargs)
    result = run(studies, tmp_path, provenance.event_logs)
    assert result.status is Status.FAILED
    assert problem in result.evidence["logs"]["casestudy:climate"]["problems"]


def test_manifest_without_hardware_or_with_a_fake_hash_fails(tmp_path, studies):
    edit_json(results(studies, "climate") / "manifest.json",
              lambda d: d.update(hardware={}, model_hash="not-a-hash"))
    result = run(studies, tmp_path, provenance.manifests)
    assert result.status is Status.FAILED
    problems = result.evidence["manifests"]["casestudy:climate"]["problems"]
    assert problems[:2] == ["missing field 'hardware'", "model_hash 'not-a-hash' is not a hex digest"]


def test_a_file_published_behind_the_crates_back_fails(tmp_path, studies):
    (results(studies, "climate") / "extra.png").write_bytes(b"png")
    result = run(studies, tmp_path, provenance.case_study_crates)
    assert result.status is Status.FAILED
    assert result.evidence["crates"]["casestudy:climate"] == ["extra.png is not listed in the crate"]


def test_paired_comparison_problems_need_a_strictly_positive_interval():
    passing = {"required_margin": 0.0, "interval": [0.1, 0.2], "passes": True, "relative_improvement": 0.1}
    assert quality.comparison_problems(passing, passing, 0.0) == []
    at_zero = {**passing, "interval": [0.0, 0.2]}
    assert "does not clear the margin" in quality.comparison_problems(at_zero, at_zero, 0.0)[0]
    assert quality.comparison_problems(passing, None, 0.0) == ["the published predictions give no such comparison"]


def test_published_hashes_are_rerun_only_on_their_code_version(tmp_path, studies, monkeypatch):
    from reference_workloads.climate import pipeline as climate_pipeline
    from reference_workloads.drug_discovery import pipeline as drug_pipeline

    summaries = {name: json.loads((results(studies, name) / "summary.json").read_text())
                 for name in ("climate", "drug-discovery")}
    # one code version for the climate study only: the drug study, run on other code, must not rerun
    summaries["drug-discovery"]["run_code_version"] = "0" * 40
    (results(studies, "drug-discovery") / "summary.json").write_text(json.dumps(summaries["drug-discovery"]))
    summary = summaries["climate"]
    calls = []

    def rerun(recipe, overrides, run_dir):
        calls.append((recipe, overrides))
        return {**summary["hashes"], "model_hash": rerun.model}

    def drug_rerun(recipe, overrides, run_dir):  # never the real laptop pipeline inside a test
        raise AssertionError("the drug study was published on other code and must not rerun")

    monkeypatch.setattr(climate_pipeline, "run", rerun)
    monkeypatch.setattr(drug_pipeline, "run", drug_rerun)
    ctx = context(tmp_path, casestudies_root=studies)
    other = reproducibility.published_hashes_recompute(ctx)  # this checkout is not the published code
    assert other.status is Status.SKIPPED and other.evidence["not_applicable"] is True and calls == []
    monkeypatch.setattr("reference_workloads.core.manifest.code_version", lambda *a: summary["run_code_version"])
    rerun.model = summary["hashes"]["model_hash"]
    assert reproducibility.published_hashes_recompute(ctx).status is Status.PASSED
    assert calls == [("laptop", [])]
    rerun.model = "f" * 64
    drifted = reproducibility.published_hashes_recompute(ctx)
    assert drifted.status is Status.FAILED and drifted.evidence["hashes"]["climate"]["model_hash"]["recomputed"] == "f" * 64
