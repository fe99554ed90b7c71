"""The tuned forest baseline: count fingerprints, stated descriptors, a seeded CV search."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from reference_workloads.core.recipes import apply_overrides
from reference_workloads.drug_discovery.baseline import (
    DESCRIPTORS,
    BaselineConfig,
    baseline_features,
    fit_forest,
    morgan_counts,
    morgan_fingerprints,
    physchem_descriptors,
    predict_forest,
    search_forest,
)
from reference_workloads.drug_discovery.recipes import ci_tiny

SMILES = ["CCO", "CCCO", "CCCCO", "c1ccccc1", "c1ccccc1O", "CCN", "CCCN", "c1ccncc1",
          "CC(=O)O", "CCC(=O)O", "c1ccccc1C", "c1ccccc1CC", "OCCO", "NCCN", "CCOCC", "C1CCCCC1"]


def test_counts_see_repeats_that_bits_cannot():
    decane, dodecane = "CCCCCCCCCC", "CCCCCCCCCCCC"  # the same environments, more of them
    bits = morgan_fingerprints([decane, dodecane], radius=2, n_bits=1024)
    counts = morgan_counts([decane, dodecane], radius=2, n_bits=1024)
    assert np.array_equal(bits[0], bits[1])
    # Each atom contributes one environment per radius 0..2: two more carbons, six more counts.
    assert counts[1].sum() == counts[0].sum() + 6 and np.array_equal(counts[0] > 0, bits[0] > 0)


def test_descriptors_are_the_stated_list_with_known_values():
    names = [name for name, _ in DESCRIPTORS]
    assert len(set(names)) == len(names)
    values = dict(zip(names, physchem_descriptors(["CCO"])[0], strict=True))
    assert (values["heavy_atoms"], values["hydrogens"], values["count_C"], values["count_O"]) == (3, 6, 2, 1)
    assert (values["h_bond_donors"], values["rings"], values["formal_charge"]) == (1, 0, 0)
    assert values["mol_wt"] == pytest.approx(46.07, abs=0.01)
    charged = dict(zip(names, physchem_descriptors(["[NH4+].[Cl-]"])[0], strict=True))
    assert (charged["formal_charge"], charged["charged_atoms"], charged["count_Cl"]) == (0, 2, 1)
    aromatic = dict(zip(names, physchem_descriptors(["c1ccccc1[Na]"])[0], strict=True))
    assert (aromatic["aromatic_rings"], aromatic["count_other"]) == (1, 1)


def test_feature_sets_have_the_stated_columns():
    for features, width in (("bits", 256), ("counts", 256), ("counts+descriptors", 256 + len(DESCRIPTORS))):
        matrix = baseline_features(SMILES[:3], BaselineConfig(n_bits=256, features=features))
        assert matrix.shape == (3, width)
    assert BaselineConfig().features == "counts+descriptors"


def test_search_picks_the_better_grid_point():
    # One informative column among 200 noise columns: trying every column at each split
    # (max_features=1.0) finds it every time; a tenth of them mostly misses it.
    rng = np.random.default_rng(0)
    features = rng.normal(size=(90, 200))
    targets = 3.0 * features[:, 17] + 0.1 * rng.normal(size=90)
    config = BaselineConfig(n_estimators=20, search_max_features=(0.1, 1.0), search_min_samples_leaf=(1,))
    chosen = search_forest(features, targets, config, seed=0).search_result_
    assert chosen["max_features"] == 1.0 and chosen["oob_r2"] > 0.8
    assert chosen["n_estimators"] in (10, 20)


def test_tuned_forest_is_deterministic_and_within_budget():
    config = BaselineConfig(n_estimators=12, n_bits=256, search_max_features=(0.33, 1.0))
    targets = np.array([len(s) for s in SMILES], dtype=float)
    first = fit_forest(SMILES, targets, config, seed=3)
    second = fit_forest(SMILES, targets, config, seed=3)
    assert first.search_result_ == second.search_result_
    assert np.array_equal(predict_forest(first, SMILES, config), predict_forest(second, SMILES, config))
    chosen = first.search_result_
    assert chosen["max_features"] in config.search_max_features
    assert chosen["min_samples_leaf"] in config.search_min_samples_leaf
    assert chosen["n_estimators"] in (6, 12) and len(first.estimators_) == chosen["n_estimators"]


def test_fewer_trees_chosen_are_the_forest_a_smaller_fit_gives():
    one_point = BaselineConfig(n_estimators=12, n_bits=256, search_max_features=(0.33,),
                               search_min_samples_leaf=(1,), search_trees=(0.5,))
    targets = np.array([len(s) for s in SMILES], dtype=float)
    truncated = fit_forest(SMILES, targets, one_point, seed=3)
    small = fit_forest(SMILES, targets, dataclasses.replace(one_point, n_estimators=6, search_trees=(1.0,)), seed=3)
    assert truncated.search_result_["n_estimators"] == len(truncated.estimators_) == 6
    assert np.array_equal(predict_forest(truncated, SMILES, one_point), predict_forest(small, SMILES, one_point))


def test_out_of_bag_scores_only_rows_a_tree_did_not_see():
    # A target no feature explains: in-bag predictions would fit it, out-of-bag ones cannot.
    rng = np.random.default_rng(1)
    features, targets = rng.normal(size=(60, 5)), rng.normal(size=60)
    config = BaselineConfig(n_estimators=30, search_max_features=(1.0,), search_min_samples_leaf=(1,),
                            search_trees=(1.0,))
    forest = search_forest(features, targets, config, seed=0)
    assert forest.search_result_["oob_r2"] < 0.1 < forest.score(features, targets)


@pytest.mark.parametrize(("overrides", "field"), [
    ({"features": "morgan"}, "baseline.features"),
    ({"search_max_features": ()}, "baseline.search_max_features"),
    ({"search_max_features": (0.0, 0.5)}, "baseline.search_max_features"),
    ({"search_min_samples_leaf": (0,)}, "baseline.search_min_samples_leaf"),
    ({"search_min_samples_leaf": (1.5,)}, "baseline.search_min_samples_leaf"),
    ({"search_trees": (1.5,)}, "baseline.search_trees"),
])
def test_bad_search_settings_name_the_field(overrides, field):
    with pytest.raises(ValueError, match=f"^{field}=") as error:
        BaselineConfig(**overrides)
    assert "\n" not in str(error.value)


def test_search_settings_can_be_overridden_from_the_command_line():
    recipe = apply_overrides(ci_tiny(), ["baseline.search_max_features=0.2,0.5", "baseline.features=counts"])
    assert recipe.baseline.search_max_features == (0.2, 0.5) and recipe.baseline.features == "counts"
