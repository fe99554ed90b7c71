import json
import subprocess
import sys

import pytest

from reference_workloads.core.eventlog import (
    EARLIER_LOGS,
    STAGE_RESUMED,
    STAGE_START,
    STAGE_STOP,
    EventLog,
    constants,
    read_events,
)
from reference_workloads.core.stages import StageRunner, inputs_hash
from reference_workloads.core.tracing import init_tracing, read_spans, shutdown_tracing


def test_rank_zero_writes_mllog_records_others_write_nothing(tmp_path):
    main, other = EventLog(tmp_path / "a.log", rank=0), EventLog(tmp_path / "b.log", rank=1)
    for log in (main, other):
        log.event(constants.SEED, 42)
        log.start(constants.RUN_START)
        log.end(constants.RUN_STOP, status="success")
        log.close()
    records = read_events(tmp_path / "a.log")
    assert [r["key"] for r in records] == ["seed", "run_start", "run_stop"]
    assert records[0]["value"] == 42 and records[2]["metadata"]["status"] == "success"
    assert not (tmp_path / "b.log").exists()


def test_stage_is_skipped_when_complete_and_rerun_when_inputs_change(tmp_path, monkeypatch):
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_ENDPOINT", raising=False)
    init_tracing(tmp_path, "test")
    log = EventLog(tmp_path / "events.log")
    runner = StageRunner(tmp_path, log)
    calls = []
    output = tmp_path / "out.txt"

    def stage():
        calls.append(1)
        output.write_text("x")
        return {"value": len(calls)}

    assert runner.run("make", stage, inputs={"n": 1}, outputs=[output], attributes={"nx": 8}) == {"value": 1}
    assert runner.run("make", stage, inputs={"n": 1}, outputs=[output]) == {"value": 1}
    assert len(calls) == 1
    assert runner.run("make", stage, inputs={"n": 2}, outputs=[output]) == {"value": 2}
    output.unlink()
    runner.run("make", stage, inputs={"n": 2}, outputs=[output])
    assert len(calls) == 3

    def broken():
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        runner.run("broken", broken, inputs={})
    assert not (tmp_path / ".stages" / "broken.json").exists()
    shutdown_tracing()
    log.close()
    spans = read_spans(tmp_path)
    assert spans[0]["name"] == "stage.make" and spans[0]["attributes"]["nx"] == 8
    assert json.loads((tmp_path / ".stages" / "make.json").read_text())["result"] == {"value": 3}


def _keys(path):
    return [r["key"] for r in read_events(path)]


def test_a_fresh_log_moves_the_earlier_one_to_logs_and_holds_only_its_own_run(tmp_path):
    path = tmp_path / "events.log"
    first = EventLog(path, fresh=True)
    first.start(constants.RUN_START)
    first.end(constants.RUN_STOP, status="success")
    first.close()
    earlier = path.read_bytes()
    assert first.archived is None

    second = EventLog(path, fresh=True)
    second.start(constants.RUN_START)
    second.close()
    assert _keys(path) == ["run_start"]  # the earlier run is not in this log
    assert second.archived.parent == tmp_path / EARLIER_LOGS
    assert second.archived.read_bytes() == earlier  # and nothing of it is lost

    third = EventLog(path, fresh=True)
    third.close()
    assert len(list((tmp_path / EARLIER_LOGS).iterdir())) == 2 and path.read_text() == ""


CHILD = """
import sys
from reference_workloads.core.eventlog import EventLog
log = EventLog(sys.argv[1])
log.event("child", 1)
log.close()
"""


def test_a_child_process_writes_into_the_parents_log_between_its_lines(tmp_path):
    """Parent and child both append: with the parent on "w" the child's line would be overwritten."""
    path = tmp_path / "events.log"
    parent = EventLog(path, fresh=True)
    parent.event("before", 0)
    subprocess.run([sys.executable, "-c", CHILD, str(path)], check=True, timeout=60)
    parent.event("after", 2)
    parent.close()
    assert _keys(path) == ["before", "child", "after"]
    assert not (tmp_path / EARLIER_LOGS).exists()  # joining is not starting a new log


def test_logged_source_files_are_relative_not_local_paths(tmp_path):
    log = EventLog(tmp_path / "events.log")
    log.event(constants.SEED, 1)
    log.close()
    assert read_events(tmp_path / "events.log")[0]["metadata"]["file"] == "tests/workloads/core/test_eventlog_and_stages.py"


def test_stages_log_their_key_and_a_resumed_stage_says_it_was_resumed(tmp_path, monkeypatch):
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_ENDPOINT", raising=False)
    init_tracing(tmp_path, "test")
    output = tmp_path / "out.txt"
    for _ in range(2):
        log = EventLog(tmp_path / "events.log", fresh=True)
        StageRunner(tmp_path, log).run("make", lambda: output.write_text("x") and {}, inputs={"n": 1}, outputs=[output])
        log.close()
    shutdown_tracing()
    key = inputs_hash({"n": 1})
    (earlier,) = (tmp_path / EARLIER_LOGS).iterdir()
    ran = [(r["key"], r["metadata"]["stage"], r["metadata"]["stage_key"]) for r in read_events(earlier)]
    assert ran == [(STAGE_START, "make", key), (STAGE_STOP, "make", key)]
    resumed = read_events(tmp_path / "events.log")
    assert [(r["key"], r["metadata"]["stage"], r["metadata"]["stage_key"]) for r in resumed] == [(STAGE_RESUMED, "make", key)]


def test_a_failed_run_logs_aborted_and_the_next_invocation_names_that_log(tmp_path, monkeypatch):
    from dataclasses import dataclass

    from reference_workloads.core.runs import workload_run

    @dataclass(frozen=True)
    class Recipe:
        size: int = 1

    monkeypatch.delenv("OTEL_EXPORTER_OTLP_ENDPOINT", raising=False)
    with pytest.raises(RuntimeError), workload_run("test", "tiny", Recipe(), tmp_path, seed=3):
        raise RuntimeError("stage failed")
    failed = (tmp_path / "events.log").read_bytes()
    with workload_run("test", "tiny", Recipe(), tmp_path, seed=3):
        pass
    records = read_events(tmp_path / "events.log")
    assert [r["key"] for r in records].count("run_start") == 1
    assert records[-1]["key"] == "run_stop" and records[-1]["metadata"]["status"] == "success"
    (resumed_from,) = [r["value"] for r in records if r["key"] == "resumed_from"]
    assert (tmp_path / resumed_from).read_bytes() == failed
    assert read_events(tmp_path / resumed_from)[-1]["metadata"]["status"] == "aborted"
