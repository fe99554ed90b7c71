"""Figures of the drug-discovery workload: parity plots and the docking-hit enrichment curves."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from reference_workloads.core.atomic import atomic_path  # noqa: E402


def _save(figure: Any, path: Path) -> None:
    with atomic_path(path) as tmp:
        figure.savefig(tmp, format="png", dpi=110, bbox_inches="tight")
    plt.close(figure)


def plot_parity(panels: dict[str, dict[str, Any]], path: Path) -> None:
    """One panel per (task, model): held-out truth against prediction, with the metrics.

    ``panels`` maps a title to {"truth", "predicted", "metrics", "unit"}.
    """
    figure, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 4.0), squeeze=False)
    for axis, (title, panel) in zip(axes[0], panels.items(), strict=True):
        truth, predicted = np.asarray(panel["truth"]), np.asarray(panel["predicted"])
        low, high = float(min(truth.min(), predicted.min())), float(max(truth.max(), predicted.max()))
        axis.plot([low, high], [low, high], color="0.6", linewidth=1)
        axis.scatter(truth, predicted, s=8, alpha=0.6)
        m = panel["metrics"]
        axis.set_title(f"{title}\nRMSE {m['rmse']:.3g}  R² {m['r2']:.2f}  ρ {m['spearman']:.2f}", fontsize=9)
        axis.set_xlabel(f"measured / physics ({panel['unit']})")
        axis.set_ylabel("predicted")
    figure.tight_layout()
    _save(figure, path)


def plot_enrichment(screened: list[float], found: list[float], top_fraction: float, path: Path) -> None:
    """Share of physics hits found against share of the library screened in surrogate order."""
    figure, axis = plt.subplots(figsize=(4.5, 4.0))
    axis.plot(screened, found, label="surrogate order")
    axis.plot([0, 1], [0, 1], color="0.6", linestyle="--", label="random order")
    ideal = min(1.0, top_fraction)
    axis.plot([0, ideal, 1], [0, 1, 1], color="0.3", linestyle=":", label="perfect order")
    axis.set_xlabel("fraction of library screened")
    axis.set_ylabel(f"fraction of physics top {top_fraction:.0%} found")
    axis.set_xscale("symlog", linthresh=0.01)
    axis.legend(fontsize=8)
    _save(figure, path)


def plot_hit_enrichment(curves: dict[str, tuple[Any, Any]], hit_fraction: float, pool_hits: int, path: Path) -> None:
    """Share of the test split's docking hits found against share of it taken in each model's
    order (a hit: among the best ``hit_fraction`` of docking scores in the docked pool)."""
    figure, axis = plt.subplots(figsize=(4.8, 4.0))
    for label, (screened, found) in curves.items():
        axis.plot(screened, found, label=f"{label} order")
    axis.plot([0, 1], [0, 1], color="0.6", linestyle="--", label="random order")
    for fraction in (0.01, 0.05):
        axis.axvline(fraction, color="0.85", linewidth=0.8)
    axis.set_xlabel("fraction of test molecules taken")
    axis.set_ylabel(f"fraction of docking hits found (best {hit_fraction:.0%} of the pool, {pool_hits} hits)")
    axis.set_xscale("symlog", linthresh=0.01)
    axis.legend(fontsize=8)
    _save(figure, path)
