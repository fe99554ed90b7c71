"""Skill of the emulator on held-out trajectories, against persistence, climatology, damped
persistence and the simulator on a coarser grid.

Metrics per lead time and variable:
- RMSE on anomalies against the training climatology, normalised by the climatological
  anomaly standard deviation of that variable (1 is the error of climatology itself for an
  unbiased climate): the headline score, comparable across h, u and v;
- anomaly correlation (ACC) against the training climatology (WeatherBench 2);
- nRMSE exactly as PDEBench's ``metric_func`` computes ``err_nMSE``: per sample, variable and
  time the spatial RMS of the error over the spatial RMS of the target, then means over
  samples (and, for the scalar, over variables and leads). For h that divides by the ~h0 mean
  depth, so it is reported as PDEBench's number, not used for claims.

Every metric is computed from per-sample error sums (``sample_errors``), which the evaluate
stage publishes, so the headline can be recomputed from the published results alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from .baselines import damped_persistence
from .emulator.data import VARIABLES
from .emulator.model import FourierNeuralOperator


@dataclass(frozen=True, slots=True)
class Forecasts:
    """Forecast and truth arrays shaped (sample, lead, channel, y, x), lead 0 = initial state;
    ``coarse_simulator`` is None where no coarse run was made."""

    truth: np.ndarray
    emulator: np.ndarray
    persistence: np.ndarray
    climatology: np.ndarray
    damped_persistence: np.ndarray
    coarse_simulator: np.ndarray | None = None


def start_times(n_times: int, horizon: int, per_trajectory: int) -> list[int]:
    """Evenly spaced forecast start times that leave room for the whole horizon."""
    last = n_times - 1 - horizon
    if last < 0:
        raise ValueError(f"eval.horizon={horizon} is invalid: expected at most {n_times - 1} (saved steps - 1)")
    return sorted({int(round(t)) for t in np.linspace(0, last, per_trajectory)})


def forecast_starts(test_states: np.ndarray, horizon: int, starts_per_trajectory: int) -> np.ndarray:
    """Truth windows (sample, lead, channel, y, x) from several start times of each held-out
    trajectory."""
    starts = start_times(test_states.shape[1], horizon, starts_per_trajectory)
    return np.stack([test_states[i, t : t + horizon + 1] for i in range(test_states.shape[0]) for t in starts])


def emulate(model: FourierNeuralOperator, initial: np.ndarray, steps: int) -> np.ndarray:
    """(sample, lead, channel, y, x) emulator rollout from ``initial`` (sample, channel, y, x)."""
    with torch.no_grad():
        rolled = model.rollout(torch.from_numpy(np.ascontiguousarray(initial)), steps)
    return rolled.numpy().transpose(1, 0, 2, 3, 4)


def forecast(model: FourierNeuralOperator, test_states: np.ndarray, climatology: np.ndarray,
             horizon: int, starts_per_trajectory: int, lag_correlation: np.ndarray | None = None,
             coarse_simulator: np.ndarray | None = None) -> Forecasts:
    """Roll the emulator out from several start times of each held-out trajectory, next to
    the baselines; ``lag_correlation`` (lead, channel) comes from the training members (no
    damping, i.e. persistence, when None)."""
    truth = forecast_starts(test_states, horizon, starts_per_trajectory)
    rolled = emulate(model, truth[:, 0], horizon)
    persistence = np.repeat(truth[:, :1], horizon + 1, axis=1)
    clim = np.broadcast_to(climatology, truth.shape)
    if lag_correlation is None:
        lag_correlation = np.ones((horizon + 1, truth.shape[2]))
    damped = damped_persistence(truth[:, 0], climatology, lag_correlation[: horizon + 1])
    return Forecasts(truth=truth, emulator=rolled, persistence=persistence, climatology=clim,
                     damped_persistence=damped, coarse_simulator=coarse_simulator)


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


def pdebench_nrmse_by_variable(prediction: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """(lead, channel) PDEBench ``err_nMSE`` before its final mean: per sample, channel and
    time sqrt(mean over space of (pred - target)^2) / sqrt(mean over space of target^2), then
    the mean over samples."""
    error = np.sqrt(np.mean((prediction - truth) ** 2, axis=(3, 4), dtype=np.float64))
    norm = np.sqrt(np.mean(truth**2, axis=(3, 4), dtype=np.float64))
    return np.mean(error / norm, axis=0)


def nrmse(prediction: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """(lead,) PDEBench nRMSE per lead: ``pdebench_nrmse_by_variable`` averaged over channels."""
    return np.mean(pdebench_nrmse_by_variable(prediction, truth), axis=1)


def normalised_anomaly_rmse(prediction: np.ndarray, truth: np.ndarray, anomaly_std: np.ndarray) -> np.ndarray:
    """(lead, channel) RMSE over samples and grid points, divided by the climatological
    anomaly standard deviation of each channel (the anomaly error equals the state error:
    both subtract the same climatology)."""
    return rmse(prediction, truth) / anomaly_std[None, :]


PREDICTORS = ("emulator", "persistence", "climatology", "damped_persistence", "coarse_simulator")


def sample_errors(forecasts: Forecasts, anomaly_std: np.ndarray) -> dict[str, Any]:
    """Per-sample sums that every metric is made of, each shaped (sample, lead, channel).

    ``predictors``: those present; ``anomaly_std``: the training climatology's anomaly
    standard deviation per channel, the per-variable scale of the headline score.

    ``<predictor>_sse``: sum over the grid of (prediction - truth)^2; ``truth_sq``: of truth^2;
    ``<predictor>_cross`` / ``<predictor>_anomaly_sq``: of (prediction - clim)(truth - clim) and
    (prediction - clim)^2; ``truth_anomaly_sq``: of (truth - clim)^2; ``grid_points``: ny * nx.
    """
    grid = (3, 4)
    truth = forecasts.truth
    climatology = np.broadcast_to(forecasts.climatology, truth.shape)
    truth_anomaly = truth - climatology
    present = [name for name in PREDICTORS if getattr(forecasts, name) is not None]
    errors: dict[str, Any] = {
        "variables": list(VARIABLES),
        "predictors": present,
        "anomaly_std": np.asarray(anomaly_std, dtype=np.float64),
        "grid_points": int(truth.shape[3] * truth.shape[4]),
        "truth_sq": np.sum(truth**2, axis=grid, dtype=np.float64),
        "truth_anomaly_sq": np.sum(truth_anomaly**2, axis=grid, dtype=np.float64),
    }
    for name in present:
        prediction = np.broadcast_to(getattr(forecasts, name), truth.shape)
        anomaly = prediction - climatology
        errors[f"{name}_sse"] = np.sum((prediction - truth) ** 2, axis=grid, dtype=np.float64)
        errors[f"{name}_cross"] = np.sum(anomaly * truth_anomaly, axis=grid, dtype=np.float64)
        errors[f"{name}_anomaly_sq"] = np.sum(anomaly**2, axis=grid, dtype=np.float64)
    return errors


def per_sample_score(errors: dict[str, Any], predictor: str, lead: int) -> np.ndarray:
    """(sample,) headline score of each held-out forecast at ``lead``: its RMSE over the grid
    per variable divided by that variable's climatological anomaly std, averaged over the
    variables. Its mean over samples is ``rmse_normalised`` at that lead up to the order of
    the root and the mean (the paired tests use these per-sample values)."""
    sse = np.asarray(errors[f"{predictor}_sse"], dtype=np.float64)[:, lead]
    scale = np.maximum(np.asarray(errors["anomaly_std"], dtype=np.float64), 1e-30)
    return np.mean(np.sqrt(sse / errors["grid_points"]) / scale, axis=1)


def score_errors(errors: dict[str, Any]) -> dict[str, Any]:
    """All metrics for the emulator and every baseline from ``sample_errors``, as JSON-ready
    lists indexed by lead."""
    variables = list(errors["variables"])
    truth_sq = np.asarray(errors["truth_sq"], dtype=np.float64)
    samples, leads, _ = truth_sq.shape
    scale = np.maximum(np.asarray(errors["anomaly_std"], dtype=np.float64), 1e-30)
    oa_sq = np.sum(np.asarray(errors["truth_anomaly_sq"], dtype=np.float64), axis=0)
    results: dict[str, Any] = {"variables": variables, "lead_steps": list(range(leads)),
                               "predictors": list(errors["predictors"])}
    for name in errors["predictors"]:
        sse = np.asarray(errors[f"{name}_sse"], dtype=np.float64)
        per_var_rmse = np.sqrt(np.sum(sse, axis=0) / (samples * errors["grid_points"]))
        numerator = np.sum(np.asarray(errors[f"{name}_cross"], dtype=np.float64), axis=0)
        denominator = np.sqrt(np.sum(np.asarray(errors[f"{name}_anomaly_sq"], dtype=np.float64), axis=0) * oa_sq)
        acc = np.divide(numerator, denominator, out=np.zeros_like(numerator), where=denominator > 0)
        # sqrt(sse / n) / sqrt(truth_sq / n): PDEBench's ratio of spatial RMS values
        pdebench = np.mean(np.sqrt(sse) / np.maximum(np.sqrt(truth_sq), 1e-30), axis=0)
        normalised = per_var_rmse / scale
        results[name] = {
            "rmse": {v: per_var_rmse[:, i].tolist() for i, v in enumerate(variables)},
            "rmse_anomaly_normalised": {v: normalised[:, i].tolist() for i, v in enumerate(variables)},
            "acc": {v: acc[:, i].tolist() for i, v in enumerate(variables)},
            "nrmse_pdebench": {v: pdebench[:, i].tolist() for i, v in enumerate(variables)},
            "nrmse": np.mean(pdebench, axis=1).tolist(),
            "rmse_normalised": np.mean(normalised, axis=1).tolist(),
            # PDEBench's scalar err_nMSE: the mean over channels and every predicted time
            "nrmse_pdebench_all_leads": float(np.mean(pdebench[1:])) if leads > 1 else 0.0,
        }
    results["samples"] = int(samples)
    return results


def score(forecasts: Forecasts, anomaly_std: np.ndarray) -> dict[str, Any]:
    """All metrics for the emulator and every baseline, as JSON-ready lists indexed by lead."""
    return score_errors(sample_errors(forecasts, anomaly_std))


PUBLISHED_DIGITS = 9
"""Significant digits of the published per-sample sums: sums of float32 fields carry about
seven, and the headline is computed from the published (rounded) values, at publication and
by ``ai4s verify`` alike; the rounding keeps the committed results folder small."""


def _rounded(values: np.ndarray) -> Any:
    flat = [float(f"{x:.{PUBLISHED_DIGITS}g}") for x in np.asarray(values, dtype=np.float64).ravel()]
    return np.asarray(flat).reshape(np.shape(values)).tolist()


def errors_as_json(errors: dict[str, Any]) -> dict[str, Any]:
    return {k: _rounded(v) if isinstance(v, np.ndarray) else v for k, v in errors.items()}


def beats_persistence(results: dict[str, Any], horizon: int) -> list[int]:
    """Lead steps 1..horizon where the emulator's anomaly-normalised RMSE is NOT below
    persistence's."""
    emulator = results["emulator"]["rmse_normalised"]
    persistence = results["persistence"]["rmse_normalised"]
    return [lead for lead in range(1, horizon + 1) if not emulator[lead] < persistence[lead]]
