"""Quality targets, statistical: each reads the paired comparison over held-out samples x
training seeds that the published predictions recompute to, with the margin the recipe
book declares for the published recipe. The recorded headline must agree with the
recomputed one (a summary edited by hand fails here), and a tie never passes. Missing
results are `skipped` with the command that makes them, never invented."""

from __future__ import annotations

import json
from typing import Any

from ..catalogue import Requirement, load
from ..registry import Context, Result, check, failed, verdict
from .casestudy import (
    declared_margin,
    not_regenerated,
    read_json,
    recomputed_headline,
    results_folder,
)

MARGIN_TOLERANCE = 1e-12


def same(a: Any, b: Any) -> bool:
    """Equal as JSON renders them, so NaN equals NaN (summary.json holds NaN where a metric has none)."""
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def comparison_problems(recorded: dict[str, Any] | None, computed: dict[str, Any] | None,
                        declared: float) -> list[str]:
    """Why a paired comparison does not carry a 'beats' claim (empty: it does)."""
    if computed is None:
        return ["the published predictions give no such comparison"]
    problems = []
    if abs(float(computed["required_margin"]) - declared) > MARGIN_TOLERANCE:
        problems.append(f"comparison uses margin {computed['required_margin']}, the recipe declares {declared}")
    low = computed["interval"][0]
    if not (computed["passes"] and low > 0):
        problems.append(f"improvement interval {computed['interval']} does not clear the margin "
                        f"{computed['required_margin']} (relative improvement "
                        f"{computed['relative_improvement']:.4g})")
    if not same(recorded, computed):
        problems.append(f"summary.json records {recorded}, the published predictions give {computed}")
    return problems


def paired_quality(context: Context, requirement: Requirement) -> Result:
    name, key = requirement.parameters["case_study"], requirement.parameters["comparison"]
    folder = results_folder(context, name)
    summary = read_json(folder, "summary.json")
    if summary is None:
        return not_regenerated(context, name)
    try:
        computed = recomputed_headline(context, folder)
    except (KeyError, OSError, ValueError) as err:
        return failed(f"{name}: the headline cannot be recomputed from the published files: "
                      f"{type(err).__name__}: {err}")
    recorded_headline = summary.get("headline")
    if not isinstance(recorded_headline, dict):
        return failed(f"{name}: summary.json has no headline; the published predictions give one",
                      computed=computed.get("comparisons", {}).get(key))
    recorded = (recorded_headline.get("comparisons") or {}).get(key)
    comparison = (computed.get("comparisons") or {}).get(key)
    declared = declared_margin(summary)
    problems = comparison_problems(recorded, comparison, declared)
    differing = sorted(k for k in computed if not same(recorded_headline.get(k), computed[k]))
    if differing:
        problems.append(f"summary.json headline differs from the recomputed one at {differing}")
    target = requirement.target
    clears = int(not problems)
    return verdict(target.met_by(clears),
                   f"{name}: {key} clears the declared margin {declared:g} over "
                   f"{comparison and comparison['n']} paired samples x seeds",
                   f"{name}: {'; '.join(problems)}",
                   target=str(target), measured={target.metric: clears}, comparison=comparison,
                   declared_margin=declared, seeds=computed.get("seeds"),
                   over_seeds=computed.get("over_seeds"),
                   leads_not_beating_persistence=computed.get("leads_not_beating_persistence"),
                   recipe=summary.get("recipe"), code_version=summary.get("code_version"))


@check("AI4S-QUAL-001")
def climate_beats_persistence(context: Context) -> Result:
    return paired_quality(context, load().get("AI4S-QUAL-001"))


@check("AI4S-QUAL-002")
def drug_gnn_vs_forest(context: Context) -> Result:
    return paired_quality(context, load().get("AI4S-QUAL-002"))
