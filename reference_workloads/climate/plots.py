"""Figures of the climate workload: skill against lead time, and forecast snapshots."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from ..core.atomic import atomic_path  # noqa: E402

_STYLE = {"emulator": "C0", "persistence": "C1", "climatology": "C2"}


def _save(figure: Any, path: Path) -> None:
    with atomic_path(path) as tmp:
        figure.savefig(tmp, format="png", dpi=110, bbox_inches="tight")
    plt.close(figure)


def plot_skill(results: dict[str, Any], path: Path) -> None:
    """nRMSE, RMSE of h and ACC of h against lead time for the emulator and both baselines.

    Errors are drawn on a log scale from lead 1 (lead 0 is the exact initial state), so the
    emulator and persistence stay apart next to the much larger climatology error.
    """
    hours = [lead * results["lead_time_s"] / 3600 for lead in results["lead_steps"]]
    figure, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    for name, colour in _STYLE.items():
        axes[0].plot(hours[1:], results[name]["nrmse"][1:], color=colour, marker=".", label=name)
        axes[1].plot(hours[1:], results[name]["rmse"]["h"][1:], color=colour, marker=".", label=name)
        axes[2].plot(hours, results[name]["acc"]["h"], color=colour, marker=".", label=name)
    for axis, title in zip(axes, ("nRMSE (PDEBench), log", "RMSE of h (m), log", "ACC of h"), strict=True):
        axis.set_title(title)
        axis.set_xlabel("lead time (h)")
        axis.grid(alpha=0.3, which="both")
    axes[0].set_yscale("log")
    axes[1].set_yscale("log")
    axes[0].legend()
    _save(figure, path)


def plot_snapshots(forecasts: Any, horizon: int, path: Path) -> None:
    """Surface height of the first held-out sample: simulation (top) vs emulator (bottom)."""
    leads = sorted({0, horizon // 2, horizon})
    figure, axes = plt.subplots(2, len(leads), figsize=(3.6 * len(leads), 6.4))
    truth, emulator = forecasts.truth[0, :, 0], forecasts.emulator[0, :, 0]
    low, high = truth[leads].min(), truth[leads].max()
    for column, lead in enumerate(leads):
        for row, (label, field) in enumerate((("simulation", truth), ("emulator", emulator))):
            image = axes[row, column].imshow(field[lead], origin="lower", vmin=low, vmax=high, cmap="viridis")
            axes[row, column].set_title(f"{label}, lead {lead}")
            axes[row, column].set_xticks([])
            axes[row, column].set_yticks([])
    figure.colorbar(image, ax=axes, shrink=0.8, label="h (m)")
    _save(figure, path)
