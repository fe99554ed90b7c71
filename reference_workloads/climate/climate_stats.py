"""The emulator's climate against the simulator's: long free rollouts over the whole held-out
trajectory, their long-run mean, variance and kinetic-energy spectrum, and their stability.

A rollout is stable when it stays finite and its domain energy stays within a stated factor
of the training climatology's at every saved step.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .baselines import domain_energy


def kinetic_energy_spectrum(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Isotropic kinetic-energy spectrum E(k), k = 0 .. min(nx, ny) // 2 - 1 in grid wave
    numbers, of cell-centred periodic velocities (..., y, x), averaged over the leading axes.

    E(k) sums 0.5 |u_hat|^2 + 0.5 |v_hat|^2 (normalised so the sum over all modes is the
    domain-mean kinetic energy, Parseval) over the modes with k <= |(kx, ky)| < k + 1.
    """
    ny, nx = u.shape[-2:]
    u_hat = np.fft.fft2(u.astype(np.float64)) / (nx * ny)
    v_hat = np.fft.fft2(v.astype(np.float64)) / (nx * ny)
    density = 0.5 * (np.abs(u_hat) ** 2 + np.abs(v_hat) ** 2)
    density = density.reshape(-1, ny, nx).mean(axis=0)
    kx = np.fft.fftfreq(nx, 1.0 / nx)
    ky = np.fft.fftfreq(ny, 1.0 / ny)
    radius = np.floor(np.sqrt(kx[None, :] ** 2 + ky[:, None] ** 2)).astype(int)
    bands = min(nx, ny) // 2
    keep = radius < bands
    return np.bincount(radius[keep], weights=density[keep], minlength=bands)


BAND_NAMES = ("large", "intermediate", "small")


def spectral_bands(n_wavenumbers: int) -> list[tuple[int, int]]:
    """Three wave-number bands [lo, hi): large (1..3), intermediate, and the smallest scales
    (the upper half of the resolved wave numbers); wave number 0 (the mean flow) is left out."""
    top = max(n_wavenumbers, 3)
    large = min(4, top - 1)
    middle = max(top // 2, large + 1)
    return [(1, large), (large, middle), (middle, top)]


def rollout_statistics(states: np.ndarray, *, g: float, h0: float, reference_energy: float,
                       energy_factor: float) -> dict[str, Any]:
    """Climate of rollouts (rollout, time, channel, y, x) from saved step 1 on: per rollout its
    stability and energy series, and over the stable ones the long-run mean and variance per
    variable and the time-mean KE spectrum."""
    later = states[:, 1:].astype(np.float64)
    finite = np.isfinite(later).all(axis=(1, 2, 3, 4))
    with np.errstate(all="ignore"):
        energy = domain_energy(later, g, h0)
    ratio = energy / reference_energy
    bounded = np.all(np.isfinite(ratio) & (ratio <= energy_factor) & (ratio >= 1.0 / energy_factor), axis=1)
    stable = finite & bounded
    out: dict[str, Any] = {
        "stable": stable.tolist(),
        "energy": np.where(np.isfinite(energy), energy, None).tolist(),
        "mean": None, "variance": None, "ke_spectrum": None,
    }
    if stable.any():
        kept = later[stable]
        out["mean"] = np.mean(kept, axis=(0, 1, 3, 4)).tolist()
        out["variance"] = np.var(kept, axis=(0, 1, 3, 4)).tolist()
        out["ke_spectrum"] = kinetic_energy_spectrum(kept[:, :, 1], kept[:, :, 2]).tolist()
    return out


def relative_error(value: Any, reference: Any) -> Any:
    """|value - reference| / |reference| elementwise (None where the value is missing)."""
    if value is None:
        return None
    value, reference = np.asarray(value, dtype=np.float64), np.asarray(reference, dtype=np.float64)
    return (np.abs(value - reference) / np.maximum(np.abs(reference), 1e-30)).tolist()


def climate_distance(emulator: dict[str, Any], truth: dict[str, Any], variables: list[str],
                     scale: list[float]) -> dict[str, Any]:
    """The emulator's climate against the simulator's: the mean's error per variable in units
    of the climatological anomaly std ``scale`` (a relative error of a mean near zero says
    nothing), the variance's relative error per variable, the spectrum's relative error per
    band and the fraction of stable rollouts."""
    stable = emulator["stable"]
    reference = np.asarray(truth["ke_spectrum"])
    bands = dict(zip(BAND_NAMES, spectral_bands(len(reference)), strict=True))
    distance: dict[str, Any] = {"stable_fraction": float(np.mean(stable)), "rollouts": len(stable),
                                "spectral_bands": {name: [lo, hi - 1] for name, (lo, hi) in bands.items()},
                                "mean_error_in_std": dict.fromkeys(variables),
                                "variance_relative_error": dict.fromkeys(variables),
                                "spectrum_relative_error_by_band": dict.fromkeys(bands)}
    if emulator["mean"] is None:  # no stable rollout: no climate to compare
        return distance
    mean_error = np.abs(np.subtract(emulator["mean"], truth["mean"])) / np.maximum(scale, 1e-30)
    distance["mean_error_in_std"] = dict(zip(variables, mean_error.tolist(), strict=True))
    distance["variance_relative_error"] = dict(zip(variables, relative_error(emulator["variance"], truth["variance"]),
                                                   strict=True))
    spectrum = np.asarray(emulator["ke_spectrum"])
    distance["spectrum_relative_error_by_band"] = {
        name: relative_error(float(spectrum[lo:hi].sum()), float(reference[lo:hi].sum())) for name, (lo, hi) in bands.items()}
    return distance
