"""The ensemble time loop: batching and progress cannot change the bits it produces."""

from __future__ import annotations

import numpy as np
import pytest

from reference_workloads.climate.simulation import ensemble as ensemble_module
from reference_workloads.climate.simulation.config import SimulationConfig
from reference_workloads.climate.simulation.ensemble import serial_ensemble
from reference_workloads.climate.simulation.initial import initial_fields
from reference_workloads.climate.simulation.physics import fill_periodic_halo, to_cell_centres

CONFIG = SimulationConfig(nx=16, ny=12, n_trajectories=5, n_steps=30, save_every=10)


def test_batch_size_does_not_change_a_bit(monkeypatch: pytest.MonkeyPatch) -> None:
    results = []
    for batch in (1, 2, 8):
        monkeypatch.setattr(ensemble_module, "TRAJECTORY_BATCH", batch)
        results.append(serial_ensemble(CONFIG))
    for other in results[1:]:
        for name in ("h", "u", "v", "mass", "energy"):
            assert np.array_equal(getattr(results[0], name), getattr(other, name)), name


def test_first_snapshot_is_the_initial_condition_and_later_ones_evolve() -> None:
    result = serial_ensemble(CONFIG)
    h, u, v = initial_fields(CONFIG, range(CONFIG.n_trajectories))
    u_centre, v_centre = to_cell_centres(u, v)
    assert np.array_equal(result.h[:, 0], h.astype(np.float32))
    assert np.array_equal(result.u[:, 0], u_centre.astype(np.float32))
    assert np.array_equal(result.v[:, 0], v_centre.astype(np.float32))
    assert result.h.shape == (5, CONFIG.n_saves, 12, 16)
    assert np.all(np.abs(result.h[:, -1] - result.h[:, 0]).max(axis=(-2, -1)) > 0.01)


def test_progress_counts_member_snapshots_up_to_the_total(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ensemble_module, "TRAJECTORY_BATCH", 2)
    calls: list[tuple[int, int]] = []
    serial_ensemble(CONFIG, progress=lambda done, total: calls.append((done, total)))
    total = CONFIG.n_trajectories * CONFIG.n_saves
    assert calls[-1] == (total, total)
    assert all(t == total for _, t in calls)
    assert [d for d, _ in calls] == sorted({d for d, _ in calls})


def test_a_diverging_run_stops_with_a_one_line_error() -> None:
    """A blow-up must not land in a dataset as NaNs: every rank checks its block at every
    save. Here a halo fill that corrupts the state stands in for an instability."""
    def corrupting_fill(state: np.ndarray) -> None:
        fill_periodic_halo(state)
        state[0, 0, 3, 3] = np.inf

    with pytest.raises(FloatingPointError) as caught, np.errstate(all="ignore"):
        serial_ensemble(CONFIG, fill_halo=corrupting_fill)
    message = str(caught.value)
    assert message.startswith("simulation diverged by step 10 in trajectories 0-4")
    assert "\n" not in message


def test_spin_up_shifts_the_record_without_changing_its_length() -> None:
    """With spinup_steps = 2 save intervals, the saved record starts where the unspun run's
    third save is (same bits), differs from the raw initial condition, and keeps n_saves."""
    forced = dict(forcing_amplitude=3e-4, forcing_wavenumber=3, drag=3e-6)
    plain = SimulationConfig(nx=16, ny=12, n_trajectories=2, n_steps=40, save_every=10, **forced)
    spun = SimulationConfig(**{**plain.to_dict(), "spinup_steps": 20})
    unspun, result = serial_ensemble(plain), serial_ensemble(spun)
    assert result.h.shape == unspun.h.shape == (2, plain.n_saves, 12, 16)
    h, _, _ = initial_fields(spun, range(2))
    assert np.abs(result.h[:, 0] - h.astype(np.float32)).max() > 0.01
    for name in ("h", "u", "v"):
        assert np.array_equal(getattr(result, name)[:, 0], getattr(unspun, name)[:, 2]), name
        assert np.array_equal(getattr(result, name)[:, 2], getattr(unspun, name)[:, 4]), name
