"""MLflow tracking against a real local server on loopback and the embedded SQLite store."""

import os
import socket

import mlflow
import numpy as np
import pytest
import torch
from mlflow.tracking import MlflowClient

from reference_workloads.core.tracking import (
    LocalMlflowServer,
    log_run,
    scoped_tracking_uri,
    tracking_uri,
)


def _log(uri, tmp_path, name):
    model = torch.nn.Linear(2, 1)
    artifact = tmp_path / "results.json"
    artifact.write_text('{"rmse": 0.5}')
    return log_run(
        uri=uri, experiment="ai4s-test", run_name="r1", params={"train": {"epochs": 2}, "seed": 1},
        metrics_by_step={"train_loss": [1.0, 0.5]}, final_metrics={"rmse": 0.5}, artifacts=[artifact],
        model=model, input_example=np.zeros((1, 2), dtype=np.float32), registered_name=name,
        lineage_tags={"dataset_hash": "d" * 64, "code_version": "abc", "config_hash": "c" * 64},
        artifact_root=tmp_path / "artifacts",
    )


def _check(uri, logged, name):
    client = MlflowClient(tracking_uri=uri)
    run = client.get_run(logged["run_id"])
    assert run.data.params["train.epochs"] == "2"
    assert [m.value for m in client.get_metric_history(logged["run_id"], "train_loss")] == [1.0, 0.5]
    assert run.data.tags["dataset_hash"] == "d" * 64
    assert client.get_registered_model(name).tags["config_hash"] == "c" * 64
    version = client.get_model_version(name, logged["model_version"])
    assert version.tags["code_version"] == "abc"
    with scoped_tracking_uri(uri):
        loaded = mlflow.pytorch.load_model(f"models:/{name}/{logged['model_version']}")
    assert isinstance(loaded, torch.nn.Linear)
    artifacts = [a.path for a in client.list_artifacts(logged["run_id"])]
    assert "results.json" in artifacts


@pytest.mark.timeout(300)
def test_log_run_to_a_local_mlflow_server_on_loopback(tmp_path, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    with LocalMlflowServer(tmp_path / "server") as server:
        assert server.uri.startswith("http://127.0.0.1:")
        logged = _log(server.uri, tmp_path, "ai4s-test-served")
        _check(server.uri, logged, "ai4s-test-served")
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", server.port), timeout=2)


def test_embedded_store_lives_under_the_given_root_unless_a_uri_is_set(tmp_path, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    uri = tracking_uri(tmp_path / "mlflow")
    assert uri == f"sqlite:///{tmp_path / 'mlflow' / 'mlflow.db'}"
    logged = _log(uri, tmp_path, "ai4s-test-embedded")
    assert "MLFLOW_TRACKING_URI" not in os.environ  # a later run must not inherit this store
    _check(uri, logged, "ai4s-test-embedded")
    assert any((tmp_path / "artifacts").rglob("results.json"))
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://tracking.example:5000")
    assert tracking_uri(tmp_path) == "http://tracking.example:5000"
