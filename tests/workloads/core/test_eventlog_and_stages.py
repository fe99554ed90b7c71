import json

import pytest

from reference_workloads.core.eventlog import EventLog, constants, read_events
from reference_workloads.core.stages import StageRunner
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
