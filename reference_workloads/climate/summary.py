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

from ..core.statistics import PairedComparison, mean, over_seeds, paired_comparison, training_seeds
from ..provenance.layout import published_files
from .evaluate import score_errors

PER_SEED = {"training/training.json": "training.json", "evaluation/results.json": "results.json",
            "evaluation/sample_errors.json": "sample_errors.json"}
FIGURES = {"evaluation/skill_vs_lead.png": "skill_vs_lead.png", "evaluation/snapshots.png": "snapshots.png"}


def published(manifest: dict[str, Any]) -> dict[str, str]:
    """Run-folder path -> published name: what a results folder must hold for ``headline``:
    every seed's training record, results and per-sample errors, and the first seed's figures."""
    return published_files(manifest, PER_SEED, FIGURES)


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
    "seeds": {"kind": "bitwise"},
    "n_seeds": {"kind": "bitwise"},
    "margin": {"kind": "bitwise"},
    "over_seeds": {"kind": "rtol", "rtol": 1e-3},
    "comparisons": {"kind": "rtol", "rtol": 1e-3},
    "comparisons.emulator_vs_persistence_at_horizon.passes": {"kind": "bitwise"},
    "comparisons.emulator_vs_climatology_at_horizon.passes": {"kind": "bitwise"},
}


def _read(folder: Path, name: str) -> Any:
    return json.loads((folder / name).read_text(encoding="utf-8"))


def headline(folder: Path) -> dict[str, Any]:
    """The headline of the results folder ``folder``, from every seed's per-sample errors, the
    manifest (recipe, seeds) and the training records.

    Point values are means over seeds; ``over_seeds`` gives their spread and intervals, and
    ``comparisons`` the paired tests over held-out forecasts x seeds that a 'beats' claim rests
    on, with the margin the recipe declares.
    """
    manifest = _read(folder, "manifest.json")
    recipe = manifest["recipe"]
    seeds = training_seeds(manifest)
    errors = [_read(folder, f"seed-{s}-{PREDICTIONS}") for s in seeds]
    training = [_read(folder, f"seed-{s}-training.json") for s in seeds]
    scored = [score_errors(e) for e in errors]
    horizon = recipe["eval"]["horizon"]
    margin = recipe["repeats"]["margin"]
    sim = recipe["simulation"]

    def emulator(metric: str, lead: int) -> list[float]:
        return [r["emulator"][metric][lead] if metric == "nrmse" else r["emulator"][metric]["h"][lead] for r in scored]

    first = scored[0]  # the baselines do not depend on the training seed
    comparisons = {
        f"emulator_vs_{baseline}_at_horizon": beats_baseline(errors, lead=horizon, min_relative_margin=margin,
                                                            baseline=baseline).as_dict()
        for baseline in ("persistence", "climatology")
    }
    behind = [lead for lead in range(1, horizon + 1)
              if not beats_baseline(errors, lead=lead, min_relative_margin=margin).passes]
    val_losses = [t["history"][-1]["val_loss"] for t in training]
    return {
        "seeds": seeds,
        "n_seeds": len(seeds),
        "horizon_steps": horizon,
        "lead_time_hours_per_step": sim["dt"] * sim["save_every"] / 3600,
        "held_out_samples": first["samples"],
        "margin": margin,
        "nrmse_lead1": {"emulator": mean(emulator("nrmse", 1)), "persistence": first["persistence"]["nrmse"][1]},
        "nrmse_horizon": {"emulator": mean(emulator("nrmse", horizon)),
                          "persistence": first["persistence"]["nrmse"][horizon],
                          "climatology": first["climatology"]["nrmse"][horizon]},
        "acc_h_horizon": {"emulator": mean(emulator("acc", horizon)),
                          "persistence": first["persistence"]["acc"]["h"][horizon]},
        "over_seeds": {"nrmse_lead1_emulator": over_seeds(emulator("nrmse", 1)),
                       "nrmse_horizon_emulator": over_seeds(emulator("nrmse", horizon)),
                       "acc_h_horizon_emulator": over_seeds(emulator("acc", horizon)),
                       "final_val_loss": over_seeds(val_losses)},
        "comparisons": comparisons,
        "beats_persistence_at_every_lead": not behind,
        "leads_not_beating_persistence": behind,
        "epochs": len(training[0]["history"]),
        "final_val_loss": mean(val_losses),
        "parameters": training[0]["parameters"],
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
