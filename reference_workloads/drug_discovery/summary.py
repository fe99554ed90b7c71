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
from .evaluate import recall_at_fraction, regression_metrics

PER_SEED = {"evaluation/results.json": "results.json", "evaluation/test_predictions.parquet": "test_predictions.parquet",
            "evaluation/screen_predictions.parquet": "screen_predictions.parquet"}
FIGURES = {"evaluation/parity.png": "parity.png", "evaluation/enrichment.png": "enrichment.png"}


def published(manifest: dict[str, Any]) -> dict[str, str]:
    """Run-folder path -> published name: every seed's results, test predictions and screening
    scores, and the first seed's figures."""
    return published_files(manifest, PER_SEED, FIGURES)


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
    }
