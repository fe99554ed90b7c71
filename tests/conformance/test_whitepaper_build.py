"""The whitepaper build: every placeholder replaced, numbers equal to the JSON they came
from, missing results marked instead of invented."""

from __future__ import annotations

import json
import re

import pytest

from conformance.catalogue import load
from infra.versions import PINS
from whitepaper import build as wp

CLIMATE = {
    "case_study": "climate", "recipe": "laptop", "regenerated": "2026-11-22T10:00:00+00:00",
    "code_version": "0123456789abcdef", "hashes": {"dataset_hash": "d" * 64, "model_hash": "e" * 64,
                                                  "config_hash": "f" * 64},
    "headline": {"horizon_steps": 12, "lead_time_hours_per_step": 0.6667, "held_out_samples": 16,
                 "nrmse_lead1": {"emulator": 0.0123456, "persistence": 0.0456789},
                 "nrmse_horizon": {"emulator": 0.1111111, "persistence": 0.2987654, "climatology": 0.41},
                 "acc_h_horizon": {"emulator": 0.97531, "persistence": 0.8},
                 "beats_persistence_at_every_lead": True, "leads_not_beating_persistence": [],
                 "epochs": 16, "final_val_loss": 0.001, "parameters": 123456},
}
DRUG_RESULTS = {"metrics": {
    "physics": {"gnn": {"spearman": 0.8123, "rmse": 1.2345, "r2": 0.66},
                "random_forest": {"spearman": 0.7456, "rmse": 1.5, "r2": 0.55}},
    "activity": {"gnn": {"spearman": 0.5, "rmse": 0.9, "r2": 0.3},
                 "random_forest": {"spearman": 0.52, "rmse": 0.88, "r2": 0.31}}}}


@pytest.fixture
def studies(tmp_path):
    root = tmp_path / "casestudies"
    climate = root / "climate" / "results"
    climate.mkdir(parents=True)
    (climate / "summary.json").write_text(json.dumps(CLIMATE))
    (climate / "skill_vs_lead.png").write_bytes(b"\x89PNG fake")
    drug = root / "drug-discovery" / "results"
    drug.mkdir(parents=True)
    (drug / "summary.json").write_text(json.dumps({**CLIMATE, "case_study": "drug-discovery",
                                                   "headline": {"results": ["results.json"]}}))
    (drug / "results.json").write_text(json.dumps(DRUG_RESULTS))
    return root


def table_rows(markdown: str, first_header: str) -> list[list[str]]:
    """Body rows of the first markdown table whose header starts with `first_header`."""
    lines = markdown.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"| {first_header} |"))
    rows = []
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        rows.append([c.strip() for c in line.strip("|").split(" | ")])
    return rows


def test_build_with_results_replaces_every_placeholder_with_the_summary_numbers(tmp_path, studies):
    files = wp.build(tmp_path / "out", wp.Sources(casestudies_root=studies))
    text = files["markdown"].read_text()
    assert "{{" not in text
    assert text.count("not yet regenerated") == 3  # only the three figures not published here
    skill = {row[0]: row[1:] for row in table_rows(text, "metric")}
    h = CLIMATE["headline"]
    assert [float(v) for v in skill["nRMSE, lead 12 (horizon)"]] == pytest.approx(
        [h["nrmse_horizon"][k] for k in ("emulator", "persistence", "climatology")], rel=1e-3)
    assert skill["nRMSE, lead 1"][:2] == [wp.number(h["nrmse_lead1"]["emulator"]),
                                          wp.number(h["nrmse_lead1"]["persistence"])]
    assert float(skill["ACC of h, lead 12"][0]) == pytest.approx(h["acc_h_horizon"]["emulator"], rel=1e-3)
    assert f"normalised RMSE is {wp.number(h['nrmse_horizon']['emulator'])} against" in text
    drug = {(r[0], r[1]): r[2:] for r in table_rows(text, "task")}
    for task, models in DRUG_RESULTS["metrics"].items():
        for model, m in models.items():
            assert [float(v) for v in drug[(task, model)]] == pytest.approx(
                [m["spearman"], m["rmse"], m["r2"]], rel=1e-3)
    studies_rows = {r[0]: r for r in table_rows(text, "case study")}
    assert studies_rows["climate"][1:] == ["laptop", CLIMATE["regenerated"], "0123456789ab", "d" * 12, "e" * 12]
    # a published figure is copied and linked; an unpublished one is marked
    assert (tmp_path / "out" / "figures" / "climate-skill_vs_lead.png").read_bytes() == b"\x89PNG fake"
    assert "](figures/climate-skill_vs_lead.png)" in text
    assert "Emulator rollout against the simulation: *(not yet regenerated" in text


def test_build_without_results_marks_them_and_invents_nothing(tmp_path):
    files = wp.build(tmp_path / "out", wp.Sources(casestudies_root=tmp_path / "none"))
    text = files["markdown"].read_text()
    assert "{{" not in text
    for row in table_rows(text, "case study"):
        assert "not yet regenerated: run `ai4s casestudies --only" in row[1]
        assert not any(re.search(r"\d", cell) for cell in row[2:])
    assert "normalised RMSE is *(not yet regenerated" in text
    assert not (tmp_path / "out" / "figures").exists()


def test_catalogue_and_versions_tables_are_complete(tmp_path):
    text = wp.build(tmp_path / "out", wp.Sources(casestudies_root=tmp_path / "none"))["markdown"].read_text()
    catalogue = load()
    rows = table_rows(text, "id")
    assert [r[0] for r in rows] == [r.id for r in catalogue.requirements]
    assert [r[1] for r in rows] == [r.level for r in catalogue.requirements]
    quality = next(r for r in rows if r[0] == "AI4S-QUAL-001")
    assert quality[-1] == "statistical; target leads_not_beating_persistence == 0"
    versions = table_rows(text, "key")
    assert [(r[0], r[3]) for r in versions] == [(p.key, p.version) for p in PINS]


def test_html_is_written_with_real_tables(tmp_path, studies):
    html = wp.build(tmp_path / "out", wp.Sources(casestudies_root=studies))["html"].read_text()
    assert html.startswith("<!doctype html>")
    assert html.count("<table>") >= 5 and "{{" not in html
    assert "<h1" in html and "ai4s-kit: a cloud-native reference architecture" in html


@pytest.mark.parametrize("source, message", [
    ("{{table:nope}}", "placeholder table:nope is unknown"),
    ("{{figure:nope}}", "placeholder figure:nope is unknown"),
    ("{{value:climate:headline.nope}}", "climate summary has no 'headline.nope'"),
    ("{{value:weather:x}}", "expected value:<case study>:<dotted.path>"),
    ("{{table casestudies}}", "is malformed"),
])
def test_bad_placeholders_are_errors(tmp_path, studies, source, message):
    path = tmp_path / "source.md"
    path.write_text(f"# t\n\n{source}\n")
    with pytest.raises(ValueError, match=re.escape(message)):
        wp.build(tmp_path / "out", wp.Sources(casestudies_root=studies), source=path)
    assert not (tmp_path / "out" / "whitepaper.md").exists()


def test_cli_writes_the_default_files(tmp_path, capsys):
    assert wp.main(["--out", str(tmp_path / "cli"), "--casestudies", str(tmp_path / "none")]) == 0
    assert {p.name for p in (tmp_path / "cli").iterdir()} == {"whitepaper.md", "whitepaper.html"}
    assert "none (run `ai4s casestudies`)" in capsys.readouterr().out


def test_conformance_results_table_comes_from_a_results_json(tmp_path):
    from conformance import evidence, runner
    from conformance.registry import Context, failed, passed, skipped

    catalogue = load()
    picked = [catalogue.get(i) for i in ("AI4S-PLAT-001", "AI4S-QUAL-001", "AI4S-QUAL-002")]
    checks = {"AI4S-PLAT-001": lambda _: passed("renders"), "AI4S-QUAL-001": lambda _: skipped("no results"),
              "AI4S-QUAL-002": lambda _: failed("below forest")}
    outcomes = runner.run(picked, Context(work_dir=tmp_path, log=lambda _: None), checks=checks)
    files = evidence.write(tmp_path / "conf", catalogue, outcomes, code_version="cafe" * 10,
                           options={"quick": True, "kubeconfig": False})
    sources = wp.Sources(casestudies_root=tmp_path / "none", conformance_results=files["results"])
    text = wp.build(tmp_path / "out", sources)["markdown"].read_text()
    rows = table_rows(text, "id")  # the catalogue table comes first; find the results table after it
    results = table_rows(text[text.index("The latest run of the suite"):], "id")
    assert len(rows) == len(catalogue.requirements)
    assert [(r[0], r[2], r[3]) for r in results] == [
        ("AI4S-PLAT-001", "passed", "renders"), ("AI4S-QUAL-001", "skipped", "no results"),
        ("AI4S-QUAL-002", "failed", "below forest")]
    assert "on code cafecafecafe with --quick, without a cluster: 1 passed, 1 failed, 1 skipped, 0 unknown." in text
    missing = wp.build(tmp_path / "out2", wp.Sources(casestudies_root=tmp_path / "none",
                                                     conformance_results=tmp_path / "nope.json"))
    assert "conformance not yet run: `nox -s conformance`" in missing["markdown"].read_text()
