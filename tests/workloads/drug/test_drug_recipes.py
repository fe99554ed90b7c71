"""Recipes: every named recipe validates; overrides are typed; bad values name the field."""

from __future__ import annotations

import pytest

from reference_workloads.core.recipes import RecipeError, config_hash
from reference_workloads.drug_discovery.recipes import book


def test_named_recipes_validate():
    assert book.names() == ["ci_tiny", "h100x1", "laptop"]
    h100 = book.get("h100x1")
    assert h100.resources.device == "cuda" and h100.model.hidden > book.get("laptop").model.hidden
    laptop, tiny = book.get("laptop"), book.get("ci_tiny")
    assert h100.data.library_limit is None and tiny.data.library_limit < laptop.data.library_limit
    assert tiny.resources.physics_ranks == 2 and h100.resources.physics_ranks == 16
    # docking is the objective: every recipe learns the docking score, and screens lowest first
    for recipe in (tiny, laptop, h100):
        assert recipe.train.physics_target == "docking_score" and not recipe.screen.higher_is_better
    assert tiny.docking.exhaustiveness <= laptop.docking.exhaustiveness < h100.docking.exhaustiveness


def test_overrides_are_coerced_and_change_the_hash():
    base = book.get("ci_tiny")
    changed = book.get("ci_tiny", ["train.epochs=3", "data.library_limit=none", "screen.higher_is_better=true"])
    assert changed.train.epochs == 3 and changed.data.library_limit is None and changed.screen.higher_is_better
    assert config_hash(base) != config_hash(changed)
    assert config_hash(base) == config_hash(book.get("ci_tiny"))


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("train.physics_target=dipole", "train.physics_target='dipole' is invalid"),
        ("train.activity_split=cluster", "train.activity_split='cluster' is invalid"),
        ("screen.batch_size=5000", "screen.batch_size=5000 is invalid"),
        ("resources.device=tpu", "resources.device='tpu' is invalid"),
        ("data.library_limit=3", "data.library_limit=3 is invalid"),
        ("physics.n_confs=3", "unknown field 'physics.n_confs'"),
        ("train.epochs=many", "train.epochs='many' is invalid"),
        ("docking.exhaustiveness=0", "docking.exhaustiveness=0 is invalid"),
        ("docking.n_conformers=500", "docking.n_conformers=500 is invalid"),
        ("docking.padding=-1", "docking.padding=-1"),
        ("docking.max_heavy_atoms=0", "docking.max_heavy_atoms=0 is invalid"),
        ("docking.max_score=50", "docking.max_score=50"),
        ("docking.box=3", "unknown field 'docking.box'"),
        ("screen.hit_fraction=0.9", "screen.hit_fraction=0.9 is invalid"),
    ],
)
def test_bad_overrides_raise_one_line(override, message):
    with pytest.raises(RecipeError) as error:
        book.get("ci_tiny", [override])
    assert message in str(error.value) and "\n" not in str(error.value)


def test_unknown_recipe_lists_names():
    with pytest.raises(RecipeError, match="ci_tiny, h100x1, laptop"):
        book.get("desktop")
