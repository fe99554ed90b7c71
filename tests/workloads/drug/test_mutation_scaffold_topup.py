"""Mutation: the scaffold split topping up the test set with part of a scaffold group.

ChEMBL-300's singleton scaffolds fill the test quota exactly, so a top-up branch never ran
there. These 20 molecules have scaffold groups of 9, 5, 3, 2 and 1: whole groups leave the
test set one molecule short of its quota of 4, which is where a top-up would split a group.

The tolerance the split keeps (whole groups, smallest first, a part never left empty): a part
holds at most its quota unless it holds a single group, and it misses its quota by less than
the smallest group that went to a later part (that group did not fit).
"""

from __future__ import annotations

import pytest

from reference_workloads.drug_discovery.splits import scaffold_of, scaffold_split

GROUPS = {
    "c1ccccc1": ["c1ccccc1C", "c1ccccc1CC", "c1ccccc1CCC", "c1ccccc1O", "c1ccccc1N", "c1ccccc1F",
                 "c1ccccc1Cl", "c1ccccc1CO", "c1ccccc1C(=O)O"],
    "c1ccncc1": ["c1ccncc1C", "c1ccncc1CC", "c1ccncc1O", "c1ccncc1N", "c1ccncc1F"],
    "C1CCCCC1": ["C1CCCCC1C", "C1CCCCC1O", "C1CCCCC1N"],
    "c1ccc2ccccc2c1": ["c1ccc2ccccc2c1C", "c1ccc2ccccc2c1O"],
    "c1ccsc1": ["c1ccsc1C"],
}
SMILES = [text for members in GROUPS.values() for text in members]


def test_the_synthetic_groups_are_what_the_test_assumes():
    assert len(SMILES) == 20
    assert all(scaffold_of(text) == scaffold for scaffold, members in GROUPS.items() for text in members)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize(("val_fraction", "test_fraction"), [(0.1, 0.2), (0.2, 0.3), (0.05, 0.1)])
def test_no_scaffold_in_two_parts_and_the_quota_tolerance(seed, val_fraction, test_fraction):
    split = scaffold_split(SMILES, val_fraction=val_fraction, test_fraction=test_fraction, seed=seed)
    parts = {name: getattr(split, name).tolist() for name in ("train", "val", "test")}
    assert sorted(parts["train"] + parts["val"] + parts["test"]) == list(range(20))
    scaffolds = {name: {scaffold_of(SMILES[i]) for i in rows} for name, rows in parts.items()}
    for first, second in (("train", "val"), ("train", "test"), ("val", "test")):
        assert not scaffolds[first] & scaffolds[second], f"a scaffold is in both {first} and {second}"
    size = {scaffold: len(members) for scaffold, members in GROUPS.items()}
    later = {"test": scaffolds["train"] | scaffolds["val"], "val": scaffolds["train"]}
    for name, fraction in (("test", test_fraction), ("val", val_fraction)):
        quota, held = 20 * fraction, len(parts[name])
        assert held <= quota or len(scaffolds[name]) == 1, f"{name} holds {held} over its quota {quota}"
        smallest_left_out = min(size[s] for s in later[name])
        assert quota - held < smallest_left_out, f"{name} holds {held}, short of {quota} by a whole group"


def test_the_test_set_stays_short_rather_than_split_a_group():
    split = scaffold_split(SMILES, val_fraction=0.1, test_fraction=0.2, seed=0)
    assert len(split.test) == 3  # groups of 1 and 2; the next (3) would overfill the quota of 4
    assert {scaffold_of(SMILES[i]) for i in split.test} == {"c1ccsc1", "c1ccc2ccccc2c1"}
