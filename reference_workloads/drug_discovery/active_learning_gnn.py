"""The gnn strategy's machinery: train the surrogate in-process, serve it, screen over HTTP.

Each round retrains the kit's GNN from scratch (one process, seeded) on everything docked so
far, saves it as the artefact the server loads (``surrogate.save_surrogate``), and the KServe
ModelServer (``serve.running_server``) scores the undocked pool over HTTP
(``screen.score_library``). One server runs per repeat and reloads the new artefact each round
through its token-guarded model-repository routes (unload, load): a reload re-reads the
folder and restarts the scoring process, which costs far less than a new server process.
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import requests
import torch

from .featurize import Graph
from .gnn import GnnConfig, MolecularGnn
from .graph_cache import CollatedGraphs
from .screen import score_library
from .serve import MODEL_NAME, running_server
from .serving.settings import ServingSettings
from .surrogate import Normaliser, Surrogate, save_surrogate

_INFER_ANSWERED = re.compile(r'^ai4s_serving_requests_total\{kind="infer",status="200"\} ([0-9.e+]+)$', re.M)
STALE_ATOL, STALE_RTOL = 1e-3, 1e-4
"""The server's and this process's predictions of the new model must agree this well (kcal/mol,
relative): float32 batches of other sizes or another device differ in the last bits, a stale
model by far more."""


def train_surrogate(graphs: CollatedGraphs, positions: Sequence[int], targets: np.ndarray, *, hidden: int,
                    layers: int, epochs: int, learning_rate: float, batch_size: int,
                    seed: int) -> tuple[MolecularGnn, Normaliser]:
    """A fresh GNN fitted to standardised ``targets`` of the molecules at ``positions`` (seeded).

    On one torch thread: batches of a few hundred atoms gain nothing from more, and on a busy
    2-core machine two threads made a round 2x slower (4.8 s against 10.0 s for 192 molecules,
    15 epochs); a niced run at load 11 took 40 to 117 s per round on two threads.
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _fit(graphs, positions, targets, hidden=hidden, layers=layers, epochs=epochs,
                    learning_rate=learning_rate, batch_size=batch_size, seed=seed)
    finally:
        torch.set_num_threads(threads)


def _fit(graphs: CollatedGraphs, positions: Sequence[int], targets: np.ndarray, *, hidden: int, layers: int,
         epochs: int, learning_rate: float, batch_size: int, seed: int) -> tuple[MolecularGnn, Normaliser]:
    normaliser = Normaliser.fit(targets)
    scaled = torch.tensor((targets - normaliser.mean) / normaliser.std, dtype=torch.float32, device=graphs.device)
    generator = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    model = MolecularGnn(GnnConfig(hidden=hidden, layers=layers)).to(graphs.device)
    optimiser = torch.optim.AdamW(model.parameters(), lr=learning_rate, weight_decay=1e-4)
    ids = np.asarray(positions, dtype=np.int64)
    model.train()
    for _ in range(epochs):
        order = torch.randperm(len(ids), generator=generator).numpy()
        for start in range(0, len(ids), batch_size):
            chosen = order[start : start + batch_size]
            optimiser.zero_grad(set_to_none=True)
            loss = torch.mean((model(graphs.batch(ids[chosen].tolist())) - scaled[torch.as_tensor(chosen)]) ** 2)
            loss.backward()
            optimiser.step()
    model.eval()
    return model, normaliser


def infer_requests_answered(url: str) -> int:
    """The server's own count of inference requests it answered with 200 (its /metrics)."""
    text = requests.get(f"{url}/metrics", timeout=10).text
    found = _INFER_ANSWERED.search(text)
    return int(float(found.group(1))) if found else 0


class ServedSurrogate:
    """One model server for a repeat; ``publish`` swaps in a new model, ``screen`` scores over HTTP."""

    def __init__(self, folder: Path, url: str, token: str, started_s: float) -> None:
        self.folder, self.url, self.token, self.started_s = folder, url, token, started_s

    def _repository(self, action: str) -> None:
        answer = requests.post(f"{self.url}/v2/repository/models/{MODEL_NAME}/{action}", json={},
                               headers={"Authorization": f"Bearer {self.token}"}, timeout=120)
        if answer.status_code != 200:
            raise RuntimeError(f"model server answered {answer.status_code} to {action}: {answer.text[:200]}")

    def publish(self, model: MolecularGnn, normaliser: Normaliser) -> float:
        """Save the new model where the server loads from and reload it; returns the seconds taken."""
        started = time.perf_counter()
        save_surrogate(self.folder, model, normaliser=normaliser, target="docking_score")
        self._repository("unload")
        self._repository("load")
        return time.perf_counter() - started

    def screen(self, smiles: Sequence[str], batch_size: int) -> tuple[np.ndarray, int, float]:
        """Predictions for ``smiles`` from the server, the inference requests it answered, seconds."""
        before = infer_requests_answered(self.url)
        run = score_library(self.url, list(smiles), batch_size=batch_size)
        answered = infer_requests_answered(self.url) - before
        # The server must score with the model just published, not a stale one.
        probe = list(smiles[:8])
        local = Surrogate(self.folder).predict(probe)
        if not np.allclose(run.predictions[: len(probe)], local, atol=STALE_ATOL, rtol=STALE_RTOL):
            raise RuntimeError(f"model server's predictions differ from the published model's by up to "
                               f"{np.max(np.abs(run.predictions[:len(probe)] - local)):.3g}: it serves a stale model")
        return run.predictions, answered, run.seconds


@contextmanager
def served_surrogate(folder: Path, first: tuple[MolecularGnn, Normaliser], *, device: str,
                     max_batch: int) -> Iterator[ServedSurrogate]:
    """Start a loopback server on ``first`` (saved into ``folder``); stop it on exit."""
    folder = Path(folder)
    save_surrogate(folder, first[0], normaliser=first[1], target="docking_score")
    token = secrets.token_hex(16)
    settings = ServingSettings(max_batch=max_batch, repository_token=token, enable_metrics=True)
    started = time.perf_counter()
    with running_server(folder, device=device, settings=settings) as url:
        yield ServedSurrogate(folder, url, token, time.perf_counter() - started)


def pool_graphs(graphs: Sequence[Graph], device: str) -> CollatedGraphs:
    return CollatedGraphs(graphs, torch.device(device))
