"""Serve the surrogate with KServe's ModelServer: the Open Inference Protocol (V2) and V1 REST.

kserve's ModelServer runs the process (uvicorn, signals, graceful shutdown, the model
registry); the HTTP app it runs is ours (``serving/app.py``), because kserve 0.21's own
handlers are where the protocol defects were: pydantic's 422 ``{"detail": ...}``, 500 on NaN
or bad binary framing, ``null`` for omitted fields, lower-case datatypes accepted, bodies
without a Content-Type read as binary, and unauthenticated load/unload.

Security and resource settings (``serving/settings.py``; defaults in brackets; CLI flag):

- bind address [127.0.0.1] ``--host``; kserve hard-codes 0.0.0.0, the server overrides it.
- Host allow list [127.0.0.1, localhost, ::1] ``--allowed-host NAME`` (repeatable; replaces
  the default): other Host names get 400, a cross-site Origin 403, a form or text/plain body
  415, so neither a DNS-rebinding page nor a plain cross-site POST can drive the server.
- model-repository routes (index/load/unload) [off]: on only when the environment variable
  ``AI4S_SERVE_REPOSITORY_TOKEN`` holds a token (>= 16 characters; an environment variable,
  not a flag, so it is not visible in ``ps``); then they need ``Authorization: Bearer <token>``
  and server metadata advertises the ``model_repository`` extension. Off, they are 404.
- ``/metrics`` [off] ``--enable-metrics``. No ``/docs``: kserve's would describe its own
  handlers, not these; the contract is model metadata (``GET /v2/models/drug-surrogate``).
- body cap [4 MiB] ``--max-body-bytes``, counted as bytes arrive, so a chunked body is
  refused with 413 at the cap and never buffered; body-read timeout [10 s] ``--body-timeout``
  (408); header-read timeout [10 s] ``--header-timeout`` (the connection is closed: a
  client sending nothing or half a request line cannot hold it); keep-alive idle timeout
  [5 s] ``--keep-alive``; batch cap [1024] ``--max-batch``.
- concurrency: inference requests in flight [64] ``--max-inflight`` (503 + Retry-After past
  it); open connections [256] ``--max-connections`` (uvicorn's own 503).
- scoring runs in ``--score-workers`` [1] processes (forkserver, one torch thread
  each), never on the event loop or under its GIL, so liveness answers in
  milliseconds while a batch is scored; a scoring process that dies is replaced (the
  request that saw it gets 503). Batches of at most ``--inline-max-batch`` [4] molecules
  are scored by one thread of the server instead (the process hop costs more than they do;
  0 sends every batch to the processes).

Inputs: one BYTES tensor ``smiles`` of shape [n]. Each string must be SMILES and nothing else
(``serving/chemistry.py``: a Cyrillic homoglyph, a byte-order mark or whitespace is an error,
not a silently shortened molecule). Outputs, in this order unless ``outputs`` asks for some:
``prediction`` FP64 [n], ``canonical_smiles`` BYTES [n] (what was scored) and
``scoring_error`` BYTES [n] ("" when scored). A molecule that cannot be scored in an otherwise
valid batch gets its reason in ``scoring_error``, ``""`` as canonical SMILES and NaN as
prediction (``null`` in JSON). A malformed request (wrong datatype or shape, bad JSON or
binary framing, a non-string, a batch over the cap) is refused whole with 4xx
``{"error": "..."}``. V1 (``{"instances": [...]}``) has a single result list, so there one
unscorable molecule refuses the batch with 400 naming it.

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
from importlib import metadata
from pathlib import Path

import numpy as np
import requests

from reference_workloads.core.tracking import free_port

from .serving.chemistry import MAX_SMILES_LENGTH, check_smiles
from .serving.protocol import TensorSpec
from .serving.settings import LOOPBACK_HOSTS, ServingSettings

LOOPBACK = "127.0.0.1"
MODEL_NAME = "drug-surrogate"
INPUT_NAME = "smiles"
OUTPUT_NAME = "prediction"
CANONICAL_NAME = "canonical_smiles"
ERROR_NAME = "scoring_error"
TOKEN_ENV = "AI4S_SERVE_REPOSITORY_TOKEN"
INPUT_SPEC = TensorSpec(name=INPUT_NAME, datatype="BYTES", shape=(-1,))
OUTPUT_SPECS = {
    OUTPUT_NAME: TensorSpec(name=OUTPUT_NAME, datatype="FP64", shape=(-1,)),
    CANONICAL_NAME: TensorSpec(name=CANONICAL_NAME, datatype="BYTES", shape=(-1,)),
    ERROR_NAME: TensorSpec(name=ERROR_NAME, datatype="BYTES", shape=(-1,)),
}
__all__ = ["LOOPBACK", "MODEL_NAME", "INPUT_NAME", "OUTPUT_NAME", "CANONICAL_NAME", "ERROR_NAME",
           "MAX_SMILES_LENGTH", "ServingSettings", "build_model", "serve", "running_server"]


def score_strings(surrogate, strings: list[str]) -> dict:
    """Check every string, score the molecules that pass, and say why the others did not."""
    checks = [check_smiles(s) for s in strings]
    predictions = np.full(len(strings), np.nan)
    errors = [c.error or "" for c in checks]
    good = [i for i, c in enumerate(checks) if c.error is None]
    if good:
        try:
            predictions[good] = surrogate.predict([strings[i] for i in good])
        except ValueError:  # featurisation refused one that passed the checks: find it, score the rest
            for i in good:
                try:
                    predictions[i] = surrogate.predict([strings[i]])[0]
                except ValueError as error:
                    errors[i] = str(error)
    canonical = [c.canonical if not errors[i] else "" for i, c in enumerate(checks)]
    return {OUTPUT_NAME: predictions, CANONICAL_NAME: canonical, ERROR_NAME: errors, "target": surrogate.target}


_WORKER_SURROGATE = None  # the surrogate, inside a scoring process


def _start_worker(model_dir: str, device: str) -> None:
    """Scoring process initialiser: one torch thread, the surrogate loaded once.

    A process, not a thread: scoring is half Python (featurisation), and a thread would hold
    the event loop's GIL, so health probes would wait behind a batch. (A lower ``nice`` was
    tried and dropped: on a shared machine it slowed scoring more than it sped up probes.)
    """
    import torch

    from .surrogate import Surrogate

    global _WORKER_SURROGATE
    torch.set_num_threads(1)
    _WORKER_SURROGATE = Surrogate(model_dir, device=device)


def _score_in_worker(strings: list[str]) -> dict:
    return score_strings(_WORKER_SURROGATE, strings)


def build_model(model_dir: str, name: str = MODEL_NAME, device: str = "cpu", workers: int = 1,
                inline_max_batch: int = 0):
    """A kserve.Model subclass scoring in ``workers`` processes (kserve imported lazily: it is heavy).

    Batches of at most ``inline_max_batch`` molecules are scored by one thread of this
    process instead: the hop to a process costs more than scoring them, and the thread holds
    the event loop's GIL only for the millisecond or so such a batch takes.
    """
    import concurrent.futures
    import multiprocessing

    import kserve

    from .serving.app import NotReady
    from .surrogate import Surrogate

    class SurrogateModel(kserve.Model):
        input_spec = INPUT_SPEC
        output_specs = OUTPUT_SPECS
        max_length = MAX_SMILES_LENGTH

        def __init__(self) -> None:
            super().__init__(name)
            self.pool: concurrent.futures.ProcessPoolExecutor | None = None
            self.local: Surrogate | None = None
            self.inline = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="score-inline")

        def load(self) -> bool:
            local = Surrogate(model_dir, device=device)  # a bad artefact fails here, with its message
            pool = concurrent.futures.ProcessPoolExecutor(
                workers, mp_context=multiprocessing.get_context("forkserver"), initializer=_start_worker,
                initargs=(str(model_dir), device))
            for _ in range(workers):  # start them now, not on the first request
                pool.submit(_score_in_worker, ["C"]).result()
            self.pool, self.local = pool, local
            self.ready = True
            return self.ready

        def stop(self) -> None:
            self.ready = False
            pool, self.pool, self.local = self.pool, None, None
            if pool is not None:
                pool.shutdown(wait=False, cancel_futures=True)

        def submit(self, strings: list[str]) -> concurrent.futures.Future:
            pool, local = self.pool, self.local  # one read: an unload cannot pull them away mid-call
            if pool is None or local is None:
                raise NotReady()
            if len(strings) <= inline_max_batch:
                return self.inline.submit(score_strings, local, strings)
            return pool.submit(_score_in_worker, strings)

    return SurrogateModel()


def serve(model_dir: str, *, port: int, host: str = LOOPBACK, name: str = MODEL_NAME,
          settings: ServingSettings | None = None, device: str = "cpu") -> None:
    """Start the KServe ModelServer in this process (blocks until SIGTERM or SIGINT)."""
    import kserve

    from .serving.app import ServingApp
    from .serving.connection import with_header_timeout

    settings = settings or ServingSettings()
    model = build_model(model_dir, name, device, settings.score_workers, settings.inline_max_batch)
    model.load()
    app = ServingApp(model, settings, server_version=metadata.version("kserve"))

    class GuardedModelServer(kserve.ModelServer):
        def setup_event_loop(self) -> None:
            # Called by start() after the REST server is built and before it listens.
            config = self._rest_server.config
            config.host = host
            config.app = app  # ours, not kserve.model_server:app (see the module docstring)
            config.timeout_keep_alive = settings.keep_alive_s
            config.http = with_header_timeout(settings.header_timeout_s)
            config.limit_concurrency = settings.max_connections
            config.server_header = False
            super().setup_event_loop()

    server = GuardedModelServer(http_port=port, enable_grpc=False, workers=1, enable_latency_logging=False)
    server.start([model])


def _flags(settings: ServingSettings) -> list[str]:
    flags = ["--max-batch", str(settings.max_batch), "--max-body-bytes", str(settings.max_body_bytes),
             "--body-timeout", str(settings.body_timeout_s),
             "--header-timeout", str(settings.header_timeout_s), "--keep-alive", str(settings.keep_alive_s),
             "--max-inflight", str(settings.max_inflight), "--max-connections", str(settings.max_connections),
             "--score-workers", str(settings.score_workers), "--inline-max-batch", str(settings.inline_max_batch)]
    for allowed in settings.allowed_hosts:
        flags += ["--allowed-host", allowed]
    return flags + (["--enable-metrics"] if settings.enable_metrics else [])


@contextmanager
def running_server(model_dir: str | os.PathLike[str], *, port: int | None = None, max_batch: int = 1024,
                   device: str = "cpu", startup_timeout: float = 120.0,
                   settings: ServingSettings | None = None) -> Iterator[str]:
    """Start the server in a subprocess on loopback; yield its base URL; always stop it.

    ``settings`` (when given) wins over ``max_batch``; its repository token travels in the
    child's environment.
    """
    settings = settings or ServingSettings(max_batch=max_batch)
    port = port or free_port()
    command = [
        sys.executable, "-m", "reference_workloads.drug_discovery.serve",
        "--model-dir", str(model_dir), "--port", str(port), "--device", device, *_flags(settings),
    ]
    env = {key: value for key, value in os.environ.items() if key != TOKEN_ENV}
    env["OMP_NUM_THREADS"] = "1"
    if settings.repository_token is not None:
        env[TOKEN_ENV] = settings.repository_token
    log = Path(model_dir) / "server.log"
    with log.open("ab") as sink:
        process = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT, env=env, start_new_session=True)
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
    defaults = ServingSettings()
    parser.add_argument("--model-dir", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default=LOOPBACK, help="bind address (loopback by default)")
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--max-batch", type=int, default=defaults.max_batch)
    parser.add_argument("--max-body-bytes", type=int, default=defaults.max_body_bytes)
    parser.add_argument("--body-timeout", type=float, default=defaults.body_timeout_s)
    parser.add_argument("--header-timeout", type=float, default=defaults.header_timeout_s)
    parser.add_argument("--keep-alive", type=float, default=defaults.keep_alive_s)
    parser.add_argument("--max-inflight", type=int, default=defaults.max_inflight)
    parser.add_argument("--max-connections", type=int, default=defaults.max_connections)
    parser.add_argument("--score-workers", type=int, default=defaults.score_workers)
    parser.add_argument("--inline-max-batch", type=int, default=defaults.inline_max_batch)
    parser.add_argument("--allowed-host", action="append", help=f"Host header name to accept "
                        f"(repeatable; default {', '.join(LOOPBACK_HOSTS)})")
    parser.add_argument("--enable-metrics", action="store_true", help="serve Prometheus metrics at /metrics")
    options = parser.parse_args(argv)
    settings = ServingSettings(
        max_batch=options.max_batch, max_body_bytes=options.max_body_bytes, body_timeout_s=options.body_timeout,
        header_timeout_s=options.header_timeout,
        keep_alive_s=options.keep_alive, max_inflight=options.max_inflight,
        max_connections=options.max_connections, score_workers=options.score_workers,
        inline_max_batch=options.inline_max_batch,
        allowed_hosts=tuple(options.allowed_host or LOOPBACK_HOSTS), enable_metrics=options.enable_metrics,
        repository_token=os.environ.get(TOKEN_ENV) or None,
    )
    # kserve parses sys.argv when imported; hide our flags from it.
    sys.argv = sys.argv[:1]
    import torch

    torch.set_num_threads(1)
    serve(options.model_dir, port=options.port, host=options.host, settings=settings, device=options.device)


if __name__ == "__main__":
    main()
