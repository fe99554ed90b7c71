"""SimulationConfig validation: every bad value fails at construction with one line naming
the field and what it accepts."""

from __future__ import annotations

import dataclasses
import json

import pytest

from reference_workloads.climate.simulation.config import SimulationConfig
from reference_workloads.core.recipes import RecipeError, apply_overrides


def test_defaults_are_valid_and_stable() -> None:
    config = SimulationConfig()
    assert config.n_saves == config.n_steps // config.save_every + 1
    assert config.gravity_courant < 0.7
    assert SimulationConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"nx": -4}, "nx=-4 is invalid: expected an integer >= 4"),
        ({"ny": 0}, "ny=0 is invalid: expected an integer >= 4"),
        ({"nx": 32.0}, "nx=32.0 is invalid: expected an integer >= 4"),
        ({"lx": -1.0}, "lx=-1.0 is invalid: expected a finite number > 0"),
        ({"h0": float("nan")}, "h0=nan is invalid: expected a finite number > 0"),
        ({"dt": 5000.0}, "dt=5000.0 is invalid: expected <= "),
        ({"n_steps": 25}, "n_steps=25 is invalid: expected a multiple of save_every=10"),
        ({"save_every": 0}, "save_every=0 is invalid: expected an integer >= 1"),
        ({"n_trajectories": 0}, "n_trajectories=0 is invalid: expected an integer >= 1"),
        ({"seed": -1}, "seed=-1 is invalid: expected an integer in [0, 2**63)"),
        ({"seed": True}, "seed=True is invalid"),
        ({"initial_condition": "storm"},
         "initial_condition='storm' is invalid: expected one of vortices, jet, gravity_wave"),
        ({"f0": 0.0}, "f0=0.0 is invalid: expected a non-zero value"),
        ({"amplitude": 600.0}, "amplitude=600.0 is invalid: expected a number in (0, h0/2 = 500)"),
        ({"perturbation": -1.0}, "perturbation=-1.0 is invalid"),
        ({"wave_number": 17}, "wave_number=17 is invalid: expected an integer in [1, nx/2 = 16]"),
        ({"viscosity": 1.0e9}, "viscosity=1000000000.0 is invalid"),
        ({"forcing_amplitude": -1e-4},
         "forcing_amplitude=-0.0001 is invalid: expected a finite number >= 0 (m/s^2)"),
        ({"forcing_amplitude": float("inf")}, "forcing_amplitude=inf is invalid"),
        ({"forcing_wavenumber": 0},
         "forcing_wavenumber=0 is invalid: expected an integer in [1, ny/4 = 8]"),
        ({"forcing_wavenumber": 9},
         "forcing_wavenumber=9 is invalid: expected an integer in [1, ny/4 = 8]"),
        ({"forcing_wavenumber": 2.0}, "forcing_wavenumber=2.0 is invalid"),
        ({"drag": -1e-6}, "drag=-1e-06 is invalid: expected a number in [0, 0.1/dt = 0.000333] (1/s)"),
        ({"drag": 1e-3}, "drag=0.001 is invalid: expected a number in [0, 0.1/dt"),
        ({"drag": float("nan")}, "drag=nan is invalid"),
        ({"spinup_steps": -1}, "spinup_steps=-1 is invalid: expected an integer >= 0"),
        ({"spinup_steps": 10.0}, "spinup_steps=10.0 is invalid: expected an integer >= 0"),
        ({"forcing_amplitude": 3e-4, "forcing_wavenumber": 8, "drag": 3e-6,
          "spinup_steps": 100}, "valid"),
        ({"ranks": 0}, "ranks=0 is invalid: expected an integer >= 1"),
        ({"ranks": 3}, "ranks=3 is invalid: expected a count that splits the 32x32 grid"),
        ({"nx": 30, "ny": 30, "ranks": 4, "wave_number": 1}, None),
    ],
)
def test_bad_values_fail_with_one_line_naming_the_field(changes: dict, message: str | None) -> None:
    if message is None:  # a valid neighbour of the bad cases: 4 ranks as 2x2 blocks of 15
        assert SimulationConfig(**changes).ranks == 4
        return
    if message == "valid":  # the forced neighbour of the bad forcing values
        assert SimulationConfig(**changes).forcing_k > 0
        return
    with pytest.raises(RecipeError) as caught:
        SimulationConfig(**changes)
    text = str(caught.value)
    assert isinstance(caught.value, ValueError)
    assert message in text
    assert "\n" not in text


def test_gravity_wave_allows_a_non_rotating_plane() -> None:
    assert SimulationConfig(initial_condition="gravity_wave", f0=0.0).f0 == 0.0


def test_dt_message_states_the_stable_limit() -> None:
    limit = SimulationConfig().max_stable_dt
    with pytest.raises(RecipeError, match=f"<= {limit:.6g} s"):
        SimulationConfig(dt=limit * 1.01)
    assert SimulationConfig(dt=limit * 0.99).dt < limit


def test_validate_for_ranks_checks_the_grid_divides() -> None:
    config = SimulationConfig(nx=24, ny=20)
    for good in (1, 2, 4, 8, 12):
        config.validate_for_ranks(good)
    for bad in (3 * 7, 7, 9):
        with pytest.raises(RecipeError, match=f"ranks={bad} is invalid: .*24x20 grid"):
            config.validate_for_ranks(bad)


def test_from_dict_names_an_unknown_field_and_lists_the_valid_ones() -> None:
    with pytest.raises(RecipeError, match=r"unknown field 'nz': valid fields are nx, ny, lx"):
        SimulationConfig.from_dict({"nz": 4})


def test_core_overrides_coerce_and_revalidate() -> None:
    config = apply_overrides(SimulationConfig(), ["nx=64", "dt=240", "initial_condition=jet"])
    assert (config.nx, config.dt, config.initial_condition) == (64, 240.0, "jet")
    with pytest.raises(RecipeError, match="ranks=3 is invalid"):
        apply_overrides(SimulationConfig(), ["ranks=3"])


def test_physical_parameters_leave_out_only_the_rank_count() -> None:
    config = SimulationConfig(ranks=2)
    params = config.physical_parameters()
    assert set(params) == {f.name for f in dataclasses.fields(config)} - {"ranks"}
    assert params == dataclasses.replace(config, ranks=4).physical_parameters()


def test_from_dict_rejects_json_that_is_not_an_object() -> None:
    with pytest.raises(RecipeError, match="simulation='list' is invalid: expected a JSON object"):
        SimulationConfig.from_dict([["nx", 4]])  # type: ignore[arg-type]
