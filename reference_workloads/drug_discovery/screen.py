"""The screening job: score a whole library through the served surrogate, in batches.

It measures what the served model buys: throughput in molecules per second next to the
physics stage's, and how many of the physics top candidates the surrogate's top recovers.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import requests

from .evaluate import enrichment_curve, recall_at_fraction, top_positions
from .serve import ERROR_NAME, INPUT_NAME, MODEL_NAME, OUTPUT_NAME


@dataclass(kw_only=True, frozen=True, slots=True)
class ScreenRun:
    """Predictions for every molecule, and what scoring them cost."""

    predictions: np.ndarray
    seconds: float
    requests: int

    @property
    def molecules_per_second(self) -> float:
        return len(self.predictions) / self.seconds if self.seconds > 0 else float("inf")


def request_body(smiles: Sequence[str], protocol: str) -> dict:
    if protocol == "v1":
        return {"instances": list(smiles)}
    if protocol == "v2":
        return {"inputs": [{"name": INPUT_NAME, "shape": [len(smiles)], "datatype": "BYTES",
                            "data": list(smiles)}]}
    raise ValueError(f"protocol={protocol!r} is invalid: expected v1 or v2")


def endpoint(url: str, protocol: str, model: str = MODEL_NAME) -> str:
    return f"{url}/v1/models/{model}:predict" if protocol == "v1" else f"{url}/v2/models/{model}/infer"


def _values(answer: dict, protocol: str, chunk: Sequence[str], start: int) -> list[float]:
    """Predictions of one batch; a molecule the server could not score stops the screen, named."""
    if protocol == "v1":
        return answer["predictions"]
    outputs = {tensor["name"]: tensor["data"] for tensor in answer["outputs"]}
    for position, error in enumerate(outputs.get(ERROR_NAME, [])):
        if error:
            raise RuntimeError(f"model server could not score molecule {start + position} "
                               f"{chunk[position][:80]!r}: {error}")
    return outputs[OUTPUT_NAME]


def score_library(url: str, smiles: Sequence[str], *, batch_size: int, protocol: str = "v2",
                  timeout: float = 120.0) -> ScreenRun:
    """POST the library in batches over one keep-alive session; fail loudly on any non-200.

    A molecule the server cannot score (its ``scoring_error`` output is not empty) is an
    error too: a screen with holes would rank the library on fewer molecules than it says.
    """
    target = endpoint(url, protocol)
    values: list[float] = []
    started = time.perf_counter()
    with requests.Session() as session:
        for start in range(0, len(smiles), batch_size):
            chunk = smiles[start : start + batch_size]
            answer = session.post(target, json=request_body(chunk, protocol), timeout=timeout)
            if answer.status_code != 200:
                raise RuntimeError(f"model server answered {answer.status_code} for batch at {start}: {answer.text[:300]}")
            batch = _values(answer.json(), protocol, chunk, start)
            if len(batch) != len(chunk):
                raise RuntimeError(f"model server returned {len(batch)} predictions for {len(chunk)} molecules")
            values.extend(batch)
    seconds = time.perf_counter() - started
    requests_sent = -(-len(smiles) // batch_size)
    return ScreenRun(predictions=np.asarray(values, dtype=np.float64), seconds=seconds, requests=requests_sent)


def screening_report(table: pd.DataFrame, target: str, run: ScreenRun, *, top_fraction: float,
                     higher_is_better: bool, physics_molecules_per_second: float,
                     held_out: np.ndarray, top_k: int = 10) -> dict:
    """Recall of the physics top among the surrogate's top, speed-up, and the top candidates.

    ``table`` holds the screened molecules (record, name, smiles, ``target``) in the order
    they were scored; ``held_out`` marks those the surrogate never trained on, where recall
    is the honest number (on the whole library it is flattered by training molecules).
    """
    truth = table[target].to_numpy(dtype=np.float64)
    recall_all = recall_at_fraction(truth, run.predictions, top_fraction, higher_is_better=higher_is_better)
    held = np.asarray(held_out, dtype=bool)
    recall_held = (
        recall_at_fraction(truth[held], run.predictions[held], top_fraction, higher_is_better=higher_is_better)
        if held.sum() >= 2 else float("nan")
    )
    best = top_positions(run.predictions, top_k / len(truth), higher_is_better=higher_is_better)[:top_k]
    physics_rank = np.empty(len(truth), dtype=np.int64)
    physics_rank[top_positions(truth, 1.0, higher_is_better=higher_is_better)] = np.arange(1, len(truth) + 1)
    candidates = [
        {"record": int(table["record"].iloc[i]), "name": str(table["name"].iloc[i]),
         "smiles": str(table["smiles"].iloc[i]), "predicted": float(run.predictions[i]),
         "physics": float(truth[i]), "physics_rank": int(physics_rank[i])}
        for i in best
    ]
    screened, found = enrichment_curve(truth, run.predictions, top_fraction, higher_is_better=higher_is_better)
    return {
        "molecules": int(len(truth)),
        "top_fraction": top_fraction,
        "recall_at_top_fraction": recall_all,
        "recall_at_top_fraction_held_out": recall_held,
        "held_out_molecules": int(held.sum()),
        "surrogate_molecules_per_second": run.molecules_per_second,
        "physics_molecules_per_second": physics_molecules_per_second,
        "speedup": run.molecules_per_second / physics_molecules_per_second,
        "seconds": run.seconds,
        "requests": run.requests,
        "top_candidates": candidates,
        "enrichment": {"screened": screened.tolist(), "found": found.tolist()},
    }
