"""MLflow tracking: an embedded store by default, any server through MLFLOW_TRACKING_URI."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import requests

EMBEDDED_DB = "mlflow.db"


class TrackingError(RuntimeError):
    """The tracking server could not be started or reached."""


def tracking_uri(root: str | os.PathLike[str]) -> str:
    """MLFLOW_TRACKING_URI when set, else an SQLite store kept under ``root``."""
    remote = os.environ.get("MLFLOW_TRACKING_URI")
    if remote:
        return remote
    Path(root).mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{Path(root).resolve() / EMBEDDED_DB}"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LocalMlflowServer:
    """An ``mlflow server`` on 127.0.0.1, started and stopped by the kit."""

    def __init__(self, root: str | os.PathLike[str], port: int = 0, startup_timeout: float = 300.0) -> None:
        self.root = Path(root).resolve()
        self.port = port or free_port()
        self.startup_timeout = startup_timeout
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def uri(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> LocalMlflowServer:
        self.root.mkdir(parents=True, exist_ok=True)
        command = [
            sys.executable, "-m", "mlflow", "server",
            "--host", "127.0.0.1", "--port", str(self.port), "--workers", "1",
            "--backend-store-uri", f"sqlite:///{self.root / EMBEDDED_DB}",
            "--artifacts-destination", (self.root / "artifacts").as_uri(),
        ]
        log = open(self.root / "server.log", "wb")  # noqa: SIM115 - lives as long as the server
        self._process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise TrackingError(f"mlflow server exited early; see {self.root / 'server.log'}")
            # Another server may answer on a recycled port: ours is up only once it says so.
            if self._listening() and self._healthy():
                return self
            time.sleep(0.5)
        self.__exit__(None, None, None)
        raise TrackingError(f"mlflow server did not answer on {self.uri} within {self.startup_timeout} s")

    def _listening(self) -> bool:
        log = (self.root / "server.log").read_text(errors="replace")
        return f"running on http://127.0.0.1:{self.port}" in log or f"Listening at: http://127.0.0.1:{self.port}" in log

    def _healthy(self) -> bool:
        try:
            return requests.get(f"{self.uri}/health", timeout=2).ok
        except requests.RequestException:
            return False

    def __exit__(self, *exc: object) -> None:
        if self._process is not None:
            import signal

            os.killpg(self._process.pid, signal.SIGTERM)
            try:
                self._process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self._process.pid, signal.SIGKILL)
                self._process.wait()
            self._process = None


def _flatten(prefix: str, value: Any, out: dict[str, Any]) -> None:
    if isinstance(value, Mapping):
        for key, inner in value.items():
            _flatten(f"{prefix}.{key}" if prefix else str(key), inner, out)
    else:
        out[prefix] = value


def flatten_params(params: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    _flatten("", params, out)
    return out


def _experiment_id(client: Any, name: str, artifact_root: Path | None) -> str:
    experiment = client.get_experiment_by_name(name)
    if experiment is not None:
        return experiment.experiment_id
    location = artifact_root.resolve().as_uri() if artifact_root is not None else None
    return client.create_experiment(name, artifact_location=location)


@contextmanager
def scoped_tracking_uri(uri: str) -> Iterator[None]:
    """Point MLflow at ``uri`` for a block, then restore the process's previous choice.

    mlflow.set_tracking_uri also exports MLFLOW_TRACKING_URI; left set, a later run in the
    same process would inherit this run's store, or a server that has since stopped.
    """
    import mlflow

    previous = os.environ.get("MLFLOW_TRACKING_URI")
    mlflow.set_tracking_uri(uri)
    try:
        yield
    finally:
        mlflow.set_tracking_uri(previous)


def log_run(
    *,
    uri: str,
    experiment: str,
    run_name: str,
    params: Mapping[str, Any],
    metrics_by_step: Mapping[str, Sequence[float]],
    final_metrics: Mapping[str, float],
    artifacts: Sequence[Path],
    model: Any,
    input_example: Any,
    registered_name: str,
    lineage_tags: Mapping[str, str],
    artifact_root: Path | None = None,
) -> dict[str, str]:
    """Log one run (params, per-epoch metrics, files, the model) and register the model.

    ``artifact_root`` places an embedded store's artifacts beside it; a remote server
    chooses its own. Returns the run id and the registered model version.
    """
    import mlflow
    import mlflow.pytorch
    import torch
    from mlflow.tracking import MlflowClient

    with scoped_tracking_uri(uri):
        client = MlflowClient(tracking_uri=uri)
        local_store = uri.startswith("sqlite:") or uri.startswith("file:")
        experiment_id = _experiment_id(client, experiment, artifact_root if local_store else None)
        with mlflow.start_run(experiment_id=experiment_id, run_name=run_name) as run:
            mlflow.log_params({k: str(v)[:500] for k, v in flatten_params(params).items()})
            mlflow.set_tags(dict(lineage_tags))
            for name, values in metrics_by_step.items():
                for step, value in enumerate(values):
                    mlflow.log_metric(name, float(value), step=step)
            mlflow.log_metrics({k: float(v) for k, v in final_metrics.items()})
            for path in artifacts:
                mlflow.log_artifact(str(path))
            info = mlflow.pytorch.log_model(
                pytorch_model=model, name="model", serialization_format="pickle",
                input_example=input_example,
                pip_requirements=[f"torch=={torch.__version__.split('+')[0]}"],
            )
            version = mlflow.register_model(info.model_uri, registered_name, tags=dict(lineage_tags))
        for key, value in lineage_tags.items():
            client.set_registered_model_tag(registered_name, key, value)
        return {"run_id": run.info.run_id, "model_version": str(version.version), "model_uri": info.model_uri}
