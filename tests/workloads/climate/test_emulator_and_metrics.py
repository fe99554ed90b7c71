import numpy as np
import pytest
import torch

from reference_workloads.climate.emulator.data import PairIndex, batch, epoch_order, normalisation
from reference_workloads.climate.emulator.model import FourierNeuralOperator
from reference_workloads.climate.evaluate import (
    anomaly_correlation,
    beats_persistence,
    nrmse,
    rmse,
    start_times,
)
from reference_workloads.climate.recipes import book
from reference_workloads.core.recipes import RecipeError


def test_untrained_emulator_is_exactly_persistence():
    torch.manual_seed(0)
    model = FourierNeuralOperator(width=8, modes=4, layers=2)
    model.set_normalisation(torch.tensor([1000.0, 0.0, 0.0]), torch.tensor([5.0, 2.0, 2.0]), torch.full((3,), 0.1))
    x = torch.randn(2, 3, 16, 16) + torch.tensor([1000.0, 0, 0])[None, :, None, None]
    trajectory = model.rollout(x, 3)
    assert trajectory.shape == (4, 2, 3, 16, 16)
    for lead in range(4):
        torch.testing.assert_close(trajectory[lead], x, rtol=0, atol=1e-3)


def test_spectral_layer_commutes_with_periodic_shifts():
    torch.manual_seed(0)
    model = FourierNeuralOperator(width=8, modes=4, layers=2)
    torch.nn.init.normal_(model.project[-1].weight)
    x = torch.randn(1, 3, 16, 16)
    shifted = torch.roll(x, shifts=(3, 5), dims=(2, 3))
    # the positional channels break exact equivariance; the spectral layer alone keeps it
    layer = model.spectral[0]
    h = torch.randn(1, 8, 16, 16)
    torch.testing.assert_close(torch.roll(layer(h), (3, 5), (2, 3)), layer(torch.roll(h, (3, 5), (2, 3))),
                               rtol=1e-4, atol=1e-5)
    assert model(shifted).shape == x.shape


def test_pairs_and_epoch_order_are_deterministic():
    states = torch.arange(2 * 5 * 3 * 2 * 2, dtype=torch.float32).reshape(2, 5, 3, 2, 2)
    index = PairIndex(n_trajectories=2, n_times=5, unroll=2)
    assert len(index) == 6 and index.locate(4) == (1, 1)
    inputs, targets = batch(states, index, torch.tensor([4]))
    torch.testing.assert_close(inputs[0], states[1, 1])
    torch.testing.assert_close(targets[0, 1], states[1, 3])
    assert torch.equal(epoch_order(10, 3, 1), epoch_order(10, 3, 1))
    assert not torch.equal(epoch_order(10, 3, 1), epoch_order(10, 3, 2))
    mean, std, increment = normalisation(states.numpy())
    assert mean.shape == std.shape == increment.shape == (3,)


def test_metrics_against_hand_computed_values():
    truth = np.zeros((1, 2, 1, 2, 2))
    truth[0, 1, 0] = [[1.0, -1.0], [1.0, -1.0]]
    prediction = truth.copy()
    prediction[0, 1, 0, 0, 0] = 3.0  # error 2 at one of 4 points
    assert rmse(prediction, truth)[1, 0] == pytest.approx(1.0)
    assert nrmse(prediction, truth)[1] == pytest.approx(2.0 / 2.0)
    climatology = np.zeros((1, 2, 2))
    assert anomaly_correlation(truth, truth, climatology)[1, 0] == pytest.approx(1.0)
    assert anomaly_correlation(-truth, truth, climatology)[1, 0] == pytest.approx(-1.0)
    assert start_times(21, 10, 2) == [0, 10]
    with pytest.raises(ValueError, match="eval.horizon=25 is invalid"):
        start_times(21, 25, 2)


def test_beats_persistence_lists_the_losing_leads():
    results = {"emulator": {"rmse_normalised": [0, 0.1, 0.3, 0.2]},
               "persistence": {"rmse_normalised": [0, 0.2, 0.25, 0.4]}}
    assert beats_persistence(results, 3) == [2]


@pytest.mark.parametrize("name", ["ci_tiny", "laptop", "h100x1"])
def test_every_recipe_is_valid_and_states_a_horizon_of_at_least_ten_steps(name):
    recipe = book.get(name)
    assert recipe.eval.horizon >= 10
    assert recipe.held_out >= 1


@pytest.mark.parametrize(
    ("override", "field"),
    [
        ("simulation.nx=-8", "simulation.nx=-8 is invalid"),
        ("simulation.ranks=3", "ranks"),
        ("train.global_batch_size=15", "train.global_batch_size=15 is invalid: expected a positive multiple"),
        ("train.train_trajectories=6", "train.train_trajectories=6 is invalid"),
        ("emulator.modes=40", "emulator.modes=40 is invalid: expected at most min(nx, ny) / 2 = 16"),
        ("simulation.colour=red", "unknown field 'simulation.colour'"),
        ("eval.stability_energy_factor=1.0", "eval.stability_energy_factor=1.0 is invalid: expected a number > 1"),
        ("eval.coarsest_factor=0", "eval.coarsest_factor=0 is invalid: expected an integer >= 1"),
    ],
)
def test_bad_climate_overrides_fail_before_any_work(override, field):
    with pytest.raises(RecipeError) as error:
        book.get("ci_tiny", [override])
    assert field in str(error.value)
    assert "\n" not in str(error.value)
