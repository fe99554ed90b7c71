"""AI4S-PERF-003: the KServe server on loopback against the bare forward pass in this process.

Within each repeat, for batch sizes 1, 32 and 256, a window of requests through HTTP (V2
JSON, one keep-alive connection) and a window of bare ``Surrogate.predict`` calls on the same
molecules alternate; each window gives a p50 and a p99. The served-minus-bare p50 is taken
per repeat (paired), and its interval is a bootstrap of the median over repeats. The target
(at most 2 ms p50) is read at batch 1, where the server's own cost is not hidden behind
featurisation and the forward pass; the other sizes are reported beside it. Once per repeat,
twenty clients post batches of 32 while a probe times ``GET /v2/health/live``: its p99 is
what a liveness probe sees under load.

Client and server share the machine (and, here, 2 cores), so these are what a co-located
client sees, not the server alone. Run: ``python -m tests.bench.run --only serving``.
"""

from __future__ import annotations

import http.client
import os
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from tests.bench.stats import (
    BOOTSTRAP_DIFF,
    bootstrap_median,
    entry,
    paired_difference,
    paired_ratio,
)

BATCHES = (1, 32, 256)
CLIENTS = 20
ONE_CLIENT_REQUESTS = {1: 100, 32: 20, 256: 4}  # per window; sized for ~0.3 s each on 2 cores
MANY_CLIENT_BATCH = 32
MANY_CLIENT_REQUESTS = 3  # per client per repeat
REQUIREMENT = "AI4S-PERF-003"
METRIC = "serving_overhead_p50_ms"


class Client:
    """One keep-alive connection posting V2 JSON (what the screening client sends)."""

    def __init__(self, port: int) -> None:
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)

    def infer(self, body: bytes) -> float:
        started = time.perf_counter()
        self.connection.request("POST", "/v2/models/drug-surrogate/infer", body=body,
                                headers={"content-type": "application/json"})
        answer = self.connection.getresponse()
        payload = answer.read()
        elapsed = time.perf_counter() - started
        if answer.status != 200:
            raise RuntimeError(f"server answered {answer.status}: {payload[:200]!r}")
        return elapsed

    def live(self) -> float:
        started = time.perf_counter()
        self.connection.request("GET", "/v2/health/live")
        answer = self.connection.getresponse()
        answer.read()
        return time.perf_counter() - started


def body_for(smiles: list[str]) -> bytes:
    return orjson.dumps({"inputs": [{"name": "smiles", "datatype": "BYTES", "shape": [len(smiles)], "data": smiles}]})


def many_clients(port: int, body: bytes, per_client: int) -> tuple[list[float], float, list[float]]:
    """Latencies, wall seconds, and liveness probe latencies while ``CLIENTS`` clients post."""
    latencies: list[float] = []
    probes: list[float] = []
    lock = threading.Lock()
    done = threading.Event()
    barrier = threading.Barrier(CLIENTS + 1)

    def worker() -> None:
        client = Client(port)
        barrier.wait()
        mine = [client.infer(body) for _ in range(per_client)]
        with lock:
            latencies.extend(mine)

    def prober() -> None:
        client = Client(port)
        while not done.is_set():
            probes.append(client.live())
            time.sleep(0.005)

    threads = [threading.Thread(target=worker) for _ in range(CLIENTS)]
    for thread in threads:
        thread.start()
    probe = threading.Thread(target=prober)
    barrier.wait()
    started = time.perf_counter()
    probe.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    done.set()
    probe.join()
    return latencies, wall, probes


def _p50_p99(seconds: list[float]) -> tuple[float, float]:
    values = np.asarray(seconds) * 1000
    return float(np.percentile(values, 50)), float(np.percentile(values, 99))


def measure(repeats: int) -> list[dict[str, Any]]:
    """Served against bare latency per batch size, and liveness p99 under twenty clients."""
    import torch

    from reference_workloads.drug_discovery.gnn import GnnConfig, MolecularGnn
    from reference_workloads.drug_discovery.library import load_library
    from reference_workloads.drug_discovery.recipes import book
    from reference_workloads.drug_discovery.serve import ServingSettings, running_server
    from reference_workloads.drug_discovery.surrogate import Normaliser, Surrogate, save_surrogate

    torch.set_num_threads(1)
    load_before = os.getloadavg()  # the machine may be shared: say how busy it was
    model_config = book.get("laptop").model
    library = load_library("nci", limit=600).molecules["smiles"].tolist()
    batches = {size: library[:size] for size in BATCHES}
    bodies = {size: body_for(smiles) for size, smiles in batches.items()}
    windows: dict[int, dict[str, list[tuple[float, float]]]] = {s: {"served": [], "bare": []} for s in BATCHES}
    live_p99: list[float] = []
    throughput: list[float] = []
    with tempfile.TemporaryDirectory() as scratch:
        torch.manual_seed(0)
        save_surrogate(scratch, MolecularGnn(GnnConfig(**model_config.as_dict())),
                       normaliser=Normaliser(mean=0.0, std=1.0), target="bench")
        bare = Surrogate(scratch)
        settings = ServingSettings(max_batch=max(BATCHES), max_inflight=4 * CLIENTS)
        with running_server(Path(scratch), settings=settings) as url:
            port = int(url.rsplit(":", 1)[1])
            for size in BATCHES:  # warm both paths
                Client(port).infer(bodies[size])
                bare.predict(batches[size])
            for repeat in range(repeats):
                for size in BATCHES:
                    client, n = Client(port), ONE_CLIENT_REQUESTS[size]  # fresh: idle ones close after 5 s
                    served = [client.infer(bodies[size]) for _ in range(n)] if repeat % 2 == 0 else None
                    plain = [_timed(bare.predict, batches[size]) for _ in range(n)]
                    if served is None:  # odd repeats go bare first, so drift hits both windows alike
                        served = [client.infer(bodies[size]) for _ in range(n)]
                    windows[size]["served"].append(_p50_p99(served))
                    windows[size]["bare"].append(_p50_p99(plain))
                latencies, wall, probes = many_clients(port, bodies[MANY_CLIENT_BATCH], MANY_CLIENT_REQUESTS)
                live_p99.append(_p50_p99(probes)[1])
                throughput.append(len(latencies) * MANY_CLIENT_BATCH / wall)
    common = {"load_average_1_5_15_before": list(load_before), "load_average_1_5_15_after": list(os.getloadavg()),
              "model": model_config.as_dict(), "protocol": "v2 JSON, one keep-alive connection per client"}
    results = []
    for size in BATCHES:
        served_p50 = [w[0] for w in windows[size]["served"]]
        bare_p50 = [w[0] for w in windows[size]["bare"]]
        overhead, interval = paired_difference(served_p50, bare_p50)
        ratio, ratio_interval = paired_ratio(served_p50, bare_p50)
        results.append(entry(
            requirement=REQUIREMENT if size == 1 else None,
            metric=METRIC if size == 1 else f"{METRIC}_batch_{size}", value=overhead, unit="ms",
            interval=list(interval), interval_kind=BOOTSTRAP_DIFF, repeats=repeats,
            why=f"batch {size}: served p50 minus bare p50, {ONE_CLIENT_REQUESTS[size]} requests per window",
            batch_size=size, served_p50_ms=served_p50, bare_p50_ms=bare_p50,
            served_p99_ms=[w[1] for w in windows[size]["served"]], bare_p99_ms=[w[1] for w in windows[size]["bare"]],
            ratio_served_over_bare=ratio, ratio_interval=list(ratio_interval), **common))
    p99, p99_interval = float(np.median(live_p99)), bootstrap_median(live_p99)
    results.append(entry(
        requirement=None, metric=f"liveness_p99_ms_under_{CLIENTS}_clients", value=p99, unit="ms",
        interval=list(p99_interval), interval_kind="bootstrap95_median_over_repeats", repeats=repeats,
        why=f"{CLIENTS} clients posting batches of {MANY_CLIENT_BATCH}, {MANY_CLIENT_REQUESTS} requests each",
        molecules_per_second=throughput, **common))
    return results


def _timed(fn, *args) -> float:
    started = time.perf_counter()
    fn(*args)
    return time.perf_counter() - started
