"""Serving cost: the KServe server on loopback against the bare forward pass in this process.

For batch sizes 1, 32 and 256 it times, interleaved within each repeat (served window, bare
window, next batch size, ...):

- one client: request latency p50/p99 through HTTP (JSON, one keep-alive connection) and the
  bare ``Surrogate.predict`` latency on the same molecules; the ratio of the medians and the
  served-minus-bare p50 overhead, each with a bootstrap 95% interval pooled over repeats
  (target: overhead at most 2 ms p50 at batch 1);
- twenty clients: latency p50/p99 and throughput (molecules/s) against the bare pass's
  single-thread throughput, while a probe thread times ``GET /v2/health/live``: its p99 is
  the number a liveness probe sees under load.

Client and server share the machine (and, here, 2 cores), so these are what a co-located
client sees, not the server alone. Run: ``python -m tests.bench.run --only serving`` or
``python -m tests.bench.serving [--repeats 3] [--out runs/bench/serving.json]``.
"""

from __future__ import annotations

import argparse
import http.client
import os
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import orjson

BATCHES = (1, 32, 256)
CLIENTS = 20
ONE_CLIENT_REQUESTS = {1: 300, 32: 60, 256: 12}  # per window; sized for ~1 s each on 2 cores
MANY_CLIENT_REQUESTS = {1: 15, 32: 4, 256: 1}  # per client per window


def percentiles(seconds: list[float]) -> dict[str, float]:
    values = np.asarray(seconds) * 1000
    return {"p50_ms": float(np.percentile(values, 50)), "p99_ms": float(np.percentile(values, 99)),
            "n": int(len(values))}


def bootstrap(a: list[float], b: list[float], statistic, draws: int = 2000, seed: int = 0) -> list[float]:
    """95% interval of ``statistic(median a, median b)`` by resampling both sample sets."""
    rng = np.random.default_rng(seed)
    a_, b_ = np.asarray(a), np.asarray(b)
    values = [statistic(np.median(rng.choice(a_, a_.size)), np.median(rng.choice(b_, b_.size))) for _ in range(draws)]
    return [float(np.percentile(values, 2.5)), float(np.percentile(values, 97.5))]


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


def serving(repeats: int) -> dict[str, Any]:
    """Serving latency and throughput vs the bare forward pass; liveness p99 under 20 clients."""
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
    one: dict[int, dict[str, list[float]]] = {s: {"served": [], "bare": []} for s in BATCHES}
    many: dict[int, dict[str, list[float]]] = {s: {"latency": [], "throughput": [], "live": []} for s in BATCHES}
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
            for _ in range(repeats):
                for size in BATCHES:
                    client = Client(port)  # a fresh connection: the server closes idle ones after 5 s
                    one[size]["served"] += [client.infer(bodies[size]) for _ in range(ONE_CLIENT_REQUESTS[size])]
                    for _ in range(ONE_CLIENT_REQUESTS[size]):
                        started = time.perf_counter()
                        bare.predict(batches[size])
                        one[size]["bare"].append(time.perf_counter() - started)
                    latencies, wall, probes = many_clients(port, bodies[size], MANY_CLIENT_REQUESTS[size])
                    many[size]["latency"] += latencies
                    many[size]["throughput"].append(len(latencies) * size / wall)
                    many[size]["live"] += probes
    result: dict[str, Any] = {"batch_sizes": list(BATCHES), "clients": [1, CLIENTS],
                              "model": model_config.as_dict(), "protocol": "v2 JSON over one keep-alive connection per client"}
    for size in BATCHES:
        served, plain = one[size]["served"], one[size]["bare"]
        bare_throughput = size / statistics.median(plain)
        result[f"batch_{size}"] = {
            "one_client": {"served": percentiles(served), "bare": percentiles(plain),
                           "ratio_served_over_bare": statistics.median(served) / statistics.median(plain),
                           "ratio_interval_95": bootstrap(served, plain, lambda a, b: a / b),
                           "overhead_p50_ms": (statistics.median(served) - statistics.median(plain)) * 1000,
                           "overhead_interval_95_ms": [x * 1000 for x in bootstrap(served, plain, lambda a, b: a - b)]},
            f"{CLIENTS}_clients": {"served": percentiles(many[size]["latency"]),
                                   "molecules_per_second": many[size]["throughput"],
                                   "bare_molecules_per_second_one_thread": bare_throughput,
                                   "throughput_ratio_over_bare": statistics.median(many[size]["throughput"]) / bare_throughput,
                                   "liveness": percentiles(many[size]["live"])},
        }
    first = result["batch_1"]["one_client"]
    live_p99 = max(result[f"batch_{s}"][f"{CLIENTS}_clients"]["liveness"]["p99_ms"] for s in BATCHES)
    result.update({
        "a": "served, batch 1, 1 client", "b": "bare forward pass, batch 1",
        "median_a": first["served"]["p50_ms"] / 1000, "median_b": first["bare"]["p50_ms"] / 1000,
        "ratio_a_over_b": first["ratio_served_over_bare"],
        "meaning": "serving cost at batch 1 (HTTP + JSON + SMILES checks); see batch_* for the rest",
        "overhead_p50_ms_batch_1": first["overhead_p50_ms"],
        "overhead_target_met": first["overhead_p50_ms"] <= 2.0,
        "liveness_p99_ms_under_20_clients": live_p99,
        "load_average_1_5_15_before": list(load_before), "load_average_1_5_15_after": list(os.getloadavg()),
    })
    return result


def main() -> None:
    from reference_workloads.core.atomic import write_json
    from reference_workloads.core.manifest import hardware

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=Path("runs/bench/serving.json"))
    args = parser.parse_args()
    outcome = {"hardware": hardware(), "repeats": args.repeats, "serving": serving(args.repeats)}
    write_json(args.out, outcome)
    print(orjson.dumps(outcome, option=orjson.OPT_INDENT_2).decode())


if __name__ == "__main__":
    main()
