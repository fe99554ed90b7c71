"""The climate evaluation a reviewer reads: PDEBench's nRMSE as PDEBench defines it, damped
persistence fitted on the training members only, KE spectra, stability of free rollouts, the
coarse simulator's grid transfer and cost matching, and the headline recomputed from the
published per-sample files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from reference_workloads.climate import pipeline
from reference_workloads.climate.baselines import (
    coarse_config,
    coarsen,
    damped_persistence,
    domain_energy,
    match_cost,
    refine,
    training_statistics,
)
from reference_workloads.climate.climate_stats import kinetic_energy_spectrum, rollout_statistics
from reference_workloads.climate.evaluate import (
    Forecasts,
    errors_as_json,
    pdebench_nrmse_by_variable,
    sample_errors,
    score_errors,
)
from reference_workloads.climate.recipes import book


def test_pdebench_nrmse_divides_each_channel_by_its_own_spatial_rms():
    # one sample, leads 0 and 1, channels h (offset 1000), u and v (exact), 2x2 grid
    truth = np.zeros((1, 2, 3, 2, 2))
    truth[0, :, 0] = 1000.0
    truth[0, :, 1:] = [[3.0, -3.0], [3.0, -3.0]]
    prediction = truth.copy()
    prediction[0, 1, 0, 0, 0] += 2.0  # h: error RMS sqrt(4 / 4) = 1 over RMS 1000
    prediction[0, 1, 1, 0, 0] += 6.0  # u: error RMS sqrt(36 / 4) = 3 over RMS 3
    by_variable = pdebench_nrmse_by_variable(prediction, truth)
    np.testing.assert_allclose(by_variable[1], [1.0 / 1000.0, 1.0, 0.0], rtol=1e-12)
    # the same numbers from the published per-sample sums
    forecasts = Forecasts(truth=truth, emulator=prediction, persistence=truth,
                          climatology=np.zeros_like(truth),
                          damped_persistence=truth)
    scored = score_errors(errors_as_json(sample_errors(forecasts, np.ones(3))))
    assert scored["emulator"]["nrmse_pdebench"]["h"][1] == pytest.approx(1e-3)
    assert scored["emulator"]["nrmse"][1] == pytest.approx((1e-3 + 1.0) / 3)
    # the anomaly score is per variable on the anomaly scale, so the mean depth is gone
    assert scored["emulator"]["rmse_anomaly_normalised"]["h"][1] == pytest.approx(1.0)


def _alternating(n_times=6, sign_period=1, amplitude=1.0, seed=0):
    """A trajectory (time, 3, 4, 4) whose anomaly flips sign every step (lag-1 r = -1)."""
    rng = np.random.default_rng(seed)
    pattern = rng.normal(size=(3, 4, 4))
    signs = np.array([(-1.0) ** (t // sign_period) for t in range(n_times)])
    return (amplitude * signs[:, None, None, None] * pattern).astype(np.float32)


def test_lag_correlation_of_an_alternating_anomaly_is_minus_one_then_one():
    stats = training_statistics([_alternating(), _alternating(seed=1)], np.zeros((3, 4, 4)), 2, g=9.81, h0=1.0)
    np.testing.assert_allclose(stats.lag_correlation, [[1, 1, 1], [-1, -1, -1], [1, 1, 1]], atol=1e-12)
    forecast = damped_persistence(np.ones((1, 3, 4, 4)), np.zeros((3, 4, 4)), stats.lag_correlation)
    np.testing.assert_allclose(forecast[0, :, 0, 0, 0], [1, -1, 1])


def test_damped_persistence_is_fitted_on_the_training_members_only(monkeypatch, tmp_path):
    # training members alternate (r1 = -1); every later member is frozen (r1 = +1): a fit that
    # reads any held-out member cannot give -1
    recipe = book.get("ci_tiny")
    members = recipe.simulation.n_trajectories
    trajectories = [_alternating() if k < recipe.train.train_trajectories else np.repeat(_alternating()[:1], 6, 0)
                    for k in range(members)]

    def trajectories_of(path, which):
        yield from (trajectories[k] for k in range(members)[which])

    import reference_workloads.climate.emulator.data as data

    monkeypatch.setattr(data, "iter_trajectories", trajectories_of)
    monkeypatch.setattr(data, "climatology", lambda path, which: np.zeros((3, 4, 4), np.float32))
    stats = pipeline.fit_on_training(recipe, tmp_path / "ensemble.zarr")
    np.testing.assert_allclose(stats.lag_correlation[1], [-1, -1, -1], atol=1e-12)


def test_the_spectrum_of_a_single_mode_sits_in_its_band_with_its_energy():
    ny, nx, amplitude = 16, 32, 2.0
    x = np.arange(nx)
    y = np.arange(ny)
    # (kx, ky) = (2, 3): |k| = 3.6 lies in band 3 (k <= |k| < k + 1, not the nearest integer)
    u = amplitude * np.cos(2 * np.pi * (2 * x[None, :] / nx + 3 * y[:, None] / ny))
    v = np.broadcast_to(np.sin(2 * np.pi * x[None, :] / nx), u.shape)  # |k| = 1, unit amplitude
    spectrum = kinetic_energy_spectrum(u, v)
    assert len(spectrum) == 8
    assert int(np.argmax(spectrum)) == 3
    # Parseval: each mode's energy 0.5 * mean(a^2) = a^2 / 4 sits in its band, nothing elsewhere
    assert spectrum[3] == pytest.approx(amplitude**2 / 4)
    assert spectrum[1] == pytest.approx(1 / 4)
    assert spectrum.sum() == pytest.approx(0.5 * np.mean(u**2 + v**2))


def test_stability_flags_a_blown_up_and_a_non_finite_rollout():
    rng = np.random.default_rng(0)
    calm = rng.normal(0.0, 1.0, size=(1, 5, 3, 8, 8))
    blown = calm.copy()
    blown[0, 4, 1:] *= 10.0  # the velocities grow tenfold at the last step: energy x100
    broken = calm.copy()
    broken[0, 3, 2, 0, 0] = np.nan
    states = np.concatenate([calm, blown, broken])
    reference = float(np.mean(domain_energy(calm[0, 1:], 1.0, 1.0)))
    out = rollout_statistics(states, g=1.0, h0=1.0, reference_energy=reference, energy_factor=2.0)
    assert out["stable"] == [True, False, False]
    assert out["energy"][2][2] is None  # the NaN step has no energy
    # the climate is taken over the stable rollout only
    np.testing.assert_allclose(out["mean"], np.mean(calm[:, 1:], axis=(0, 1, 3, 4)))


def test_coarsening_and_refining_a_smooth_field_round_trip():
    y, x = np.meshgrid(np.arange(32) + 0.5, np.arange(32) + 0.5, indexing="ij")
    fine = np.sin(2 * np.pi * x / 32) + 0.5 * np.cos(2 * np.pi * 2 * y / 32)
    coarse = coarsen(fine, 4)
    assert coarse.shape == (8, 8)
    np.testing.assert_allclose(coarse[0, 0], fine[:4, :4].mean())
    # cell centres onto cell centres: 0.08 is the block mean's damping of the mode; mapping
    # cell corners instead (grid_mode=False), a half-cell shift, errs by 0.52 here
    np.testing.assert_allclose(refine(coarse, 4), fine, atol=0.1)
    np.testing.assert_allclose(coarsen(refine(coarse, 4), 4), coarse, atol=0.07)


def test_the_coarse_config_keeps_everything_but_the_grid_and_step():
    sim = book.get("ci_tiny").simulation
    coarse = coarse_config(sim, 2)
    assert (coarse.nx, coarse.ny, coarse.ranks) == (sim.nx // 2, sim.ny // 2, 1)
    assert coarse.dt * coarse.save_every == sim.dt * sim.save_every  # same saved interval
    assert coarse.lx == sim.lx and coarse.viscosity == sim.viscosity
    with pytest.raises(ValueError, match="coarsening factor=3 is invalid"):
        coarse_config(sim, 3)


def test_equal_cost_and_equal_accuracy_grids():
    match = match_cost([1, 2, 4], ["32", "16", "8"], [1.0, 0.1, 0.01], [0.1, 0.3, 0.9], emulator_seconds=0.09,
                       emulator_error=0.35)
    assert match.equal_cost_factor == 2 and match.equal_accuracy_factor == 2
    assert match.speedup_at_equal_accuracy == pytest.approx(0.1 / 0.09)
    worse = match_cost([2, 4], ["16", "8"], [0.1, 0.01], [0.3, 0.9], emulator_seconds=0.02, emulator_error=0.05)
    assert worse.equal_cost_factor == 4 and worse.speedup_at_equal_accuracy is None


# --- the headline from a published folder ---------------------------------------------


def _forecasts(rng, samples=6, leads=4, emulator_noise=0.3):
    truth = rng.normal(0.0, 1.0, size=(samples, leads, 3, 4, 4)).cumsum(axis=1)
    persistence = np.repeat(truth[:, :1], leads, axis=1)
    return Forecasts(truth=truth, emulator=truth + emulator_noise * rng.normal(size=truth.shape),
                     persistence=persistence, climatology=np.zeros((3, 4, 4)),
                     damped_persistence=0.5 * persistence, coarse_simulator=truth + 0.5 * rng.normal(size=truth.shape))


def _publish(folder: Path, seeds=(1, 2)) -> None:
    rng = np.random.default_rng(0)
    recipe = {"eval": {"horizon": 3, "stability_energy_factor": 2.0}, "repeats": {"margin": 0.05},
              "simulation": {"dt": 300.0, "save_every": 10}}
    (folder / "manifest.json").write_text(json.dumps({"recipe": recipe, "seeds": {"training": list(seeds)}}))
    for seed in seeds:
        errors = errors_as_json(sample_errors(_forecasts(rng), np.ones(3)))
        (folder / f"seed-{seed}-sample_errors.json").write_text(json.dumps(errors))
        (folder / f"seed-{seed}-training.json").write_text(json.dumps(
            {"history": [{"val_loss": 0.1}], "parameters": 10}))
        rollouts = rng.normal(size=(2, 5, 3, 8, 8))
        settings = {"g": 1.0, "h0": 1.0, "reference_energy": 2.0, "energy_factor": 2.0}
        long = {"variables": ["h", "u", "v"], "anomaly_std": [1.0, 1.0, 1.0], "lead_time_s": 3000.0, "steps": 4,
                **settings, "emulator": rollout_statistics(1.1 * rollouts, **settings),
                "simulator": rollout_statistics(rollouts, **settings)}
        (folder / f"seed-{seed}-long_rollouts.json").write_text(json.dumps(long))
        cost = match_cost([1, 2], ["8x8", "4x4"], [1.0, 0.1], [0.0, 0.8], 0.2, 0.5).as_dict()
        (folder / f"seed-{seed}-coarse_simulator.json").write_text(json.dumps(cost))


def test_the_headline_recomputes_from_published_files_and_a_tampered_sample_changes_it(tmp_path):
    from reference_workloads.climate.summary import headline

    _publish(tmp_path)
    first = headline(tmp_path)
    assert headline(tmp_path) == first
    assert set(first["comparisons"]) == {f"emulator_vs_{b}_at_horizon" for b in
                                         ("persistence", "climatology", "damped_persistence", "coarse_simulator")}
    assert first["climate"]["stable_fraction"] == 1.0
    assert first["speedup_at_equal_accuracy"] == pytest.approx(1.0 / 0.2)
    path = tmp_path / "seed-2-sample_errors.json"
    errors = json.loads(path.read_text())
    errors["emulator_sse"][0][3][1] *= 4.0  # one held-out forecast's u error doubled
    path.write_text(json.dumps(errors))
    tampered = headline(tmp_path)
    assert tampered["score_horizon"]["emulator"]["u"] != first["score_horizon"]["emulator"]["u"]
    assert tampered["comparisons"] != first["comparisons"]


def test_the_coarse_simulator_steps_with_the_recipes_forcing_and_drag():
    # the physics baseline must be the simulator itself: from a state at rest, the forced
    # flow accelerates along x exactly as the forcing profile says (an unforced stepper
    # leaves the rest state at rest and fails here)
    import dataclasses

    from reference_workloads.climate.baselines import run_from
    from reference_workloads.climate.simulation.physics import forcing_field

    config = dataclasses.replace(book.get("ci_tiny", []).simulation, ranks=1)
    rest = np.zeros((1, 3, config.ny, config.nx), np.float32)
    rest[:, 0] = config.h0
    run, _ = run_from(config, rest, 1)
    u = run[0, 1, 1].astype(np.float64)
    profile = forcing_field(config)[0][:, 0]
    assert config.forcing_amplitude > 0
    assert np.corrcoef(u.mean(axis=1), profile)[0, 1] > 0.99
