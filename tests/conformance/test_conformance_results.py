"""Quality and provenance checks over a published case-study folder built here with the
kit's own writers (EventLog, write_crate), then broken one piece at a time."""

from __future__ import annotations

import json

import pytest

from conformance.checks import provenance, quality
from conformance.registry import Status
from reference_workloads.core.eventlog import EVAL_ERROR, EventLog, constants
from reference_workloads.provenance.crate import write_crate

from .helpers import context

HEX = "ab" * 32
MANIFEST = {"dataset_hash": HEX, "model_hash": HEX, "config_hash": HEX, "code_version": "f00",
            "seeds": {"simulation": 7, "training": 1234}, "world_size": {"mpi_ranks": 2},
            "hardware": {"cpu": "test cpu", "cores": 2}, "packages": {"torch": "2.13.0"}}


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


def publish(root, name, headline, extra_files=None):
    folder = root / name / "results"
    folder.mkdir(parents=True)
    write_events(folder / "events.log")
    (folder / "manifest.json").write_text(json.dumps(MANIFEST))
    for file_name, doc in (extra_files or {}).items():
        (folder / file_name).write_text(json.dumps(doc))
    summary = {"case_study": name, "workload": name, "recipe": "laptop", "regenerated": "2026-11-22T00:00:00+00:00",
               "command": f"ai4s casestudies --only {name}", "code_version": "f00",
               "hashes": {k: HEX for k in ("dataset_hash", "model_hash", "config_hash")},
               "headline": headline}
    (folder / "summary.json").write_text(json.dumps(summary))
    files = sorted(p.name for p in folder.iterdir())
    write_crate(folder, run=crate_run(name), files=files, readme=f"# {name}\n")
    return folder


def crate_run(name):
    """The least run record the crate writer takes: one stage, no packages."""
    when = "2026-11-22T00:00:00+00:00"
    return {"title": name, "identifier": f"ai4s:{name}:0", "command": f"ai4s casestudies --only {name}",
            "description": name, "workflow_name": name, "code_version": "f00", "kit_version": "0.1.0",
            "python": "3.11", "packages": MANIFEST["packages"], "agent": {"name": "t", "url": "mailto:t@t"},
            "start": when, "end": when, "inputs": {"recipe": "laptop"}, "artifacts": {"model_hash": HEX},
            "stages": [{"name": "train", "inputs_hash": HEX, "seconds": 1.0, "start": when, "end": when,
                        "object": ["#input-recipe"], "result": ["#model_hash"], "summary": {}}],
            "workflow": {"stages": ["train"]}}


CLIMATE_HEADLINE = {"horizon_steps": 3, "leads_not_beating_persistence": [],
                    "nrmse_lead1": {"emulator": 0.01, "persistence": 0.02},
                    "nrmse_horizon": {"emulator": 0.05, "persistence": 0.09, "climatology": 0.2},
                    "acc_h_horizon": {"emulator": 0.9, "persistence": 0.7}}
DRUG_RESULTS = {"metrics": {"physics": {"gnn": {"spearman": 0.81, "rmse": 1.0},
                                        "random_forest": {"spearman": 0.74, "rmse": 1.2}}}}


@pytest.fixture
def studies(tmp_path):
    root = tmp_path / "casestudies"
    publish(root, "climate", CLIMATE_HEADLINE)
    publish(root, "drug-discovery", {"results": ["results.json"]}, {"results.json": DRUG_RESULTS})
    return root


def test_all_result_checks_pass_on_a_good_publication(tmp_path, studies):
    ctx = context(tmp_path, casestudies_root=studies)
    for fn in (quality.climate_beats_persistence, quality.drug_gnn_vs_forest, provenance.event_logs,
               provenance.manifests, provenance.case_study_crates):
        result = fn(ctx)
        assert result.status is Status.PASSED, (fn.__name__, result.message)
    drug = quality.drug_gnn_vs_forest(ctx)
    assert drug.evidence["measured"]["spearman_gnn_minus_random_forest"] == pytest.approx(0.07)
    climate = quality.climate_beats_persistence(ctx)
    assert climate.evidence["nrmse_horizon"] == CLIMATE_HEADLINE["nrmse_horizon"]
    assert climate.evidence["measured"]["relative_margin_at_horizon"] == pytest.approx(1 - 0.05 / 0.09)


def test_missing_results_are_skipped_with_the_command(tmp_path):
    ctx = context(tmp_path, casestudies_root=tmp_path / "empty")
    for fn in (quality.climate_beats_persistence, quality.drug_gnn_vs_forest, provenance.event_logs,
               provenance.manifests, provenance.case_study_crates):
        result = fn(ctx)
        assert result.status is Status.SKIPPED and "ai4s casestudies" in result.message


def test_quality_targets_missed_fail_with_numbers(tmp_path, studies):
    summary_path = studies / "climate" / "results" / "summary.json"
    summary = json.loads(summary_path.read_text())
    summary["headline"]["leads_not_beating_persistence"] = [3]
    summary_path.write_text(json.dumps(summary))
    results_path = studies / "drug-discovery" / "results" / "results.json"
    worse = json.loads(results_path.read_text())
    worse["metrics"]["physics"]["gnn"]["spearman"] = 0.5
    results_path.write_text(json.dumps(worse))
    ctx = context(tmp_path, casestudies_root=studies)
    climate = quality.climate_beats_persistence(ctx)
    assert climate.status is Status.FAILED and "[3]" in climate.message
    assert quality.drug_gnn_vs_forest(ctx).status is Status.FAILED


@pytest.mark.parametrize("kwargs, problem", [
    ({"seed_first": False}, "seed is logged after run_start"),
    ({"status": "aborted"}, "last run_stop status is 'aborted'"),
    ({"epochs": 0}, "missing event 'epoch_start'"),
])
def test_event_log_rules(tmp_path, studies, kwargs, problem):
    log = studies / "climate" / "results" / "events.log"
    log.unlink()
    write_events(log, **kwargs)
    result = provenance.event_logs(context(tmp_path, casestudies_root=studies))
    assert result.status is Status.FAILED
    assert problem in result.evidence["logs"]["casestudy:climate"]["problems"]


def test_manifest_without_hardware_or_with_a_fake_hash_fails(tmp_path, studies):
    path = studies / "climate" / "results" / "manifest.json"
    path.write_text(json.dumps({**MANIFEST, "hardware": {}, "model_hash": "not-a-hash"}))
    result = provenance.manifests(context(tmp_path, casestudies_root=studies))
    assert result.status is Status.FAILED
    assert result.evidence["manifests"]["casestudy:climate"]["problems"] == [
        "missing field 'hardware'", "model_hash 'not-a-hash' is not a hex digest"]


def test_a_file_published_behind_the_crates_back_fails(tmp_path, studies):
    (studies / "climate" / "results" / "extra.png").write_bytes(b"png")
    result = provenance.case_study_crates(context(tmp_path, casestudies_root=studies))
    assert result.status is Status.FAILED
    assert result.evidence["crates"]["casestudy:climate"] == ["extra.png is not listed in the crate"]
