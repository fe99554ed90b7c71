"""CITATION.cff against the CFF 1.2.0 schema; the drift rules; the climate metrics from
per-sample errors against their direct definitions; paths made relative."""

from __future__ import annotations

import math

import numpy as np
import pytest

from reference_workloads.climate.evaluate import (
    Forecasts,
    anomaly_correlation,
    nrmse,
    rmse,
    score,
)
from reference_workloads.provenance.citation import citation_problems
from reference_workloads.provenance.drift import drift_rows, tolerance_for, within
from reference_workloads.provenance.paths import REPO, relative_to_run


def test_the_repository_citation_file_is_valid_cff():
    assert citation_problems(REPO / "CITATION.cff") == []


@pytest.mark.parametrize("edit, problem", [
    (lambda t: t.replace("cff-version: 1.2.0", "cff-version: 1.1.0"), "cff-version"),
    (lambda t: t.replace("authors:", "writers:"), "'authors' is a required property"),
    (lambda t: t + "doi: not-a-doi\n", "doi"),
    (lambda t: t + "colour: blue\n", "'colour' was unexpected"),
])
def test_a_broken_citation_file_fails(tmp_path, edit, problem):
    broken = tmp_path / "CITATION.cff"
    broken.write_text(edit((REPO / "CITATION.cff").read_text()))
    assert any(problem in p for p in citation_problems(broken)), citation_problems(broken)


TOLERANCES = {"nrmse": {"kind": "rtol", "rtol": 1e-4}, "screen.recall": {"kind": "atol", "atol": 0.05},
              "epochs": {"kind": "bitwise"}}


def test_a_number_takes_the_tolerance_of_its_closest_declared_parent():
    assert tolerance_for("nrmse.emulator", TOLERANCES) == {"kind": "rtol", "rtol": 1e-4}
    assert tolerance_for("screen.recall", TOLERANCES)["kind"] == "atol"
    assert tolerance_for("screen.speedup", TOLERANCES) == {"kind": "bitwise"}  # undeclared: bitwise


def test_tolerances_admit_what_they_declare_and_nothing_more():
    rtol = {"kind": "rtol", "rtol": 1e-4}
    assert within(1.0, 1.0 + 5e-5, rtol) and not within(1.0, 1.0 + 2e-4, rtol)
    assert within(0.5, 0.54, {"kind": "atol", "atol": 0.05}) and not within(0.5, 0.56, {"kind": "atol", "atol": 0.05})
    assert not within(1.0, 1.0 + 1e-15, {"kind": "bitwise"})
    assert within(math.nan, math.nan, rtol) and not within(math.nan, 1.0, rtol)
    assert not within([1], [2], rtol)  # lists are compared exactly


def test_drift_rows_flag_moved_new_and_gone_numbers():
    rows = drift_rows({"nrmse": {"emulator": 0.1}, "epochs": 3, "old": 1},
                      {"nrmse": {"emulator": 0.2}, "epochs": 3, "new": 1}, TOLERANCES)
    assert {r["number"]: r["status"] for r in rows} == {"nrmse.emulator": "DRIFTS", "epochs": "agrees",
                                                         "old": "gone", "new": "new"}


def test_metrics_from_per_sample_errors_equal_their_direct_definitions():
    rng = np.random.default_rng(0)
    truth = rng.normal(10.0, 1.0, size=(4, 3, 3, 8, 8)).astype(np.float32)
    emulator = truth + rng.normal(0.0, 0.1, size=truth.shape).astype(np.float32)
    climatology = np.broadcast_to(truth.mean(axis=(0, 1)), truth.shape)
    persistence = np.repeat(truth[:, :1], 3, axis=1)
    results = score(Forecasts(truth=truth, emulator=emulator, persistence=persistence, climatology=climatology,
                              damped_persistence=persistence), np.ones(3))
    np.testing.assert_allclose(results["emulator"]["nrmse"], nrmse(emulator, truth), rtol=1e-12)
    np.testing.assert_allclose(results["emulator"]["rmse"]["h"], rmse(emulator, truth)[:, 0], rtol=1e-12)
    np.testing.assert_allclose(results["emulator"]["acc"]["u"],
                               anomaly_correlation(emulator, truth, climatology)[:, 1], rtol=1e-12)
    assert results["persistence"]["nrmse"][0] == 0.0 and results["samples"] == 4


def test_local_paths_become_relative_to_the_run_folder(tmp_path):
    run_dir = tmp_path / "runs" / "climate" / "ci_tiny"
    manifest = {"results": f"{run_dir}/evaluation/results.json",
                "tracking": {"tracking_uri": f"sqlite:///{run_dir.parent}/mlflow/mlflow.db"},
                "source": f"{REPO}/reference_workloads", "seeds": [1, 2]}
    assert relative_to_run(manifest, run_dir) == {
        "results": "evaluation/results.json", "tracking": {"tracking_uri": "sqlite:///../mlflow/mlflow.db"},
        "source": "reference_workloads", "seeds": [1, 2]}


def test_publishing_a_run_folder_without_its_predictions_names_what_is_missing(tmp_path):
    from reference_workloads.provenance.publish import publish

    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "manifest.json").write_text('{"workload": "climate", "repeats": [{"seed": 3, "folder": "repeats/seed-3"}]}')
    with pytest.raises(FileNotFoundError, match="lacks events.log, repeats/seed-3/training/training.json, "
                                                "repeats/seed-3/evaluation/results.json, "
                                                "repeats/seed-3/evaluation/sample_errors.json"):
        publish(run_dir, tmp_path / "out", name="climate", command="c", overrides=[], code_version="v")
    assert not (tmp_path / "out").exists()


def test_verify_names_a_crate_without_checksums_as_the_kit_wrote_it_before(tmp_path):
    from reference_workloads.provenance.verify import file_problems

    (tmp_path / "results.json").write_text("{}")
    graph = {"results.json": {"@id": "results.json", "@type": "File", "name": "results.json"}}
    assert file_problems(tmp_path, graph) == ["results.json: the crate records no sha256",
                                              "results.json: the crate records no contentSize"]


def _errors(noise, seed=0):
    from reference_workloads.climate.evaluate import errors_as_json, sample_errors

    rng = np.random.default_rng(seed)
    truth = rng.normal(10.0, 1.0, size=(6, 3, 3, 8, 8)).astype(np.float32)
    drift = np.cumsum(rng.normal(0.0, 0.3, size=truth.shape).astype(np.float32), axis=1)
    truth = truth[:, :1] + drift  # a truth that moves away from its initial state
    persistence = np.repeat(truth[:, :1], 3, axis=1)
    emulator = truth + noise * (persistence - truth)
    climatology = np.broadcast_to(truth.mean(axis=(0, 1)), truth.shape)
    return errors_as_json(sample_errors(Forecasts(truth=truth, emulator=emulator, persistence=persistence,
                                                  climatology=climatology, damped_persistence=persistence),
                                        np.ones(3)))


def test_the_paired_skill_test_over_seeds_uses_the_published_per_sample_errors():
    from reference_workloads.climate.evaluate import per_sample_score, score_errors
    from reference_workloads.climate.summary import beats_baseline

    errors = _errors(noise=0.5)
    # unit anomaly scales and one sample: the per-sample score is rmse_normalised
    one = {**errors, **{k: [v[0]] for k, v in errors.items() if k.endswith(("_sse", "_sq", "_cross"))}}
    assert per_sample_score(one, "emulator", 2)[0] == pytest.approx(score_errors(one)["emulator"]["rmse_normalised"][2])
    seeds = [_errors(noise=0.5, seed=s) for s in range(3)]
    better = beats_baseline(seeds, lead=2, min_relative_margin=0.2)
    assert better.n == 18 and better.passes and better.relative_improvement == pytest.approx(0.5, rel=0.05)
    assert not beats_baseline(seeds, lead=2, min_relative_margin=0.6).passes  # margin beyond the gain
    tie = [_errors(noise=1.0, seed=s) for s in range(3)]  # the emulator is persistence
    assert not beats_baseline(tie, lead=2, min_relative_margin=0.0).passes


def test_an_interval_drifts_element_by_element_under_its_tolerance():
    from reference_workloads.provenance.drift import within

    band = {"kind": "rtol", "rtol": 0.5}
    assert within([40.0, 88.0], [47.0, 106.0], band)  # each end within 50 %
    assert not within([40.0, 88.0], [47.0, 200.0], band)
    assert not within([40.0, 88.0], [40.0], band)
    assert not within([40.0, 88.0], [40.0, 88.1], {"kind": "bitwise"})


def test_an_installed_kit_without_citation_cff_names_the_same_author(tmp_path):
    # publishing from a wheel install has no source tree: the package metadata must answer,
    # and say what CITATION.cff says
    from reference_workloads.provenance.publish import contributors

    assert contributors(tmp_path / "CITATION.cff") == contributors()
