"""The published case studies as the result checks read them: found under the context's
case-study root, their headline recomputed from the saved predictions (never read from
summary.json alone), and `ai4s verify` run over their crate. Each expensive step runs once
per context and folder."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..registry import Context, skipped

CLIMATE, DRUG = "climate", "drug-discovery"


def regenerate_command(name: str) -> str:
    return f"ai4s casestudies --only {name}"


def results_folder(context: Context, name: str) -> Path:
    return context.casestudies_root / name / "results"


def published(context: Context) -> dict[str, Path]:
    """Case-study name -> results folder, for every folder holding a summary.json."""
    return {p.parent.parent.name: p.parent
            for p in sorted(context.casestudies_root.glob("*/results/summary.json"))}


def read_json(folder: Path, name: str) -> dict[str, Any] | None:
    path = folder / name
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def not_regenerated(context: Context, name: str) -> Any:
    return skipped(f"no results for case study {name!r} under {context.casestudies_root}; "
                   f"run `{regenerate_command(name)}`")


def recomputed_headline(context: Context, folder: Path) -> dict[str, Any]:
    """The headline the published predictions give, by the workload's own summary code
    (the manifest names the workload); raises what that code raises on broken files."""
    def make() -> dict[str, Any]:
        from reference_workloads.provenance.publish import summary_module

        manifest = read_json(folder, "manifest.json")
        if manifest is None:
            raise FileNotFoundError(f"no manifest.json in {folder}")
        # through JSON, as summary.json holds it: tuples become lists, NaN stays NaN
        computed = summary_module(manifest.get("workload", "")).headline(folder)
        return json.loads(json.dumps(computed))
    return context.cached(f"casestudy.headline:{folder}", make)


def verify_problems(context: Context, folder: Path) -> list[str]:
    """`ai4s verify` of the folder: checksums, manifest against content, headline recomputed."""
    def make() -> list[str]:
        from reference_workloads.provenance.verify import verify

        return verify(folder)
    return context.cached(f"casestudy.verify:{folder}", make)


def declared_margin(summary: dict[str, Any]) -> float:
    """The margin the recipe book declares for the recipe (and overrides) the summary names."""
    from reference_workloads.climate.recipes import book as climate_book
    from reference_workloads.drug_discovery.recipes import book as drug_book

    books = {CLIMATE: climate_book, DRUG: drug_book}
    workload = summary.get("workload")
    if workload not in books:
        raise ValueError(f"summary workload={workload!r} is invalid: expected one of {', '.join(books)}")
    return float(books[workload].get(summary["recipe"], summary.get("overrides") or []).repeats.margin)
