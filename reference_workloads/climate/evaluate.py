"""Skill of the emulator on held-out trajectories, against persistence and climatology.

Metrics per lead time, as WeatherBench 2 and PDEBench define them:
- RMSE per variable in physical units (area-weighted trivially: the grid is uniform);
- anomaly correlation (ACC) against the training climatology, per variable;
- nRMSE (PDEBench): ||prediction - truth||_2 / ||truth||_2 per sample and variable, then
  averaged over samples and variables.

Every metric is computed from per-sample error sums (``sample_errors``), which the evaluate
stage publishes, so the headline can be recomputed from the published results alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from .emulator.data import VARIABLES
from .emulator.model import FourierNeuralOperator


@dataclass(frozen=True, slots=True)
class Forecasts:
    """Forecast and truth arrays shaped (sample, lead, channel, y, x), lead 0 = initial state."""

    truth: np.ndarray
    emulator: np.ndarray
    persistence: np.ndarray
    climatology: np.ndarray


def start_times(n_times: int, horizon: int, per_trajectory: int) -> list[int]:
    """Evenly spaced forecast start times that leave room for the whole horizon."""
    last = n_times - 1 - horizon
    if last < 0:
        raise ValueError(f"eval.horizon={horizon} is invalid: expected at most {n_times - 1} (saved steps - 1)")
    return sorted({int(round(t)) for t in np.linspace(0, last, per_trajectory)})


def forecast(model: FourierNeuralOperator, test_states: np.ndarray, climatology: np.ndarray,
             horizon: int, starts_per_trajectory: int) -> Forecasts:
    """Roll the emulator out from several start times of each held-out trajectory."""
    starts = start_times(test_states.shape[1], horizon, starts_per_trajectory)
    truth = np.stack([test_states[i, t : t + horizon + 1] for i in range(test_states.shape[0]) for t in starts])
    initial = torch.from_numpy(np.ascontiguousarray(truth[:, 0]))
    rolled = model.rollout(initial, horizon).numpy().transpose(1, 0, 2, 3, 4)
    persistence = np.repeat(truth[:, :1], horizon + 1, axis=1)
    clim = np.broadcast_to(climatology, truth.shape)
    return Forecasts(truth=truth, emulator=rolled, persistence=persistence, climatology=clim)


def rmse(prediction: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """(lead, channel) root mean square error over samples and grid points."""
    return np.sqrt(np.mean((prediction - truth) ** 2, axis=(0, 3, 4), dtype=np.float64))


def anomaly_correlation(prediction: np.ndarray, truth: np.ndarray, climatology: np.ndarray) -> np.ndarray:
    """(lead, channel) uncentred anomaly correlation, pooled over samples (WeatherBench 2)."""
    fa = prediction - climatology
    oa = truth - climatology
    numerator = np.sum(fa * oa, axis=(0, 3, 4), dtype=np.float64)
    denominator = np.sqrt(np.sum(fa**2, axis=(0, 3, 4), dtype=np.float64) * np.sum(oa**2, axis=(0, 3, 4), dtype=np.float64))
    return np.divide(numerator, denominator, out=np.zeros_like(numerator), where=denominator > 0)


def nrmse(prediction: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """(lead,) PDEBench nRMSE: per-sample, per-variable normalised L2 error, then averaged."""
    error = np.sqrt(np.sum((prediction - truth) ** 2, axis=(3, 4), dtype=np.float64))
    norm = np.sqrt(np.sum(truth**2, axis=(3, 4), dtype=np.float64))
    return np.mean(error / np.maximum(norm, 1e-12), axis=(0, 2))


PREDICTORS = ("emulator", "persistence", "climatology")


def sample_errors(forecasts: Forecasts) -> dict[str, Any]:
    """Per-sample sums that every metric is made of, each shaped (sample, lead, channel).

    ``<predictor>_sse``: sum over the grid of (prediction - truth)^2; ``truth_sq``: of truth^2;
    ``<predictor>_cross`` / ``<predictor>_anomaly_sq``: of (prediction - clim)(truth - clim) and
    (prediction - clim)^2; ``truth_anomaly_sq``: of (truth - clim)^2; ``truth_spread``: the
    standard deviation of the truth per channel; ``grid_points``: ny * nx.
    """
    grid = (3, 4)
    truth = forecasts.truth
    truth_anomaly = truth - forecasts.climatology
    errors: dict[str, Any] = {
        "variables": list(VARIABLES),
        "grid_points": int(truth.shape[3] * truth.shape[4]),
        "truth_sq": np.sum(truth**2, axis=grid, dtype=np.float64),
        "truth_anomaly_sq": np.sum(truth_anomaly**2, axis=grid, dtype=np.float64),
        "truth_spread": np.std(truth, axis=(0, 1, 3, 4), dtype=np.float64),
    }
    for name in PREDICTORS:
        prediction = getattr(forecasts, name)
        anomaly = prediction - forecasts.climatology
        errors[f"{name}_sse"] = np.sum((prediction - truth) ** 2, axis=grid, dtype=np.float64)
        errors[f"{name}_cross"] = np.sum(anomaly * truth_anomaly, axis=grid, dtype=np.float64)
        errors[f"{name}_anomaly_sq"] = np.sum(anomaly**2, axis=grid, dtype=np.float64)
    return errors


def score_errors(errors: dict[str, Any]) -> dict[str, Any]:
    """All metrics for the emulator and both baselines from ``sample_errors``, as JSON-ready
    lists indexed by lead."""
    variables = list(errors["variables"])
    truth_sq = np.asarray(errors["truth_sq"], dtype=np.float64)
    samples, leads, _ = truth_sq.shape
    spread = np.maximum(np.asarray(errors["truth_spread"], dtype=np.float64), 1e-12)
    oa_sq = np.sum(np.asarray(errors["truth_anomaly_sq"], dtype=np.float64), axis=0)
    results: dict[str, Any] = {"variables": variables, "lead_steps": list(range(leads))}
    for name in PREDICTORS:
        sse = np.asarray(errors[f"{name}_sse"], dtype=np.float64)
        per_var_rmse = np.sqrt(np.sum(sse, axis=0) / (samples * errors["grid_points"]))
        numerator = np.sum(np.asarray(errors[f"{name}_cross"], dtype=np.float64), axis=0)
        denominator = np.sqrt(np.sum(np.asarray(errors[f"{name}_anomaly_sq"], dtype=np.float64), axis=0) * oa_sq)
        acc = np.divide(numerator, denominator, out=np.zeros_like(numerator), where=denominator > 0)
        per_sample_nrmse = np.sqrt(sse) / np.maximum(np.sqrt(truth_sq), 1e-12)
        results[name] = {
            "rmse": {v: per_var_rmse[:, i].tolist() for i, v in enumerate(variables)},
            "acc": {v: acc[:, i].tolist() for i, v in enumerate(variables)},
            "nrmse": np.mean(per_sample_nrmse, axis=(0, 2)).tolist(),
            "rmse_normalised": np.mean(per_var_rmse / spread, axis=1).tolist(),
        }
    results["samples"] = int(samples)
    return results


def score(forecasts: Forecasts) -> dict[str, Any]:
    """All metrics for the emulator and both baselines, as JSON-ready lists indexed by lead."""
    return score_errors(sample_errors(forecasts))


def errors_as_json(errors: dict[str, Any]) -> dict[str, Any]:
    return {k: v.tolist() if isinstance(v, np.ndarray) else v for k, v in errors.items()}


def beats_persistence(results: dict[str, Any], horizon: int) -> list[int]:
    """Lead steps 1..horizon where the emulator's normalised RMSE is NOT below persistence's."""
    emulator = results["emulator"]["rmse_normalised"]
    persistence = results["persistence"]["rmse_normalised"]
    return [lead for lead in range(1, horizon + 1) if not emulator[lead] < persistence[lead]]
