"""The active-learning curve: hits found against docking calls, one band per strategy over repeats."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from reference_workloads.core.atomic import atomic_path  # noqa: E402

COLOURS = {"gnn": "tab:blue", "forest": "tab:green", "random": "tab:grey"}


def plot_curves(table: pd.DataFrame, path: Path, *, hit_percent: float) -> None:
    """Mean hits per round with the min-max band over repeats (the round table's rows)."""
    figure, axis = plt.subplots(figsize=(5.5, 4.0))
    for strategy, frame in table.groupby("strategy"):
        by_round = frame.groupby("round").agg(calls=("calls", "mean"), mean=("hits", "mean"),
                                              low=("hits", "min"), high=("hits", "max"))
        colour = COLOURS.get(str(strategy))
        axis.plot(by_round["calls"], by_round["mean"], marker="o", color=colour,
                  label=f"{strategy} ({frame['repeat'].nunique()} repeats)")
        axis.fill_between(by_round["calls"], by_round["low"], by_round["high"], color=colour, alpha=0.2)
    axis.set_xlabel("docking calls")
    axis.set_ylabel(f"hits found (best {hit_percent:g} % of the pool)")
    axis.set_title("mean over repeats; band: min to max", fontsize=9)
    axis.legend()
    axis.grid(alpha=0.3)
    with atomic_path(path) as tmp:
        figure.savefig(tmp, format="png", dpi=110, bbox_inches="tight")
    plt.close(figure)
