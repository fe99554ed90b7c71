import json

from reference_workloads.drug_discovery.summary import summarise


def test_summary_keeps_the_metrics_and_screening_headline(tmp_path):
    metrics = {"physics": {"gnn": {"rmse": 1.0, "r2": 0.5, "spearman": 0.9, "n": 10}}}
    screen = {"molecules": 10, "speedup": 50.0, "recall_at_top_fraction_held_out": 1.0, "top_candidates": [1, 2]}
    (tmp_path / "results.json").write_text(json.dumps({
        "metrics": metrics, "splits": {"physics": "random"}, "physics_target": "energy_min",
        "gnn_vs_baseline": {"physics_gnn_spearman_ge_baseline": True}, "screen": screen}))
    summary = summarise(tmp_path)
    assert summary["metrics"] == metrics
    assert summary["screen"] == {"molecules": 10, "speedup": 50.0, "recall_at_top_fraction_held_out": 1.0}
    assert summary["gnn_vs_baseline"]["physics_gnn_spearman_ge_baseline"] is True
