"""The result identifier names the result, not the run's clock."""

from __future__ import annotations

import json

from reference_workloads.provenance.publish import result_identifier

MANIFEST = {"config_hash": "c", "dataset_hash": "d", "model_hash": "m"}


def _folder(tmp_path, name, *, seconds, val_loss, throughput):
    folder = tmp_path / name
    folder.mkdir()
    training = {"history": [{"epoch": 0, "seconds": seconds, "val_loss": val_loss}], "parameters": 10}
    (folder / "seed-1-training.json").write_text(json.dumps(training))
    (folder / "seed-1-results.json").write_text(json.dumps({"screen": {"surrogate_molecules_per_second": throughput,
                                                                       "wall_seconds": seconds, "recall": 0.5}}))
    (folder / "figure.png").write_bytes(b"\x89PNG same bytes")
    return folder


def test_a_recompute_that_only_took_longer_keeps_its_identifier(tmp_path):
    first = _folder(tmp_path, "a", seconds=37.6, val_loss=0.01, throughput=1500.0)
    again = _folder(tmp_path, "b", seconds=41.2, val_loss=0.01, throughput=1320.0)
    assert result_identifier(first, "climate", MANIFEST) == result_identifier(again, "climate", MANIFEST)


def test_a_changed_result_value_changes_the_identifier(tmp_path):
    first = _folder(tmp_path, "a", seconds=37.6, val_loss=0.01, throughput=1500.0)
    moved = _folder(tmp_path, "b", seconds=37.6, val_loss=0.02, throughput=1500.0)
    assert result_identifier(first, "climate", MANIFEST) != result_identifier(moved, "climate", MANIFEST)


def test_a_changed_binary_file_changes_the_identifier(tmp_path):
    first = _folder(tmp_path, "a", seconds=1.0, val_loss=0.01, throughput=1.0)
    moved = _folder(tmp_path, "b", seconds=1.0, val_loss=0.01, throughput=1.0)
    (moved / "figure.png").write_bytes(b"\x89PNG other bytes")
    assert result_identifier(first, "climate", MANIFEST) != result_identifier(moved, "climate", MANIFEST)
