"""Serve the surrogate with KServe's ModelServer: V1 and V2 (Open Inference Protocol) REST.

Local default is loopback only: kserve 0.21 hard-codes ``host="0.0.0.0"`` in its REST
server's uvicorn config, so ``LoopbackModelServer`` sets the host on that config before the
event loop starts. Every request the model cannot score is answered 4xx with a message
(kserve maps ``InvalidInput`` to 400; oversized bodies get 413 from a small ASGI guard), so
a bad client never takes the server down.

Run: ``python -m reference_workloads.drug_discovery.serve --model-dir DIR --port N``.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests

from reference_workloads.core.tracking import free_port

LOOPBACK = "127.0.0.1"
MODEL_NAME = "drug-surrogate"
INPUT_NAME = "smiles"
OUTPUT_NAME = "prediction"
MAX_SMILES_LENGTH = 1000  # longer strings are not drug-like molecules; refuse before parsing


def _smiles_list(values: object, where: str, max_batch: int) -> list[str]:
    """Validate a batch of SMILES; the message names the field and what is accepted."""
    from kserve.errors import InvalidInput

    if not isinstance(values, list) or not values:
        raise InvalidInput(f"{where} is invalid: expected a non-empty list of SMILES strings")
    if len(values) > max_batch:
        raise InvalidInput(f"{where} has {len(values)} items, which is invalid: expected at most {max_batch}")
    for position, value in enumerate(values):
        if not isinstance(value, str) or not value or len(value) > MAX_SMILES_LENGTH:
            raise InvalidInput(
                f"{where}[{position}]={str(value)[:80]!r} is invalid: expected a SMILES string "
                f"of 1 to {MAX_SMILES_LENGTH} characters"
            )
    return values


def build_model(model_dir: str, name: str, max_batch: int, device: str = "cpu"):
    """A kserve.Model subclass around the surrogate (kserve imported lazily: it is heavy)."""
    import kserve
    from kserve.errors import InvalidInput
    from kserve.protocol.infer_type import InferOutput, InferRequest, InferResponse

    from .surrogate import Surrogate

    class SurrogateModel(kserve.Model):
        def __init__(self) -> None:
            super().__init__(name)
            self.surrogate: Surrogate | None = None

        def load(self) -> bool:
            self.surrogate = Surrogate(model_dir, device=device)
            self.ready = True
            return self.ready

        def _score(self, smiles: list[str], where: str) -> list[float]:
            try:
                return self.surrogate.predict(smiles).tolist()
            except ValueError as error:  # an unparsable SMILES; name it
                raise InvalidInput(f"{where}: {error}") from None

        def predict(self, payload, headers=None):
            if isinstance(payload, InferRequest):
                if len(payload.inputs) != 1 or payload.inputs[0].name != INPUT_NAME:
                    raise InvalidInput(f"inputs are invalid: expected exactly one input named {INPUT_NAME!r}")
                tensor = payload.inputs[0]
                if tensor.datatype != "BYTES":
                    raise InvalidInput(f"inputs[0].datatype={tensor.datatype!r} is invalid: expected 'BYTES'")
                data = [v.decode() if isinstance(v, bytes) else v for v in list(tensor.data)]
                if list(tensor.shape) != [len(data)]:
                    raise InvalidInput(
                        f"inputs[0].shape={list(tensor.shape)} is invalid: expected [{len(data)}], one SMILES per row"
                    )
                smiles = _smiles_list(data, "inputs[0].data", max_batch)
                values = self._score(smiles, "inputs[0].data")
                output = InferOutput(name=OUTPUT_NAME, shape=[len(values)], datatype="FP64", data=values)
                return InferResponse(response_id=payload.id or "", model_name=name, infer_outputs=[output])
            if not isinstance(payload, dict) or "instances" not in payload:
                raise InvalidInput('body is invalid: expected a JSON object {"instances": [SMILES, ...]}')
            smiles = _smiles_list(payload["instances"], "instances", max_batch)
            return {"predictions": self._score(smiles, "instances"), "target": self.surrogate.target}

    return SurrogateModel()


class BodySizeLimit:
    """ASGI guard: a declared body above ``limit`` bytes is answered 413 before it is read."""

    def __init__(self, app, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http":
            declared = dict(scope.get("headers") or []).get(b"content-length")
            if declared is not None and (not declared.isdigit() or int(declared) > self.limit):
                from starlette.responses import JSONResponse

                message = f"content-length={declared.decode()!r} is invalid: expected at most {self.limit} bytes"
                await JSONResponse({"error": message}, status_code=413)(scope, receive, send)
                return
        await self.app(scope, receive, send)


def serve(model_dir: str, *, port: int, host: str = LOOPBACK, name: str = MODEL_NAME,
          max_batch: int = 1024, max_body_bytes: int = 4 << 20, device: str = "cpu") -> None:
    """Start the KServe ModelServer in this process (blocks until SIGTERM or SIGINT)."""
    import kserve
    from kserve.model_server import app

    class LoopbackModelServer(kserve.ModelServer):
        def setup_event_loop(self) -> None:
            # Called by start() after the REST server is built and before it listens.
            self._rest_server.config.host = host
            super().setup_event_loop()

    app.add_middleware(BodySizeLimit, limit=max_body_bytes)
    model = build_model(model_dir, name, max_batch, device)
    model.load()
    server = LoopbackModelServer(
        http_port=port, enable_grpc=False, workers=1, enable_latency_logging=False
    )
    server.start([model])


@contextmanager
def running_server(model_dir: str | os.PathLike[str], *, port: int | None = None, max_batch: int = 1024,
                   device: str = "cpu", startup_timeout: float = 120.0) -> Iterator[str]:
    """Start the server in a subprocess on loopback; yield its base URL; always stop it."""
    port = port or free_port()
    command = [
        sys.executable, "-m", "reference_workloads.drug_discovery.serve",
        "--model-dir", str(model_dir), "--port", str(port), "--max-batch", str(max_batch),
        "--device", device,
    ]
    log = Path(model_dir) / "server.log"
    with log.open("ab") as sink:
        process = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT,
                                   env={**os.environ, "OMP_NUM_THREADS": "1"}, start_new_session=True)
    url = f"http://{LOOPBACK}:{port}"
    try:
        deadline = time.monotonic() + startup_timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"model server exited with {process.returncode}: see {log}")
            try:
                if requests.get(f"{url}/v2/models/{MODEL_NAME}/ready", timeout=2).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"model server not ready after {startup_timeout} s: see {log}")
            time.sleep(0.3)
        yield url
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-dir", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default=LOOPBACK, help="bind address (loopback by default)")
    parser.add_argument("--max-batch", type=int, default=1024)
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    options = parser.parse_args(argv)
    # kserve parses sys.argv when imported; hide our flags from it.
    sys.argv = sys.argv[:1]
    import torch

    torch.set_num_threads(1)
    serve(options.model_dir, port=options.port, host=options.host, max_batch=options.max_batch,
          device=options.device)


if __name__ == "__main__":
    main()
