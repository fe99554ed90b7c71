"""The rules files themselves: their schema, how layers merge, and the published logs.

The logs the pipelines write are checked in test_compliance_pipelines.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from reference_workloads.core.compliance import (
    BENCHMARKS,
    HPC_COMMON_RULES,
    KIT_RULES,
    RulesError,
    check_log,
    load_rules,
    main,
    merge_rules,
)
from reference_workloads.core.eventlog import EventLog, constants

CASE_STUDIES = Path(__file__).resolve().parents[3] / "casestudies"


@pytest.mark.parametrize("path", [HPC_COMMON_RULES, KIT_RULES, *BENCHMARKS.values()], ids=lambda p: p.parent.name)
def test_every_rules_layer_is_well_formed(path):
    records = load_rules(path)
    assert any("KEY" in r for r in records)


MALFORMED = {
    "unknown field": ("- KEY:\n    NAME: seed\n    CHEK: \" v['value'] > 0 \"\n", "Additional properties"),
    "misspelled requirement": ("- KEY:\n    NAME: seed\n    REQ: EXACTLY_ONCE\n", "does not match"),
    "check that does not compile": ("- KEY:\n    NAME: seed\n    CHECK: \" v['value'] >> \"\n", "does not compile"),
    "statement where an expression belongs": ("- KEY:\n    NAME: seed\n    CHECK: \" s['x'] = 1 \"\n", "does not compile"),
    "key defined twice": ("- KEY:\n    NAME: seed\n- KEY:\n    NAME: seed\n", "KEY seed defined twice"),
    "two BEGIN records": ("- BEGIN:\n    CODE: x = 1\n- BEGIN:\n    CODE: y = 1\n", "more than one BEGIN"),
    "a mapping, not a list": ("KEY:\n  NAME: seed\n", "is not of type 'array'"),
    "unknown record": ("- RULE:\n    NAME: seed\n", "is not valid under any of the given schemas"),
}


@pytest.mark.parametrize("text,message", MALFORMED.values(), ids=MALFORMED.keys())
def test_a_malformed_rules_file_is_rejected_with_a_one_line_reason(tmp_path, text, message):
    path = tmp_path / "rules.yaml"
    path.write_text(text)
    with pytest.raises(RulesError, match=message) as error:
        load_rules(path)
    assert "\n" not in str(error.value) and "rules.yaml" in str(error.value)


def test_a_later_layer_replaces_keys_by_name_and_adds_begin_and_end():
    common = [{"BEGIN": {"CODE": "a = 1"}}, {"KEY": {"NAME": "seed", "REQ": "EXACTLY_ONE"}},
              {"KEY": {"NAME": "run_stop", "REQ": "EXACTLY_ONE"}}, {"END": {"CHECK": "a"}}]
    workload = [{"BEGIN": {"CODE": "b = 2"}}, {"KEY": {"NAME": "seed", "CHECK": "v['value'] > 0"}},
                {"END": {"CHECK": ["b", "c"]}}]
    assert merge_rules(common, workload) == [
        {"BEGIN": {"CODE": "a = 1\nb = 2"}},
        {"KEY": {"NAME": "seed", "CHECK": "v['value'] > 0"}},
        {"KEY": {"NAME": "run_stop", "REQ": "EXACTLY_ONE"}},
        {"END": {"CHECK": ["a", "b", "c"]}},
    ]


def test_a_log_naming_no_known_benchmark_fails_and_an_unknown_benchmark_is_refused(tmp_path):
    log = EventLog(tmp_path / "events.log")
    log.event(constants.SUBMISSION_BENCHMARK, "cosmoflow")
    log.close()
    failures = check_log(tmp_path / "events.log")
    assert any("submission_benchmark" in f for f in failures) and any("run_start" in f for f in failures)
    with pytest.raises(RulesError, match="accepted: ai4s-climate, ai4s-drug-discovery"):
        check_log(tmp_path / "events.log", benchmark="cosmoflow")
    assert main([str(tmp_path / "events.log")]) == 1
    assert main([str(tmp_path / "events.log"), "--benchmark", "ai4s-climate"]) == 1
    assert main([str(tmp_path / "missing.log")]) == 2


def test_an_empty_log_fails():
    assert "No log lines detected" in check_log(Path("/dev/null"), benchmark="ai4s-climate")


@pytest.mark.parametrize("study", ["climate", "drug-discovery"])
def test_the_published_case_study_logs_pass(study):
    assert check_log(CASE_STUDIES / study / "results" / "events.log") == []
