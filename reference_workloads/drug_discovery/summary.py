"""Headline numbers of a drug-discovery run, computed from a published results folder alone.

``headline`` is the one definition: publishing writes its output into summary.json and
``ai4s verify`` recomputes it from the published test-set predictions and screening scores.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..core.statistics import PairedComparison, over_seeds, paired_comparison, training_seeds
from ..provenance.layout import published_files
from .active_learning import active_learning_headline
from .evaluate import (
    ENRICHMENT_FRACTIONS,
    hit_curve,
    hit_enrichment,
    hit_threshold,
    is_hit,
    recall_at_fraction,
    regression_metrics,
)

PER_SEED = {"evaluation/results.json": "results.json", "evaluation/test_predictions.parquet": "test_predictions.parquet",
            "evaluation/screen_predictions.parquet": "screen_predictions.parquet"}
FIGURES = {"evaluation/parity.png": "parity.png", "evaluation/enrichment.png": "enrichment.png"}


def published(manifest: dict[str, Any]) -> dict[str, str]:
    """Run-folder path -> published name: every seed's results, test predictions and screening
    scores, the first seed's figures, and the active-learning tables and curve."""
    from .active_learning import FIGURE_FILE, PUBLISHED

    learned = manifest.get("active_learning")
    loop = {f"{learned}/{name}": name for name in (*PUBLISHED, FIGURE_FILE)} if learned else {}
    return published_files(manifest, PER_SEED, FIGURES) | loop


PREDICTIONS = "test_predictions.parquet"

# Metrics come from models trained on CPU with fixed seeds (bitwise on one CPU model, a
# relative band elsewhere); throughputs are wall-clock measurements and vary run to run.
TOLERANCES: dict[str, dict[str, float | str]] = {
    "metrics": {"kind": "rtol", "rtol": 1e-4},
    "splits": {"kind": "bitwise"},
    "physics_target": {"kind": "bitwise"},
    "gnn_vs_baseline": {"kind": "bitwise"},
    "screen.molecules": {"kind": "bitwise"},
    "screen.held_out_molecules": {"kind": "bitwise"},
    "screen.protocol": {"kind": "bitwise"},
    "screen.recall_at_top_fraction": {"kind": "atol", "atol": 0.05},
    "screen.recall_at_top_fraction_held_out": {"kind": "atol", "atol": 0.05},
    "screen.surrogate_molecules_per_second": {"kind": "rtol", "rtol": 0.5},
    "screen.physics_molecules_per_second": {"kind": "rtol", "rtol": 0.5},
    "screen.speedup": {"kind": "rtol", "rtol": 0.5},
    "seeds": {"kind": "bitwise"},
    "n_seeds": {"kind": "bitwise"},
    "margin": {"kind": "bitwise"},
    "comparisons": {"kind": "rtol", "rtol": 1e-3},
    "over_seeds": {"kind": "rtol", "rtol": 1e-3},
    "over_seeds.screen": {"kind": "rtol", "rtol": 0.5},
    "hits": {"kind": "rtol", "rtol": 1e-4},
    # one-thread CPU training per round: bitwise on one CPU model; a relative band elsewhere,
    # and the per-round timings inside are wall clock
    "active_learning": {"kind": "rtol", "rtol": 1e-3},
}
_MEASURED = ("surrogate_molecules_per_second", "physics_molecules_per_second", "speedup")


def model_metrics(test: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """task -> model -> RMSE, R^2, Spearman over the test-set rows of ``test``."""
    metrics: dict[str, dict[str, Any]] = {}
    for (task, model), rows in test.groupby(["task", "model"], sort=False):
        metrics.setdefault(task, {})[model] = regression_metrics(rows["target"].to_numpy(),
                                                                 rows["prediction"].to_numpy())
    return metrics


def gnn_vs_forest(tests: Sequence[pd.DataFrame], task: str, *, min_relative_margin: float) -> PairedComparison:
    """The GNN's absolute error against the random forest's on the same test molecules (one
    table per seed, pairs matched by record), requiring the declared minimum relative margin."""
    model, reference = [], []
    for test in tests:
        rows = test[test["task"] == task].assign(error=lambda t: (t["prediction"] - t["target"]).abs())
        paired = rows.pivot_table(index="record", columns="model", values="error", aggfunc="first").dropna()
        model.append(paired["gnn"].to_numpy())
        reference.append(paired["random_forest"].to_numpy())
    return paired_comparison(np.concatenate(model), np.concatenate(reference),
                             min_relative_margin=min_relative_margin)


def verdict(metrics: dict[str, dict[str, Any]]) -> dict[str, bool]:
    physics, activity = metrics["physics"], metrics["activity"]
    return {
        "physics_gnn_spearman_ge_baseline": physics["gnn"]["spearman"] >= physics["random_forest"]["spearman"],
        "physics_gnn_rmse_le_baseline": physics["gnn"]["rmse"] <= physics["random_forest"]["rmse"],
        "activity_gnn_rmse_le_baseline": activity["gnn"]["rmse"] <= activity["random_forest"]["rmse"],
    }


def screen_predictions(scores: pd.DataFrame, physics_task: pd.DataFrame) -> pd.DataFrame:
    """The screened molecules in scoring order with their physics truth and whether the
    surrogate trained on them (``held_out``: it did not)."""
    task = physics_task.set_index("record")
    joined = scores[["record", "smiles", "predicted"]].assign(
        physics=task.loc[scores["record"], "target"].to_numpy(np.float64),
        held_out=(task.loc[scores["record"], "part"] == "test").to_numpy())
    return joined.reset_index(drop=True)


def docking_hits(test: pd.DataFrame, pool: np.ndarray, *, hit_fraction: float,
                 higher_is_better: bool) -> dict[str, Any]:
    """Enrichment of docking hits on the physics test split: a hit is among the best
    ``hit_fraction`` of docking scores in the whole docked ``pool``; for each model (and a
    random order), recall and enrichment factor at the top 1 % and 5 % of its ranking of the
    test molecules, with the counts they rest on."""
    threshold = hit_threshold(pool, hit_fraction, higher_is_better=higher_is_better)
    rows = test[test["task"] == "physics"]
    result: dict[str, Any] = {"hit_fraction": hit_fraction, "threshold": threshold, "pool_molecules": int(len(pool)),
                              "pool_hits": int(is_hit(pool, threshold, higher_is_better=higher_is_better).sum())}
    for model, group in rows.groupby("model", sort=False):
        hits = is_hit(group["target"].to_numpy(), threshold, higher_is_better=higher_is_better)
        result[model] = {name: hit_enrichment(hits, group["prediction"].to_numpy(), fraction,
                                              higher_is_better=higher_is_better)
                         for name, fraction in ENRICHMENT_FRACTIONS.items()}
    first = next(model for model in rows["model"].unique())
    result["random"] = {name: {"recall": values["random_recall"], "enrichment_factor": 1.0}
                        for name, values in result[first].items()}
    return result


def hit_curves(test: pd.DataFrame, pool: np.ndarray, *, hit_fraction: float,
               higher_is_better: bool) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Each model's enrichment curve of docking hits over the physics test split."""
    threshold = hit_threshold(pool, hit_fraction, higher_is_better=higher_is_better)
    return {model: hit_curve(is_hit(group["target"].to_numpy(), threshold, higher_is_better=higher_is_better),
                             group["prediction"].to_numpy(), higher_is_better=higher_is_better)
            for model, group in test[test["task"] == "physics"].groupby("model", sort=False)}


def _hits(folder: Path, recipe: dict[str, Any], seed: int, test: pd.DataFrame) -> dict[str, Any]:
    pool = pd.read_parquet(folder / f"seed-{seed}-screen_predictions.parquet")["physics"].to_numpy()
    screen = recipe["screen"]
    return docking_hits(test, pool, hit_fraction=screen["hit_fraction"], higher_is_better=screen["higher_is_better"])


def _screen(folder: Path, recipe: dict[str, Any], seed: int) -> dict[str, Any]:
    scores = pd.read_parquet(folder / f"seed-{seed}-screen_predictions.parquet")
    screen = recipe["screen"]
    options = {"higher_is_better": screen["higher_is_better"]}
    truth, predicted = scores["physics"].to_numpy(), scores["predicted"].to_numpy()
    held = scores["held_out"].to_numpy(bool)
    measured = json.loads((folder / f"seed-{seed}-results.json").read_text(encoding="utf-8"))["screen"]
    return {
        "molecules": int(len(scores)),
        "held_out_molecules": int(held.sum()),
        "recall_at_top_fraction": recall_at_fraction(truth, predicted, screen["top_fraction"], **options),
        "recall_at_top_fraction_held_out": (
            recall_at_fraction(truth[held], predicted[held], screen["top_fraction"], **options)
            if held.sum() >= 2 else float("nan")),
        # throughputs are measurements, not functions of the predictions: carried as measured
        **{key: measured[key] for key in _MEASURED},
        "protocol": screen["protocol"],
    }


def _spread(values: list[float]) -> dict[str, Any]:
    """``over_seeds``, or NaNs in its shape when a value is undefined (a test split without a
    docking hit has no recall): the headline says so instead of failing."""
    if all(np.isfinite(values)):
        return over_seeds(values)
    return {"n": len(values), "mean": float("nan"), "std": None, "olympic_mean": None,
            "interval": [float("nan"), float("nan")], "confidence": None}


def _mean_tree(trees: list[Any]) -> Any:
    """The element-wise mean of equally shaped metric trees; strings and booleans must agree."""
    head = trees[0]
    if isinstance(head, dict):
        return {k: _mean_tree([t[k] for t in trees]) for k in head}
    if isinstance(head, bool) or not isinstance(head, int | float) or all(t == head for t in trees):
        return head  # counts such as the test-set size stay integers
    return float(np.mean([float(t) for t in trees]))


def headline(folder: Path) -> dict[str, Any]:
    """The headline of the results folder ``folder``, from every seed's predictions and the manifest.

    Point values are means over training seeds; ``over_seeds`` gives spread and 95 % intervals
    of each test metric, and ``comparisons`` the paired GNN-vs-forest test per task over test
    molecules x seeds with the margin the recipe declares.
    """
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    recipe = manifest["recipe"]
    seeds = training_seeds(manifest)
    tests = [pd.read_parquet(folder / f"seed-{s}-{PREDICTIONS}") for s in seeds]
    per_seed = [model_metrics(t) for t in tests]
    metrics = _mean_tree(per_seed)
    screens = [_screen(folder, recipe, s) for s in seeds]
    margin = recipe["repeats"]["margin"]
    spread = {task: {model: {name: over_seeds([m[task][model][name] for m in per_seed])
                             for name, value in values.items() if name != "n"}
                     for model, values in models.items()}
              for task, models in metrics.items()}
    spread["screen"] = {key: over_seeds([s[key] for s in screens])
                        for key in ("recall_at_top_fraction", "speedup", "surrogate_molecules_per_second")}
    hits = [_hits(folder, recipe, s, t) for s, t in zip(seeds, tests, strict=True)]
    spread["hits"] = {model: {fraction: {name: _spread([h[model][fraction][name] for h in hits])
                                         for name in ("recall", "enrichment_factor")}
                              for fraction in ENRICHMENT_FRACTIONS}
                      for model in hits[0] if isinstance(hits[0][model], dict) and model != "random"}
    return {
        "seeds": seeds,
        "n_seeds": len(seeds),
        "margin": margin,
        "metrics": metrics,
        "splits": {"physics": recipe["train"]["physics_split"], "activity": recipe["train"]["activity_split"]},
        "physics_target": recipe["train"]["physics_target"],
        "gnn_vs_baseline": verdict(metrics),
        "comparisons": {f"{task}_gnn_vs_forest_abs_error": gnn_vs_forest(tests, task, min_relative_margin=margin).as_dict()
                        for task in metrics},
        "over_seeds": spread,
        "screen": _mean_tree(screens),
        "hits": _mean_tree(hits),
        **({"active_learning": active_learning_headline(folder)} if "active_learning" in manifest else {}),
    }
