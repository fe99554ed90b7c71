"""Every log a ci_tiny run writes passes the mlperf_logging compliance checker with the kit's
rules; a second invocation in the same folder writes its own log, which passes too and says
what it resumed from; and the real log, broken one way at a time, fails.

Each workload's pipeline runs twice per test session (once fresh, once resumed), shared by
every test here; the drug-discovery fresh run is the session's shared one, copied."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from reference_workloads.core.compliance import check_log, main
from reference_workloads.core.eventlog import EARLIER_LOGS, read_events

pytestmark = pytest.mark.slow

TRAINING_STAGES = {"climate": {"train"}, "drug_discovery": {"train_physics", "train_activity"}}


@pytest.fixture(scope="module", params=sorted(TRAINING_STAGES))
def runs(request, tmp_path_factory):
    """(workload, run folder, the first invocation's log as written) after two invocations.
    The drug-discovery first invocation is the session's shared run, copied."""
    import importlib

    pipeline = importlib.import_module(f"reference_workloads.{request.param}.pipeline")
    run_dir = tmp_path_factory.mktemp(request.param) / "run"
    if request.param == "drug_discovery":
        shutil.copytree(request.getfixturevalue("drug_ci_tiny_run"), run_dir)
    else:
        pipeline.run("ci_tiny", [], run_dir)
    first = (run_dir / "events.log").read_bytes()
    pipeline.run("ci_tiny", [], run_dir)
    return request.param, run_dir, first


def _check_text(folder: Path, text: str) -> list[str]:
    path = folder / "events.log"
    path.write_text(text)
    return check_log(path)


def _records(text: str) -> list[dict]:
    return [json.loads(line.split(" ", 1)[1]) for line in text.splitlines() if line.startswith(":::MLLOG ")]


def test_the_first_invocations_log_passes_and_is_kept_byte_for_byte(runs):
    _, run_dir, first = runs
    (earlier,) = (run_dir / EARLIER_LOGS).iterdir()
    assert earlier.read_bytes() == first
    assert check_log(earlier) == []
    records = _records(first.decode())
    assert [r["key"] for r in records].count("run_start") == 1
    assert not any(r["key"] == "eval_accuracy" for r in records)
    assert any(r["key"] == "eval_error" for r in records)


def test_the_second_invocation_writes_its_own_log_that_passes_and_names_what_it_resumed(runs):
    workload, run_dir, first = runs
    log = run_dir / "events.log"
    assert check_log(log) == []
    assert main([str(log)]) == 0
    records = read_events(log)
    keys = [r["key"] for r in records]
    assert keys.count("run_start") == 1 and keys[0] == "init_start" and keys[-1] == "run_stop"
    assert "epoch_start" not in keys  # nothing was trained again
    (resumed_from,) = [r["value"] for r in records if r["key"] == "resumed_from"]
    assert (run_dir / resumed_from).read_bytes() == first
    ran = {r["metadata"]["stage"]: r["metadata"]["stage_key"] for r in _records(first.decode())
           if r["key"] == "stage_stop"}
    resumed = {r["metadata"]["stage"]: r["metadata"]["stage_key"] for r in records if r["key"] == "stage_resumed"}
    assert resumed == ran and list(resumed) == list(ran)  # every stage, in order, under the key it ran with
    assert {name.split("@")[0] for name in resumed} >= TRAINING_STAGES[workload]


def _stage_blocks(text: str, stage: str) -> tuple[str, str, str]:
    """(before, the lines from the stage's stage_start to its stage_stop, after)."""
    lines = text.splitlines(keepends=True)
    marks = [i for i, line in enumerate(lines) if f'"stage": "{stage}"' in line]
    first, last = marks[0], marks[-1] + 1
    return "".join(lines[:first]), "".join(lines[first:last]), "".join(lines[last:])


def test_several_training_jobs_in_one_log_pass_and_each_is_checked(runs, tmp_path):
    """Training repeated over seeds puts one job per seed in the log, as stage@repeat."""
    workload, _, first = runs
    text = first.decode()
    (stage, *_) = [r["metadata"]["stage"] for r in _records(text) if r["key"] == "stage_start"
                   and r["metadata"]["stage"].split("@")[0] in TRAINING_STAGES[workload]]
    before, job, after = _stage_blocks(text, stage)
    assert '"key": "stage_stop"' in job and '"key": "epoch_start"' in job
    base = stage.split("@")[0]
    copies = [job.replace(f'"stage": "{stage}"', f'"stage": "{base}@copy-{n}"') for n in (1, 2)]
    assert _check_text(tmp_path, before + copies[0] + copies[1] + after) == []
    broken = _drop("eval_samples")(copies[1])
    assert any("eval_samples" in f for f in _check_text(tmp_path, before + copies[0] + broken + after))


def _two_runs(text: str) -> str:
    return text + text


def _drop(key: str):
    return lambda text: "".join(line for line in text.splitlines(keepends=True) if f'"key": "{key}"' not in line)


def _loss_as_accuracy(text: str) -> str:
    return text.replace('"key": "eval_error"', '"key": "eval_accuracy"')


BROKEN = {
    "two runs": (_two_runs, "run_start"),
    "no run_stop": (_drop("run_stop"), "run_stop"),
    "a loss logged as eval_accuracy": (_loss_as_accuracy, "eval_accuracy"),
    "no seed": (_drop("seed"), "seed"),
    "no epoch_stop": (_drop("epoch_stop"), "in_epoch"),
    "no eval_samples": (_drop("eval_samples"), "eval_samples"),
    "no global_batch_size": (_drop("global_batch_size"), "global_batch_size"),
    "an epoch outside its training stage": (_drop("stage_start"), "job"),
}


@pytest.mark.parametrize("breaks,named", BROKEN.values(), ids=BROKEN.keys())
def test_the_real_log_broken_one_way_fails(runs, tmp_path, breaks, named):
    _, _, first = runs
    failures = _check_text(tmp_path, breaks(first.decode()))
    assert failures and any(named in failure for failure in failures), failures
    assert main([str(tmp_path / "events.log")]) == 1


def test_no_log_names_an_absolute_local_path(runs):
    _, run_dir, first = runs
    for text in (first.decode(), (run_dir / "events.log").read_text()):
        assert str(Path.cwd()) not in text and str(run_dir) not in text
