"""Time scales of a simulated climate, from the statistics every dataset already stores.

The eddy turnover time L / U_rms is the unit in which a rollout's length means something:
persistence keeps skill for a fraction of it, and an emulator that stays correlated for
several is predicting, not copying. L is the forcing scale 1 / k_f (k_f = 2 pi n / ly)
when the run is forced, else the domain scale ly / (2 pi); U_rms is the root mean square
of the stored cell-centre speed over every member, time and cell.
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np

from reference_workloads.climate.simulation.config import SimulationConfig


def eddy_length_scale(config: SimulationConfig) -> float:
    """L in metres: the forcing scale 1 / k_f, or ly / (2 pi) for an unforced run."""
    if config.forcing_amplitude > 0:
        return 1.0 / config.forcing_k
    return config.ly / (2 * math.pi)


def rms_speed(dataset: Any) -> float:
    """U_rms (m/s) from the stored per-(trajectory, time) sums of u^2 and v^2."""
    cells = dataset.sizes["x"] * dataset.sizes["y"]
    squares = np.asarray(dataset["u_sum_sq"].values) + np.asarray(dataset["v_sum_sq"].values)
    return float(math.sqrt(squares.mean() / cells))


def eddy_turnover_time(dataset: Any) -> float:
    """L / U_rms in seconds of a dataset (xarray, as ``dataset.open_dataset`` gives it)."""
    config = SimulationConfig.from_dict(json.loads(dataset.attrs["parameters"]))
    return eddy_length_scale(config) / rms_speed(dataset)


def turnover_times_per_save(dataset: Any) -> float:
    """How many eddy turnover times one saved interval (one emulator step) spans."""
    config = SimulationConfig.from_dict(json.loads(dataset.attrs["parameters"]))
    return config.save_every * config.dt / eddy_turnover_time(dataset)
