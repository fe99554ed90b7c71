"""Figures of the climate workload: skill against lead time, and forecast snapshots."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from ..core.atomic import atomic_path  # noqa: E402

_STYLE = {"emulator": "C0", "persistence": "C1", "climatology": "C2", "damped_persistence": "C3",
          "coarse_simulator": "C4"}


def _save(figure: Any, path: Path) -> None:
    with atomic_path(path) as tmp:
        figure.savefig(tmp, format="png", dpi=110, bbox_inches="tight")
    plt.close(figure)


def plot_skill(results: dict[str, Any], path: Path) -> None:
    """Per variable, the anomaly RMSE over the climatological anomaly std (top) and the anomaly
    correlation (bottom) against lead time, for the emulator and every baseline."""
    hours = [lead * results["lead_time_s"] / 3600 for lead in results["lead_steps"]]
    variables = results["variables"]
    figure, axes = plt.subplots(2, len(variables), figsize=(4.3 * len(variables), 7), squeeze=False)
    for name in results["predictors"]:
        colour = _STYLE.get(name, "k")
        for column, variable in enumerate(variables):
            axes[0, column].plot(hours[1:], results[name]["rmse_anomaly_normalised"][variable][1:], color=colour,
                                 marker=".", label=name.replace("_", " "))
            axes[1, column].plot(hours, results[name]["acc"][variable], color=colour, marker=".")
    for column, variable in enumerate(variables):
        axes[0, column].set_title(f"RMSE of {variable} / climatological std")
        axes[1, column].set_title(f"anomaly correlation of {variable}")
        for row in range(2):
            axes[row, column].set_xlabel("lead time (h)")
            axes[row, column].grid(alpha=0.3, which="both")
    axes[0, 0].legend(fontsize=8)
    _save(figure, path)


def plot_spectra(climate: dict[str, Any], path: Path) -> None:
    """Time-mean isotropic kinetic-energy spectra of the free rollouts: simulator and emulator."""
    figure, axis = plt.subplots(figsize=(5.5, 4))
    for name, colour in (("simulator", "k"), ("emulator", _STYLE["emulator"])):
        spectrum = climate[name]["ke_spectrum"]
        if spectrum is not None:
            axis.loglog(range(1, len(spectrum)), spectrum[1:], color=colour, marker=".", label=name)
    axis.set_xlabel("wave number (per domain length)")
    axis.set_ylabel("E(k) (m^2 s^-2)")
    axis.set_title(f"KE spectrum over {climate['steps']} saved steps")
    axis.grid(alpha=0.3, which="both")
    axis.legend()
    _save(figure, path)


def plot_energy(climate: dict[str, Any], path: Path) -> None:
    """Domain energy of every free rollout against time, with the stability band."""
    figure, axis = plt.subplots(figsize=(7, 4))
    hours = [(step + 1) * climate["lead_time_s"] / 3600 for step in range(climate["steps"])]
    for name, colour in (("simulator", "k"), ("emulator", _STYLE["emulator"])):
        for index, series in enumerate(climate[name]["energy"]):
            values = [float("nan") if e is None else e for e in series]
            axis.plot(hours, values, color=colour, alpha=0.6, lw=1, label=name if index == 0 else None)
    reference, factor = climate["reference_energy"], climate["energy_factor"]
    axis.axhspan(reference / factor, reference * factor, color="0.85", label=f"stable band (x{factor:g})")
    axis.axhline(reference, color="0.5", ls="--", lw=1, label="training climatology")
    axis.set_yscale("log")
    axis.set_xlabel("time (h)")
    axis.set_ylabel("domain energy (J/kg)")
    axis.legend(fontsize=8)
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
