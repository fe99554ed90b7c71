"""The paper's figures, drawn at build time from the stacks and the published results.

Each function writes one PNG and returns its path, or None when its source is not
published (the paper then marks the figure as not yet regenerated). PNG rather than SVG:
text inside a vector figure would be extracted with the page text, and axis ticks are not
numbers the paper states.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402 - the backend must be chosen first

from whitepaper.architecture import Graph  # noqa: E402

DPI = 160
GROUP_ROWS = ("services", "compute")
"""Top-level blocks, top row first: services sit on the compute block they depend on."""
COLOURS = {"compute": "#dce9f5", "services": "#e3f1df"}


def _save(fig: Any, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    # Fixed metadata: the same inputs give the same bytes, so a figure's hash is its identity.
    fig.savefig(path, dpi=DPI, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)
    return path


def architecture(graph: Graph, path: Path) -> Path:
    """One box per component, grouped in rows by block, arrows from dependent to dependency."""
    rows = {g: [c for c in graph.components if c.group == g] for g in GROUP_ROWS}
    width = max(len(r) for r in rows.values())
    fig, ax = plt.subplots(figsize=(7.2, 3.0))
    centre: dict[str, tuple[float, float]] = {}
    box_w, box_h = 0.94, 0.5
    for row_index, g in enumerate(GROUP_ROWS):
        y = (len(GROUP_ROWS) - 1 - row_index) * 1.25
        ax.text(-0.62, y, g, rotation=90, va="center", ha="center", fontsize=8, weight="bold")
        offset = (width - len(rows[g])) / 2
        for i, c in enumerate(rows[g]):
            x = offset + i
            centre[c.name] = (x, y)
            ax.add_patch(plt.Rectangle((x - box_w / 2, y - box_h / 2), box_w, box_h,
                                       facecolor=COLOURS.get(g, "#eeeeee"), edgecolor="#555555",
                                       linewidth=0.6, zorder=2))
            label = c.kind + ("\n" + "\n".join(c.charts) if c.charts else "")
            ax.text(x, y + box_h / 2 - 0.07, label, ha="center", va="top", fontsize=4.3,
                    zorder=3, linespacing=1.15)
    top_row = GROUP_ROWS[0]
    for src, dst in graph.edges:
        (x0, y0), (x1, y1) = centre[src], centre[dst]
        if y0 == y1:  # within a row: leave and enter on the side away from the other row
            side = box_h / 2 if rows[top_row] and src in {c.name for c in rows[top_row]} else -box_h / 2
            start, end = (x0, y0 + side), (x1, y1 + side)
            bend = (-0.4 if side > 0 else 0.4) * (1 if x1 > x0 else -1)
        else:
            down = -1 if y1 < y0 else 1
            start, end = (x0, y0 + down * box_h / 2), (x1, y1 - down * box_h / 2)
            bend = 0.0
        ax.annotate("", xy=end, xytext=start,
                    arrowprops={"arrowstyle": "-|>", "color": "#888888", "lw": 0.5,
                                "connectionstyle": f"arc3,rad={bend}", "shrinkA": 1, "shrinkB": 1},
                    zorder=1)
    ax.set_xlim(-0.8, width - 0.4)
    ax.set_ylim(-1.1, (len(GROUP_ROWS) - 1) * 1.25 + 0.5)
    ax.axis("off")
    return _save(fig, path)


def _seed_results(folder: Path) -> list[dict[str, Any]]:
    return [json.loads(p.read_text(encoding="utf-8")) for p in sorted(folder.glob("seed-*-results.json"))]


BASELINE_STYLES = {"persistence": ("#d62728", "--"), "damped_persistence": ("#ff7f0e", "-."),
                   "climatology": ("#7f7f7f", ":"), "coarse_simulator": ("#2ca02c", "-")}
"""Colour and line style of each baseline the climate evaluation scores."""
BASELINE_LABELS = {"coarse_simulator": "simulator, equal-cost grid"}


def climate_skill(folder: Path, path: Path) -> Path | None:
    """The headline score (anomaly RMSE over the climatological std, mean of h, u, v) against
    lead time: the emulator per seed and every baseline of the first seed (left), and the
    emulator's score over each baseline's per lead and seed (right)."""
    runs = [r for r in _seed_results(folder) if "emulator" in r and "persistence" in r]
    if not runs:
        return None
    fig, (left, right) = plt.subplots(1, 2, figsize=(7.2, 2.5))
    for index, r in enumerate(runs):
        hours = [s * r["lead_time_s"] / 3600 for s in r["lead_steps"]]
        emu = r["emulator"]["rmse_normalised"]
        left.plot(hours, emu, color="#1f77b4", lw=0.8, alpha=0.7)
        for name, (colour, style) in BASELINE_STYLES.items():
            if name not in r:
                continue
            base = r[name]["rmse_normalised"]
            if index == 0:
                left.plot(hours, base, color=colour, lw=0.8, ls=style, label=BASELINE_LABELS.get(name, name.replace("_", " ")))
            ratio = [(h, e / b) for h, e, b in zip(hours, emu, base, strict=True) if b > 0]
            right.plot([h for h, _ in ratio], [q for _, q in ratio], color=colour, lw=0.7, alpha=0.6, ls=style)
    left.plot([], [], color="#1f77b4", label="emulator (one line per seed)")
    left.set(xlabel="lead time (h)", ylabel="anomaly RMSE / clim. std")
    left.legend(fontsize=5.5, frameon=False)
    right.axhline(1.0, color="#000000", lw=0.5)
    right.set_yscale("log")
    right.set(xlabel="lead time (h)", ylabel="emulator / baseline score")
    for ax in (left, right):
        ax.tick_params(labelsize=6)
        ax.xaxis.label.set_size(7)
        ax.yaxis.label.set_size(7)
    return _save(fig, path)


def drug_metrics(summary: Mapping[str, Any] | None, path: Path) -> Path | None:
    """Spearman correlation and R² per task and model, with 95 % intervals over seeds."""
    over = ((summary or {}).get("headline") or {}).get("over_seeds") or {}
    tasks = [t for t in ("physics", "activity") if t in over]
    if not tasks:
        return None
    models = sorted({m for t in tasks for m in over[t]})
    fig, axes = plt.subplots(1, 2, figsize=(7.2, 2.3))
    for ax, metric in zip(axes, ("spearman", "r2"), strict=True):
        for j, model in enumerate(models):
            xs, means, errs = [], [], []
            for i, task in enumerate(tasks):
                stat = over[task].get(model, {}).get(metric)
                if stat is None:
                    continue
                xs.append(i + (j - (len(models) - 1) / 2) * 0.36)
                means.append(stat["mean"])
                lo, hi = stat["interval"]
                errs.append([stat["mean"] - lo, hi - stat["mean"]])
            ax.bar(xs, means, width=0.34, yerr=list(zip(*errs, strict=True)) if errs else None,
                   capsize=2, label=model.replace("_", " "), error_kw={"lw": 0.6})
        ax.set_xticks(range(len(tasks)), tasks, fontsize=7)
        ax.set_ylabel({"spearman": "Spearman correlation", "r2": "R²"}[metric], fontsize=7)
        ax.tick_params(labelsize=6)
    axes[0].legend(fontsize=6, frameon=False)
    return _save(fig, path)


STATUS_ORDER = ("agrees", "DRIFTS", "new")
STATUS_COLOURS = {"agrees": "#2ca02c", "DRIFTS": "#ff7f0e", "new": "#bbbbbb"}


def reproducibility(drift_reports: Mapping[str, Mapping[str, Any]], path: Path) -> Path | None:
    """Per case study and tolerance kind, how many headline numbers the latest regeneration
    reproduced, moved, or added, against the previous published set (its drift report)."""
    bars: list[tuple[str, dict[str, int]]] = []
    for study, report in drift_reports.items():
        kinds: dict[str, dict[str, int]] = {}
        for row in report.get("rows", []):
            kind = str(row.get("tolerance", "")).split(" ", 1)[0] or "?"
            counts = kinds.setdefault(kind, dict.fromkeys(STATUS_ORDER, 0))
            counts[row["status"]] = counts.get(row["status"], 0) + 1
        bars += [(f"{study}: {kind}", counts) for kind, counts in sorted(kinds.items())]
    if not bars:
        return None
    fig, ax = plt.subplots(figsize=(7.2, 0.32 * len(bars) + 0.8))
    labels = [b[0] for b in bars]
    left = [0] * len(bars)
    for status in STATUS_ORDER:
        widths = [b[1].get(status, 0) for b in bars]
        ax.barh(labels, widths, left=left, color=STATUS_COLOURS[status],
                label="drifts beyond tolerance" if status == "DRIFTS" else
                "new (not in the previous set)" if status == "new" else "agrees within tolerance")
        left = [a + w for a, w in zip(left, widths, strict=True)]
    ax.invert_yaxis()
    ax.set_xlabel("headline numbers", fontsize=7)
    ax.tick_params(labelsize=6)
    ax.legend(fontsize=6, frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.35), ncol=3)
    return _save(fig, path)


def drift_reports(casestudies_root: Path, names: Sequence[str]) -> dict[str, dict[str, Any]]:
    reports = {}
    for name in names:
        path = casestudies_root / name / "results" / "drift.json"
        if path.is_file():
            reports[name] = json.loads(path.read_text(encoding="utf-8"))
    return reports
