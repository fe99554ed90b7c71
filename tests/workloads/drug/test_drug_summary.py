"""The drug-discovery headline is recomputed from the published predictions alone."""

import json
import math

import pandas as pd
import pytest

from reference_workloads.drug_discovery.summary import headline

RECIPE = {"train": {"physics_split": "random", "activity_split": "scaffold", "physics_target": "docking_score"},
          "screen": {"top_fraction": 0.5, "higher_is_better": False, "protocol": "v2", "hit_fraction": 0.25},
          "repeats": {"seeds": 1, "margin": 0.0}}


def _publish(folder, gnn_physics=(1.0, 2.0, 3.0, 4.0), seeds=(0,)):
    for seed in seeds:
        _publish_seed(folder, seed, gnn_physics)
    (folder / "manifest.json").write_text(json.dumps({"recipe": RECIPE, "seeds": {"training": list(seeds)}}))


def _publish_seed(folder, seed, gnn_physics):
    truth = [1.0, 2.0, 3.0, 4.0]
    rows = []
    for task in ("physics", "activity"):
        for model, predicted in (("gnn", gnn_physics), ("random_forest", (4.0, 3.0, 2.0, 1.0))):
            rows += [{"task": task, "model": model, "record": i, "smiles": "C", "target": t, "prediction": p}
                     for i, (t, p) in enumerate(zip(truth, predicted, strict=True))]
    pd.DataFrame(rows).to_parquet(folder / f"seed-{seed}-test_predictions.parquet", index=False)
    pd.DataFrame({"record": range(4), "smiles": ["C"] * 4, "predicted": [1.0, 2.0, 4.0, 3.0],
                  "physics": truth, "held_out": [True, True, False, False]}).to_parquet(
        folder / f"seed-{seed}-screen_predictions.parquet", index=False)
    measured = {"surrogate_molecules_per_second": 500.0, "physics_molecules_per_second": 5.0, "speedup": 100.0}
    (folder / f"seed-{seed}-results.json").write_text(json.dumps({"screen": measured}))


def test_headline_metrics_and_recall_come_from_the_predictions(tmp_path):
    _publish(tmp_path)
    head = headline(tmp_path)
    assert head["metrics"]["physics"]["gnn"]["rmse"] == 0.0
    assert head["metrics"]["physics"]["random_forest"]["spearman"] == pytest.approx(-1.0)
    assert head["gnn_vs_baseline"]["physics_gnn_spearman_ge_baseline"] is True
    # the true top half (lowest: records 0, 1) is the predicted top half
    assert head["screen"]["recall_at_top_fraction"] == 1.0
    assert head["screen"]["molecules"] == 4 and head["screen"]["held_out_molecules"] == 2
    assert head["screen"]["speedup"] == 100.0 and head["splits"]["activity"] == "scaffold"


def test_a_changed_prediction_changes_the_headline(tmp_path):
    _publish(tmp_path, gnn_physics=(1.0, 2.0, 3.0, 5.0))
    assert headline(tmp_path)["metrics"]["physics"]["gnn"]["rmse"] == pytest.approx(0.5)


def test_the_paired_gnn_against_forest_test_matches_molecules_by_record(tmp_path):
    from reference_workloads.drug_discovery.summary import gnn_vs_forest

    _publish(tmp_path, gnn_physics=(1.1, 2.1, 2.9, 4.2))  # errors 0.1-0.2 against the forest's 1-3
    test = pd.read_parquet(tmp_path / "seed-0-test_predictions.parquet")
    result = gnn_vs_forest([test, test.sample(frac=1.0, random_state=0)], "physics", min_relative_margin=0.5)
    assert result.n == 8 and result.passes
    tie = test.assign(prediction=test["target"])  # both models exact: no difference to find
    assert not gnn_vs_forest([tie], "physics", min_relative_margin=0.0).passes


def test_the_headline_averages_seeds_and_gives_their_spread(tmp_path):
    _publish(tmp_path, seeds=(0, 7))
    _publish_seed(tmp_path, 7, (1.0, 2.0, 3.0, 5.0))  # the second seed's GNN errs on one molecule
    head = headline(tmp_path)
    assert head["seeds"] == [0, 7]
    assert head["metrics"]["physics"]["gnn"]["rmse"] == pytest.approx(0.25)
    spread = head["over_seeds"]["physics"]["gnn"]["rmse"]
    assert spread["n"] == 2 and spread["interval"][0] < 0.25 < spread["interval"][1]
    assert head["comparisons"]["physics_gnn_vs_forest_abs_error"]["n"] == 8


def test_a_reused_seed_is_refused(tmp_path):
    _publish(tmp_path, seeds=(0, 0))
    with pytest.raises(ValueError, match="never reused"):
        headline(tmp_path)


def test_docking_hit_enrichment_comes_from_the_published_pool_and_predictions(tmp_path):
    _publish(tmp_path)
    hits = headline(tmp_path)["hits"]
    # the best quarter of the 4-molecule docked pool (lowest score) is one hit: record 0 at 1.0
    assert hits["threshold"] == 1.0 and hits["pool_hits"] == 1 and hits["pool_molecules"] == 4
    gnn, forest, random = hits["gnn"]["top_1pct"], hits["random_forest"]["top_1pct"], hits["random"]["top_1pct"]
    assert (gnn["molecules"], gnn["hits"], gnn["selected"], gnn["hits_selected"]) == (4, 1, 1, 1)
    assert gnn["recall"] == 1.0 and gnn["enrichment_factor"] == 4.0  # ranks the hit first
    assert forest["recall"] == 0.0 and forest["enrichment_factor"] == 0.0  # ranks it last
    assert random == {"recall": 0.25, "enrichment_factor": 1.0}
    spread = headline(tmp_path)["over_seeds"]["hits"]["gnn"]["top_5pct"]["recall"]
    assert spread["n"] == 1


def test_a_tampered_pool_or_prediction_changes_the_hit_headline(tmp_path):
    _publish(tmp_path)
    before = headline(tmp_path)["hits"]
    pool = tmp_path / "seed-0-screen_predictions.parquet"
    pd.read_parquet(pool).assign(physics=[1.0, 2.0, 3.0, 0.5]).to_parquet(pool, index=False)
    assert headline(tmp_path)["hits"]["threshold"] == 0.5 != before["threshold"]
    _publish(tmp_path, gnn_physics=(4.0, 2.0, 3.0, 1.0))  # the GNN now ranks the hit last
    assert headline(tmp_path)["hits"]["gnn"]["top_1pct"]["recall"] == 0.0


def test_a_test_split_without_docking_hits_reads_nan_not_a_failure(tmp_path):
    _publish(tmp_path, seeds=(0, 7))
    for seed in (0, 7):  # the pool's best quarter (0.5) is not in the test split
        pool = tmp_path / f"seed-{seed}-screen_predictions.parquet"
        pd.read_parquet(pool).assign(physics=[1.0, 2.0, 3.0, 0.5]).to_parquet(pool, index=False)
    head = headline(tmp_path)
    assert head["hits"]["gnn"]["top_1pct"]["hits"] == 0
    assert math.isnan(head["hits"]["gnn"]["top_1pct"]["recall"])
    spread = head["over_seeds"]["hits"]["gnn"]["top_5pct"]["recall"]
    assert spread["n"] == 2 and math.isnan(spread["mean"]) and len(spread["interval"]) == 2
