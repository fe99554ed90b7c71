"""The whole active-learning run on a synthetic pool, through the real KServe server.

The "docking score" is a simple function of one substructure, the aromatic atoms (each lowers
it by 0.5; size adds a small tie-break), so the best 10 % of the pool are the most aromatic
molecules: a surrogate that learns from what it docked must find more of them per call than
random selection (statistical, on two repeats: the means over repeats are compared).
"""

from __future__ import annotations

import math
import shutil

import numpy as np
import pandas as pd
import pytest
from rdkit import Chem

from reference_workloads.drug_discovery.active_learning import (
    FIGURE_FILE,
    INDEX_FOLDER,
    NEIGHBOURS_FILE,
    PUBLISHED,
    ROUNDS_FILE,
    active_learning_headline,
    run_active_learning,
)
from reference_workloads.drug_discovery.active_learning_config import ActiveLearningConfig
from reference_workloads.drug_discovery.library import load_library
from reference_workloads.drug_discovery.vector_index import MoleculeIndex

CONFIG = ActiveLearningConfig(rounds=2, seed_batch=12, batch=12, hit_percent=10, repeats=2, epochs=10, hidden=32,
                              layers=2, forest_trees=30, screen_batch=64, neighbours=3)


def aromatic_score(smiles: str) -> float:
    mol = Chem.MolFromSmiles(smiles)
    return -0.5 * sum(atom.GetIsAromatic() for atom in mol.GetAtoms()) + 0.01 * mol.GetNumHeavyAtoms()


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    library = load_library("nci", limit=150).molecules
    pool = library.assign(docking_score=[aromatic_score(s) for s in library["smiles"]], status="ok")
    pool.loc[[5, 7], "status"] = "embed_failed"  # failed docking: excluded and counted
    out = tmp_path_factory.mktemp("active_learning")
    seen: list[tuple[int, int]] = []
    headline = run_active_learning(pool, CONFIG, out, device="cpu", seed=0, progress=lambda d, n: seen.append((d, n)))
    return out, headline, pd.read_parquet(out / ROUNDS_FILE), seen


def test_every_gnn_round_screens_the_undocked_pool_through_the_http_server(run):
    _, _, table, _ = run
    gnn = table[(table["strategy"] == "gnn") & (table["round"] > 0)]
    assert len(gnn) == CONFIG.repeats * CONFIG.rounds
    undocked = 148 - (CONFIG.seed_batch + (gnn["round"] - 1) * CONFIG.batch)
    assert list(gnn["screened"]) == list(undocked)
    # the server's own count of answered inference requests (its /metrics), not ours
    assert list(gnn["screen_requests"]) == [math.ceil(n / CONFIG.screen_batch) for n in undocked]
    assert (gnn["server_start_s"] > 0).sum() == 1  # one server for the run, reloaded after
    assert (gnn["reload_s"] > 0).sum() == len(gnn) - 1
    print(gnn[["repeat", "round", "model_s", "server_start_s", "reload_s", "screen_s"]].to_string())


def test_learned_strategies_find_more_hits_per_call_than_random(run):
    _, headline, table, seen = run
    per_call = {name: d["mean"] for name, d in headline["hits_per_call"].items()}
    print(per_call, headline["gnn_minus_random"]["interval"])
    assert per_call["gnn"] > 2 * per_call["random"] and per_call["forest"] > per_call["random"]
    assert headline["gnn_minus_random"]["mean"] > 0 and headline["calls"] == CONFIG.calls
    assert headline["excluded_failed_docking"] == 2 and headline["pool_molecules"] == 148
    seed_batches = table[table["round"] == 0].groupby("repeat")["hits"].nunique()
    assert (seed_batches == 1).all()  # the strategies of a repeat share its seed batch
    assert seen[-1] == (6, 6)


def test_the_headline_recomputes_from_the_published_files_and_a_tampered_table_changes_it(run, tmp_path):
    out, headline, table, _ = run
    for name in PUBLISHED:
        shutil.copy(out / name, tmp_path / name)
    assert active_learning_headline(tmp_path) == headline
    assert (out / FIGURE_FILE).stat().st_size > 10_000
    tampered = table.copy()
    last = (tampered["strategy"] == "random") & (tampered["round"] == CONFIG.rounds)
    tampered.loc[last, "hits"] += 5
    tampered.to_parquet(tmp_path / ROUNDS_FILE, index=False)
    assert active_learning_headline(tmp_path)["hits_per_call"]["random"]["mean"] == pytest.approx(
        headline["hits_per_call"]["random"]["mean"] + 5 / CONFIG.calls)


def test_neighbours_of_the_hits_found_are_richer_in_hits_than_the_pool(run):
    out, headline, _, _ = run
    neighbours = pd.read_parquet(out / NEIGHBOURS_FILE)
    assert neighbours.groupby("hit_record")["rank"].max().eq(CONFIG.neighbours).all()
    assert not (neighbours["hit_record"] == neighbours["record"]).any()  # a hit is not its own neighbour
    assert headline["neighbours"]["hit_rate"] > 2 * headline["neighbours"]["base_rate"]
    index = MoleculeIndex.load(out / INDEX_FOLDER)
    assert len(index) == 148
    assert np.all(np.diff(neighbours.groupby("hit_record")["similarity"].apply(list).iloc[0]) <= 0)
