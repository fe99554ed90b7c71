"""The runner: statuses, exceptions become unknown, skipped never counts as passed; and the
evidence files it leads to are well-formed."""

from __future__ import annotations

import json
import time
import xml.etree.ElementTree as ET

import pytest

from conformance import evidence, runner
from conformance.registry import (
    EnvironmentProblem,
    Result,
    Status,
    failed,
    not_applicable,
    passed,
    skipped,
)

from .helpers import context, requirement, small_catalogue

CATALOGUE = small_catalogue(
    requirement("AI4S-PLAT-001"), requirement("AI4S-PLAT-002"),
    requirement("AI4S-PLAT-003", level="SHOULD"), requirement("AI4S-SEC-001", category="security"),
    requirement("AI4S-SEC-002", category="security"), requirement("AI4S-SEC-003", category="security"),
    requirement("AI4S-SEC-004", category="security"),
)


def boom(_):
    raise ZeroDivisionError("division by zero in a check")


def env(_):
    raise EnvironmentProblem("mpiexec not found")


CHECKS = {
    "AI4S-PLAT-001": lambda _: passed("fine", measured=1.5),
    "AI4S-PLAT-002": lambda _: skipped("does not apply here"),
    "AI4S-PLAT-003": lambda _: failed("should-level failure", gap=2),
    "AI4S-SEC-001": boom,
    "AI4S-SEC-002": env,
    "AI4S-SEC-003": lambda _: "passed",  # a buggy check returning the wrong type
    # AI4S-SEC-004 has no check at all
}


@pytest.fixture
def outcomes(tmp_path):
    return runner.run(CATALOGUE.requirements, context(tmp_path), checks=CHECKS)


def test_every_outcome_has_exactly_one_of_the_four_statuses(outcomes):
    by_id = {o.requirement.id: o.result for o in outcomes}
    assert [o.requirement.id for o in outcomes] == [r.id for r in CATALOGUE.requirements]
    assert by_id["AI4S-PLAT-001"].status is Status.PASSED
    assert by_id["AI4S-PLAT-002"].status is Status.SKIPPED
    assert by_id["AI4S-PLAT-003"].status is Status.FAILED
    assert by_id["AI4S-SEC-001"].status is Status.UNKNOWN
    assert "ZeroDivisionError: division by zero in a check" in by_id["AI4S-SEC-001"].message
    assert by_id["AI4S-SEC-002"].message == "environment error: mpiexec not found"
    assert by_id["AI4S-SEC-002"].evidence["error_kind"] == "environment"
    assert "not Result" in by_id["AI4S-SEC-003"].message
    assert by_id["AI4S-SEC-004"].message == "no check is implemented for AI4S-SEC-004"


def test_skipped_and_unknown_are_not_counted_as_passed(outcomes):
    assert runner.counts(outcomes) == {"passed": 1, "failed": 1, "skipped": 1, "unknown": 4}


def test_only_a_failed_must_fails_the_run(outcomes, tmp_path):
    assert runner.must_failures(outcomes) == []  # the failure above is a SHOULD
    must_fail = runner.run([CATALOGUE.get("AI4S-PLAT-001")], context(tmp_path),
                           checks={"AI4S-PLAT-001": lambda _: failed("broken")})
    assert [o.requirement.id for o in runner.must_failures(must_fail)] == ["AI4S-PLAT-001"]


def test_a_check_that_raises_leaves_its_traceback_in_the_log(tmp_path):
    ctx = context(tmp_path)
    runner.run([CATALOGUE.get("AI4S-SEC-001")], ctx, checks=CHECKS)
    log = "\n".join(ctx.cache["_log_lines"])
    assert "Traceback" in log and "END   AI4S-SEC-001 unknown" in log


def test_result_refuses_a_status_outside_the_four():
    with pytest.raises(ValueError, match="Result.status"):
        Result(status="ok", message="x")


def test_cached_steps_run_once_and_keep_their_error(tmp_path):
    ctx, calls = context(tmp_path), []

    def make():
        calls.append(1)
        raise RuntimeError("render broke")

    for _ in range(2):
        with pytest.raises(RuntimeError, match="render broke"):
            ctx.cached("step", make)
    assert calls == [1]


def test_select_accepts_ids_and_categories_together():
    picked = runner.select(CATALOGUE, only=["AI4S-PLAT-001", "security"])
    assert [r.id for r in picked] == ["AI4S-PLAT-001", "AI4S-SEC-001", "AI4S-SEC-002",
                                      "AI4S-SEC-003", "AI4S-SEC-004"]
    assert runner.select(CATALOGUE, only=[], layers=["workload"]) == []


def run_info(outcomes, **kwargs):
    verdict, reasons = runner.verdict(outcomes)
    return evidence.RunInfo(code_version="abc123", profile="all", verdict=verdict, reasons=reasons,
                            started="2026-12-01T10:00:00+00:00", ended="2026-12-01T10:05:00+00:00", **kwargs)


@pytest.mark.parametrize("statuses, expected", [
    ({"AI4S-PLAT-001": passed("ok"), "AI4S-PLAT-003": failed("a SHOULD")}, "conformant"),
    ({"AI4S-PLAT-001": not_applicable("no GPU")}, "conformant"),
    ({"AI4S-PLAT-001": skipped("no inputs")}, "incomplete"),
    ({"AI4S-PLAT-001": passed("ok"), "AI4S-PLAT-002": Result(status=Status.UNKNOWN, message="no cluster")},
     "incomplete"),
    ({"AI4S-PLAT-001": failed("broken"), "AI4S-PLAT-002": skipped("no inputs")}, "not conformant"),
])
def test_one_verdict_per_run(tmp_path, statuses, expected):
    outcomes = runner.run([CATALOGUE.get(rid) for rid in statuses], context(tmp_path),
                          checks={rid: (lambda _, r=r: r) for rid, r in statuses.items()})
    verdict, reasons = runner.verdict(outcomes)
    assert verdict.value == expected
    assert bool(reasons) == (expected != "conformant")


def test_evidence_files_are_well_formed(outcomes, tmp_path):
    files = evidence.write(tmp_path, CATALOGUE, outcomes, run_info(outcomes, options={"quick": True}))
    doc = json.loads(files["results"].read_text())
    assert doc["metadata"]["catalogue_version"] == "0.1.0"
    assert doc["metadata"]["kit_code_version"] == "abc123"
    assert doc["summary"]["passed"] == 1 and doc["summary"]["total"] == 7
    first = doc["requirements"][0]
    assert {k: first[k] for k in ("id", "level", "status", "notes")} == {
        "id": "AI4S-PLAT-001", "level": "MUST", "status": "passed", "notes": "fine"}
    assert first["evidence"] == {"measured": 1.5}

    suite = ET.parse(files["junit"]).getroot().find("testsuite")
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors"), suite.get("skipped")) == \
        ("7", "1", "4", "1")
    cases = suite.findall("testcase")
    assert len(cases) == 7
    kinds = [[child.tag for child in case] for case in cases]
    assert kinds[0] == ["system-out"] and kinds[1] == ["skipped"] and kinds[2] == ["failure"]
    assert all(k == ["error"] for k in kinds[3:])
    assert cases[2].find("failure").get("message") == "should-level failure"
    assert json.loads(cases[2].find("failure").text) == {"gap": 2}
    assert suite.get("timestamp") == "2026-12-01T10:00:00" and suite.get("hostname")
    assert "<h1>ai4s-kit conformance: incomplete</h1>" in files["report"].read_text()


def test_the_filled_cncf_checklist_follows_the_upstream_format(tmp_path):
    import yaml

    from conformance.catalogue import cncf_checklist, load

    catalogue, checklist = load(), cncf_checklist()
    results = {"AI4S-SCHED-001": passed("configured"), "AI4S-SCHED-002": passed("both cases"),
               "AI4S-SEC-002": not_applicable("no accelerator"), "AI4S-OPS-001": failed("accepted invalid")}
    outcomes = runner.run([catalogue.get(rid) for rid in results], context(tmp_path),
                          checks={rid: (lambda _, r=r: r) for rid, r in results.items()})
    files = evidence.write(tmp_path, catalogue, outcomes, run_info(outcomes), checklist=checklist)
    doc = yaml.safe_load(files["checklist"].read_text())
    assert set(doc) == {"metadata", "spec"} and doc["metadata"]["kubernetesVersion"] == "v1.37"
    assert list(doc["spec"]) == ["accelerators", "networking", "schedulingOrchestration", "observability",
                                 "security", "operator"]
    items = {i["id"]: i for section in doc["spec"].values() for i in section}
    assert set(items) == {r.id for r in checklist.requirements}
    assert all(set(i) == {"id", "description", "level", "status", "evidence", "notes"} for i in items.values())
    assert items["gang_scheduling"]["status"] == "Implemented"
    assert items["gang_scheduling"]["evidence"] == ["file://junit.xml#AI4S-SCHED-001",
                                                   "file://junit.xml#AI4S-SCHED-002", "file://e2e.log"]
    assert items["secure_accelerator_access"]["status"] == "N/A"
    assert items["robust_controller"]["status"] == "Not Implemented"
    assert items["ai_inference"]["status"] == "" and "AI4S-NET-001" in items["ai_inference"]["notes"]


def test_e2e_log_lines_are_timestamped_and_flushed(tmp_path):
    log = evidence.E2ELog(tmp_path / "e2e.log")
    log("START one\nsecond line")
    assert len((tmp_path / "e2e.log").read_text().splitlines()) == 2  # readable before close
    log.close()
    assert all(line[:4].isdigit() and "T" in line.split()[0]
               for line in (tmp_path / "e2e.log").read_text().splitlines())


def test_bitwise_comparison_fails_when_a_hash_differs():
    # kills a REPRO-001 that compares a value with itself: the end-to-end runs really are identical
    from conformance.checks.reproducibility import compare_runs

    run = {"dataset_hash": "a" * 64, "model_hash": "b" * 64, "config_hash": "c" * 64, "code_version": "v1"}
    assert compare_runs(run, dict(run)).status is Status.PASSED
    for key in ("dataset_hash", "model_hash"):
        other = {**run, key: "d" * 64}
        result = compare_runs(run, other)
        assert result.status is Status.FAILED and result.evidence["same"][key] is False
        assert result.evidence["reproducibility"] == "bitwise"
    moved = compare_runs(run, {**run, "model_hash": "d" * 64, "code_version": "v2"})
    assert moved.status is Status.UNKNOWN and "code changed" in moved.message


def test_repro_001_compares_the_two_runs_it_made(tmp_path, monkeypatch):
    from conformance.checks import reproducibility
    from reference_workloads.climate import pipeline

    hashes = iter(["1" * 64, "2" * 64])
    monkeypatch.setattr(pipeline, "run", lambda recipe, overrides, run_dir: {
        "dataset_hash": "a" * 64, "model_hash": next(hashes), "config_hash": "c" * 64, "code_version": "v1"})
    result = reproducibility.climate_repeats_bitwise(context(tmp_path, quick=True))
    assert result.status is Status.FAILED
    assert result.evidence["same"] == {"dataset_hash": True, "model_hash": False}


def test_a_run_is_killed_once_its_training_starts(tmp_path):
    import sys

    from conformance.checks.reproducibility import kill_when_training_starts

    started = [sys.executable, "-c", "import sys, time; from reference_workloads.core.eventlog import EventLog; "
               "log = EventLog(sys.argv[1]); log.start('stage_start', stage='train@seed-1'); time.sleep(60)",
               str(tmp_path / "events.log")]
    began = time.monotonic()
    assert kill_when_training_starts(started, tmp_path, wait_s=30, poll_s=0.05) is True
    assert time.monotonic() - began < 20  # killed, not waited out
    assert kill_when_training_starts([sys.executable, "-c", "pass"], tmp_path / "none", wait_s=30) is False


@pytest.mark.parametrize("resumed_model, reused, status", [
    ("b" * 64, ["simulate"], Status.PASSED),
    ("e" * 64, ["simulate"], Status.FAILED),  # resumed to a different model
    ("b" * 64, [], Status.FAILED),  # started over: proves nothing about resuming
])
def test_repro_005_compares_the_resumed_run_with_an_uninterrupted_one(tmp_path, monkeypatch, resumed_model,
                                                                     reused, status):
    from conformance.checks import reproducibility
    from reference_workloads.climate import pipeline

    manifests = iter([{"dataset_hash": "a" * 64, "model_hash": "b" * 64, "config_hash": "c" * 64, "code_version": "v"},
                      {"dataset_hash": "a" * 64, "model_hash": resumed_model, "config_hash": "c" * 64,
                       "code_version": "v"}])
    monkeypatch.setattr(pipeline, "run", lambda recipe, overrides, run_dir: next(manifests))
    monkeypatch.setattr(reproducibility, "kill_when_training_starts", lambda command, run_dir: True)
    monkeypatch.setattr(reproducibility, "_stage_events", lambda path, key: reused if key == "stage_resumed" else [])
    result = reproducibility.killed_run_resumes_bitwise(context(tmp_path, quick=True))
    assert result.status is status, result.message
    assert result.evidence["reproducibility"] == "bitwise"


def test_the_quick_reproducibility_overrides_are_valid_for_todays_recipe():
    # the quick profile's climate runs override ci_tiny; a recipe change (say, a longer save
    # interval) must not leave them asking for a horizon the shortened run cannot hold
    from conformance.checks.reproducibility import CLIMATE_QUICK, CLIMATE_RECIPE
    from reference_workloads.climate.recipes import book

    recipe = book.get(CLIMATE_RECIPE, list(CLIMATE_QUICK))
    assert recipe.train.epochs == 1
