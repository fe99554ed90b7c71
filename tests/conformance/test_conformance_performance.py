"""AI4S-PERF: the catalogue's targets applied to small bench result files of the contracted
format; a figure below target fails, anything not measured here and now is `unknown`."""

from __future__ import annotations

import json
import platform

import pytest

from conformance.catalogue import load
from conformance.checks import performance
from conformance.registry import Status

from .helpers import context

CODE = "c0de" * 10


def bench_doc(value, *, requirement="AI4S-PERF-006", metric="mpi_strong_scaling_efficiency_2",
              gpu=None, host=None, code=CODE, interval=(0.7, 0.8), repeats=5):
    return {"code_version": code, "machine": {"host": host or platform.node(), "cpu": "test cpu", "cores": 2,
                                              "gpu": gpu},
            "started": "2026-12-01T10:00:00+00:00", "ended": "2026-12-01T10:01:00+00:00",
            "results": [{"requirement": requirement, "metric": metric, "value": value, "unit": "",
                         "interval": list(interval) if interval else None, "interval_kind": "t95",
                         "repeats": repeats, "met": True, "why": None}]}


def decide(doc, rid="AI4S-PERF-006"):
    return performance.perf_verdict(load().get(rid), doc, code_version=CODE, host=platform.node())


def test_a_figure_meeting_the_target_passes_and_one_below_fails():
    assert decide(bench_doc(0.75)).status is Status.PASSED
    below = decide(bench_doc(0.41, interval=(0.38, 0.44)))
    # the bench said met: true; the verdict is the catalogue's, not the bench's
    assert below.status is Status.FAILED and below.evidence["bench_met"] is True
    assert "misses mpi_strong_scaling_efficiency_2 >= 0.6" in below.message


def test_an_upper_bound_target_reads_its_op_from_the_catalogue():
    doc = bench_doc(0.05, requirement="AI4S-PERF-002", metric="ddp_instrumentation_overhead")
    assert decide(doc, "AI4S-PERF-002").status is Status.FAILED  # 5 % > 3 %
    doc["results"][0]["value"] = 0.01
    assert decide(doc, "AI4S-PERF-002").status is Status.PASSED


@pytest.mark.parametrize("doc, why", [
    (None, "no bench result"),
    (bench_doc(0.75, code="other"), "the bench result is of code other"),
    (bench_doc(0.75, host="elsewhere"), "the bench ran on host 'elsewhere'"),
    (bench_doc(0.75, requirement="AI4S-PERF-001"), "has 0 results for AI4S-PERF-006"),
    (bench_doc(0.75, metric="speed"), "reports metric 'speed'"),
    (bench_doc(None), "measured no value"),
    (bench_doc(0.75, gpu="NVIDIA H200", interval=None), "needs an interval over at least two repeats"),
])
def test_results_not_of_this_code_and_machine_are_unknown(doc, why):
    result = decide(doc)
    assert result.status is Status.UNKNOWN and why in result.message


def test_a_gpu_figure_names_the_device():
    result = decide(bench_doc(0.75, gpu="NVIDIA H200"))
    assert result.status is Status.PASSED and "on NVIDIA H200" in result.message


def test_the_registered_check_reads_the_file_of_the_context(tmp_path, monkeypatch):
    path = tmp_path / "results.json"
    path.write_text(json.dumps(bench_doc(0.3)))
    monkeypatch.setattr("reference_workloads.core.manifest.code_version", lambda *a: CODE)
    result = performance.performance(context(tmp_path, bench_results=path), "AI4S-PERF-006")
    assert result.status is Status.FAILED
    missing = performance.performance(context(tmp_path, bench_results=tmp_path / "none.json"), "AI4S-PERF-006")
    assert missing.status is Status.UNKNOWN and "nox -s bench" in missing.message
