"""Headline numbers of a climate run, for case studies and the whitepaper."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def summarise(run_dir: Path) -> dict[str, Any]:
    results_path = run_dir / json.loads((run_dir / "manifest.json").read_text())["results"]
    results = json.loads(results_path.read_text())
    training = json.loads((results_path.parent.parent / "training" / "training.json").read_text())
    horizon = results["horizon"]
    emulator, persistence, climatology = (results[k] for k in ("emulator", "persistence", "climatology"))
    return {
        "horizon_steps": horizon,
        "lead_time_hours_per_step": results["lead_time_s"] / 3600,
        "held_out_samples": results["samples"],
        "nrmse_lead1": {"emulator": emulator["nrmse"][1], "persistence": persistence["nrmse"][1]},
        "nrmse_horizon": {"emulator": emulator["nrmse"][horizon], "persistence": persistence["nrmse"][horizon],
                          "climatology": climatology["nrmse"][horizon]},
        "acc_h_horizon": {"emulator": emulator["acc"]["h"][horizon], "persistence": persistence["acc"]["h"][horizon]},
        "beats_persistence_at_every_lead": not results["leads_not_beating_persistence"],
        "leads_not_beating_persistence": results["leads_not_beating_persistence"],
        "epochs": len(training["history"]),
        "final_val_loss": training["history"][-1]["val_loss"],
        "parameters": training["parameters"],
    }
