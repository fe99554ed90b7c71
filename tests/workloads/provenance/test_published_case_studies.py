"""The committed case studies, as a reader gets them: every crate passes roc-validator,
`ai4s verify` finds nothing (checksums, manifest against content, the headline recomputed
from the published predictions), and the README is the one the results render."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reference_workloads.provenance.readme import README, TEMPLATE, render
from reference_workloads.provenance.validation import validate_crate
from reference_workloads.provenance.verify import verify

CASE_STUDIES = Path(__file__).resolve().parents[3] / "casestudies"
STUDIES = ["climate", "drug-discovery"]


@pytest.mark.parametrize("study", STUDIES)
def test_the_published_crate_passes_roc_validator(study: str) -> None:
    assert validate_crate(CASE_STUDIES / study / "results", severity="RECOMMENDED") == []


@pytest.mark.parametrize("study", STUDIES)
def test_ai4s_verify_finds_nothing_in_the_published_results(study: str) -> None:
    assert verify(CASE_STUDIES / study / "results") == []


@pytest.mark.parametrize("study", STUDIES)
def test_the_published_headline_comes_from_the_laptop_recipe_over_five_seeds(study: str) -> None:
    summary = json.loads((CASE_STUDIES / study / "results" / "summary.json").read_text())
    assert summary["recipe"] == "laptop" and summary["headline"]["n_seeds"] >= 5
    assert summary["identifier"].startswith(f"ai4s:{summary['workload']}:")
    assert "+dirty" not in summary["code_version"]


@pytest.mark.parametrize("study", STUDIES)
def test_the_readme_is_rendered_from_the_published_summary(study: str) -> None:
    folder = CASE_STUDIES / study
    summary = json.loads((folder / "results" / "summary.json").read_text())
    assert (folder / README).read_text().split("\n", 1)[1] == render((folder / TEMPLATE).read_text(), summary)
