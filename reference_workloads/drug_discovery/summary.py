"""Headline numbers of a drug-discovery run, for case studies and the whitepaper."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

_SCREEN_KEYS = (
    "molecules", "held_out_molecules", "recall_at_top_fraction", "recall_at_top_fraction_held_out",
    "surrogate_molecules_per_second", "physics_molecules_per_second", "speedup", "protocol",
)


def summarise(run_dir: Path) -> dict[str, Any]:
    results = json.loads((run_dir / "results.json").read_text())
    screen = results["screen"]
    return {
        "metrics": results["metrics"],
        "splits": results["splits"],
        "physics_target": results["physics_target"],
        "gnn_vs_baseline": results["gnn_vs_baseline"],
        "screen": {key: screen[key] for key in _SCREEN_KEYS if key in screen},
    }
