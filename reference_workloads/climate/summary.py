"""Headline numbers of a climate run, computed from a published results folder alone.

``headline`` is the one definition: publishing writes its output into summary.json and
``ai4s verify`` recomputes it from the published per-sample errors and compares.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..core.statistics import PairedComparison, paired_comparison
from .evaluate import beats_persistence, score_errors

# run-folder path -> published name: what a results folder must hold for ``headline``
PUBLISHED = {
    "manifest.json": "manifest.json",
    "events.log": "events.log",
    "training/training.json": "training.json",
    "evaluation/results.json": "results.json",
    "evaluation/sample_errors.json": "sample_errors.json",
    "evaluation/skill_vs_lead.png": "skill_vs_lead.png",
    "evaluation/snapshots.png": "snapshots.png",
}
PREDICTIONS = "sample_errors.json"

# How far a regenerated value may move and still count as the same result. The simulation
# and training are bitwise on one CPU model; across x86-64 CPUs float rounding in vectorised
# maths moves them by ~1e-8 (see casestudies/README.md), so skill scores get a relative band
# and counts, which must not move at all, are bitwise.
TOLERANCES: dict[str, dict[str, float | str]] = {
    "horizon_steps": {"kind": "bitwise"},
    "lead_time_hours_per_step": {"kind": "bitwise"},
    "held_out_samples": {"kind": "bitwise"},
    "parameters": {"kind": "bitwise"},
    "epochs": {"kind": "bitwise"},
    "beats_persistence_at_every_lead": {"kind": "bitwise"},
    "leads_not_beating_persistence": {"kind": "bitwise"},
    "nrmse_lead1": {"kind": "rtol", "rtol": 1e-4},
    "nrmse_horizon": {"kind": "rtol", "rtol": 1e-4},
    "acc_h_horizon": {"kind": "rtol", "rtol": 1e-4},
    "final_val_loss": {"kind": "rtol", "rtol": 1e-3},
}


def _read(folder: Path, name: str) -> Any:
    return json.loads((folder / name).read_text(encoding="utf-8"))


def headline(folder: Path) -> dict[str, Any]:
    """The headline of the results folder ``folder``, from its per-sample errors, manifest
    (for the recipe) and training record."""
    recipe = _read(folder, "manifest.json")["recipe"]
    training = _read(folder, "training.json")
    results = score_errors(_read(folder, PREDICTIONS))
    horizon = recipe["eval"]["horizon"]
    sim = recipe["simulation"]
    emulator, persistence, climatology = (results[k] for k in ("emulator", "persistence", "climatology"))
    behind = beats_persistence(results, horizon)
    return {
        "horizon_steps": horizon,
        "lead_time_hours_per_step": sim["dt"] * sim["save_every"] / 3600,
        "held_out_samples": results["samples"],
        "nrmse_lead1": {"emulator": emulator["nrmse"][1], "persistence": persistence["nrmse"][1]},
        "nrmse_horizon": {"emulator": emulator["nrmse"][horizon], "persistence": persistence["nrmse"][horizon],
                          "climatology": climatology["nrmse"][horizon]},
        "acc_h_horizon": {"emulator": emulator["acc"]["h"][horizon],
                          "persistence": persistence["acc"]["h"][horizon]},
        "beats_persistence_at_every_lead": not behind,
        "leads_not_beating_persistence": behind,
        "epochs": len(training["history"]),
        "final_val_loss": training["history"][-1]["val_loss"],
        "parameters": training["parameters"],
    }


def per_sample_nrmse(errors: dict[str, Any], predictor: str, lead: int) -> np.ndarray:
    """(sample,) nRMSE of each held-out forecast at ``lead``, averaged over the variables;
    its mean over samples is the headline nRMSE at that lead."""
    sse = np.asarray(errors[f"{predictor}_sse"], dtype=np.float64)[:, lead]
    norm = np.sqrt(np.asarray(errors["truth_sq"], dtype=np.float64)[:, lead])
    return np.mean(np.sqrt(sse) / np.maximum(norm, 1e-12), axis=1)


def beats_baseline(errors_by_seed: Sequence[dict[str, Any]], *, lead: int, min_relative_margin: float,
                   baseline: str = "persistence") -> PairedComparison:
    """The emulator against ``baseline`` over every held-out forecast of every seed (matched
    pairs: the same truth), requiring the declared minimum relative margin."""
    model = np.concatenate([per_sample_nrmse(e, "emulator", lead) for e in errors_by_seed])
    reference = np.concatenate([per_sample_nrmse(e, baseline, lead) for e in errors_by_seed])
    return paired_comparison(model, reference, min_relative_margin=min_relative_margin)
