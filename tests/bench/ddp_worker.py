"""One torchrun job that times training epochs with the kit's instrumentation on and off, alternately.

Run by ``tests.bench.ddp_overhead`` as ``torchrun --nproc-per-node=2 -m tests.bench.ddp_worker``;
the timings are taken inside the job (barrier, epoch, barrier), so process start-up, the
rendezvous and the first-touch warm-up epoch are never in them. "On" is what the climate
trainer does every epoch: the MLPerf event log (rank 0 writes) and the OTLP training gauges
exported to a collector (a loopback sink here); "off" is the bare epoch. (Tracing spans are
per stage, in the launching process, not per epoch.)
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch
from torch.nn.parallel import DistributedDataParallel

from reference_workloads.climate.emulator.data import (
    PairIndex,
    batch,
    epoch_order,
    load_states,
    normalisation,
)
from reference_workloads.climate.emulator.train import _Unroll, build_model, unrolled_loss
from reference_workloads.core import ddp
from reference_workloads.core.determinism import seed_everything
from reference_workloads.core.eventlog import EVAL_ERROR, EventLog, constants
from reference_workloads.core.metrics import TrainingMetrics
from tests.bench.stats import interleaved


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, required=True)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--scratch", type=Path, required=True)
    parser.add_argument("--repeats", type=int, required=True)
    args = parser.parse_args()
    config = json.loads(args.config.read_text())
    cfg = config["train"]
    ctx = ddp.init_distributed("cpu")
    try:
        seed_everything(cfg["seed"], ctx.rank, threads=cfg["threads_per_process"])
        states_np = load_states(args.data, slice(0, cfg["train_trajectories"]))
        mean, std, increment_std = normalisation(states_np)
        states = torch.from_numpy(states_np)
        index = PairIndex(n_trajectories=states.shape[0], n_times=states.shape[1], unroll=cfg["unroll"])
        torch.manual_seed(cfg["seed"])
        core = build_model(config["emulator"])
        core.set_normalisation(mean, std, increment_std)
        model = DistributedDataParallel(_Unroll(core)) if ctx.world_size > 1 else _Unroll(core)
        optimizer = torch.optim.AdamW(core.parameters(), lr=cfg["learning_rate"])
        global_batch = cfg["global_batch_size"]
        steps = len(index) // global_batch
        log = EventLog(args.scratch / "events.log", ctx.rank)
        metrics = TrainingMetrics("ai4s-bench", {"workload": "bench"}) if ctx.is_main else None
        epoch_counter = [0]

        def epoch(instrumented: bool) -> float:
            number = epoch_counter[0]
            epoch_counter[0] += 1
            ctx.barrier()
            started = time.perf_counter()
            if instrumented:
                log.start(constants.EPOCH_START, epoch_num=number)
            order = epoch_order(len(index), cfg["seed"], number)
            total = torch.zeros(())
            for step in range(steps):
                ids = order[step * global_batch : (step + 1) * global_batch][ctx.rank :: ctx.world_size]
                inputs, targets = batch(states, index, ids)
                optimizer.zero_grad(set_to_none=True)
                loss = unrolled_loss(model, core, inputs, targets)
                loss.backward()
                optimizer.step()
                total += loss.detach()
            if ctx.world_size > 1:
                torch.distributed.all_reduce(total)
            train_loss = float(total) / (steps * ctx.world_size)
            if instrumented:
                log.event("train_loss", train_loss, epoch_num=number)
                log.event(EVAL_ERROR, train_loss, epoch_num=number, metric="bench")
                log.end(constants.EPOCH_STOP, epoch_num=number)
                if metrics is not None:
                    metrics.epoch(samples=steps * global_batch, seconds=time.perf_counter() - started,
                                  loss=train_loss)
            ctx.barrier()
            return time.perf_counter() - started

        times = interleaved({"off": lambda: epoch(False), "on": lambda: epoch(True)}, args.repeats)
        if ctx.is_main:
            (args.scratch / "times.json").write_text(json.dumps({
                **times, "steps_per_epoch": steps, "samples_per_epoch": steps * global_batch,
                "world_size": ctx.world_size, "otlp_enabled": bool(metrics and metrics.enabled)}))
        log.close()
        if metrics is not None:
            metrics.close()
    finally:
        ddp.destroy()


if __name__ == "__main__":
    main()
