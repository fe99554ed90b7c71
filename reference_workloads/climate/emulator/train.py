"""Train the emulator under torchrun (DDP): ``python -m torch.distributed.run ... -m this``.

Every epoch ends with a checkpoint; a restarted job resumes from the newest one and ends
with the same weights, bit for bit, as a job that was never interrupted, because the data
order is a function of (seed, epoch) and the optimiser and scheduler states are restored.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import signal
import time
from pathlib import Path
from typing import Any

import torch
from torch.nn.parallel import DistributedDataParallel

from ...core import ddp
from ...core.atomic import atomic_path, write_json
from ...core.compute import autocast, configure_precision, maybe_compile, to_device
from ...core.determinism import seed_everything
from ...core.eventlog import EVAL_ERROR, EventLog, constants
from ...core.hashing import hash_state_dict
from ...core.metrics import TrainingMetrics
from ...core.progress import report
from .data import ShardedPairs, normalisation_from_dataset
from .model import FourierNeuralOperator

KILL_AFTER_EPOCH = "AI4S_KILL_AFTER_EPOCH"  # fault injection for the resume test


def build_model(emulator: dict[str, Any]) -> FourierNeuralOperator:
    return FourierNeuralOperator(width=emulator["width"], modes=emulator["modes"], layers=emulator["layers"])


class _Unroll(torch.nn.Module):
    """``steps`` autoregressive steps in one forward call, so DDP syncs once per backward."""

    def __init__(self, core: FourierNeuralOperator) -> None:
        super().__init__()
        self.core = core

    def forward(self, z: torch.Tensor, steps: int) -> torch.Tensor:
        predictions = []
        for _ in range(steps):
            z = self.core.step_normalised(z)
            predictions.append(z)
        return torch.stack(predictions, dim=1)


def unrolled_loss(model: torch.nn.Module, core: FourierNeuralOperator, inputs: torch.Tensor,
                  targets: torch.Tensor) -> torch.Tensor:
    """Mean squared error in normalised units over ``unroll`` autoregressive steps."""
    predictions = model(core.normalise(inputs), targets.shape[1])
    expected = core.normalise(targets.flatten(0, 1)).view_as(targets)
    return torch.mean((predictions - expected) ** 2)


def _validation_loss(ctx: ddp.DistContext, core: FourierNeuralOperator, pairs: ShardedPairs,
                     precision: str, chunk: int = 64) -> torch.Tensor:
    """Mean validation loss, each rank scoring its share of the pairs; the same value on every rank.

    Sums stay on the device and are all-reduced once, so validation costs no host sync
    beyond the one the caller makes to log the number.
    """
    step = _Unroll(core)
    totals = torch.zeros(2, dtype=torch.float64, device=ctx.device)  # sum of losses x pairs, pairs
    with torch.no_grad(), autocast(ctx.device, precision):
        for inputs, targets in pairs.scored(ctx.rank, ctx.world_size, chunk):
            loss = unrolled_loss(step, core, to_device(inputs, ctx.device), to_device(targets, ctx.device))
            totals[0] += loss.double() * len(inputs)
            totals[1] += len(inputs)
    if ctx.world_size > 1:
        torch.distributed.all_reduce(totals)
    return totals[0] / totals[1]


def _resident_device(device: torch.device, on_device: bool) -> torch.device | None:
    """Where the whole set is kept, or None to stream it from the store shard by shard.

    Only CUDA with ``data_on_device`` keeps it resident (the recipe asks for it when the set
    fits the GPU); on the CPU "resident" would mean the whole set in host memory, which is
    what streaming exists to avoid, so the CPU always streams.
    """
    return device if on_device and device.type == "cuda" else None


def train(config: dict[str, Any], data: Path, out: Path, eventlog: Path, *,
          checkpoint_dir: Path | None = None, key: str | None = None) -> None:
    cfg = config["train"]
    ctx = ddp.init_distributed(cfg.get("device", "auto"))
    log = EventLog(eventlog, ctx.rank)
    metrics = TrainingMetrics("ai4s-climate-training", {"workload": "climate"}) if ctx.is_main else None
    precision = cfg.get("precision", "fp32")
    seed_everything(cfg["seed"], ctx.rank, threads=cfg["threads_per_process"],
                    deterministic=cfg.get("deterministic", True))
    configure_precision(ctx.device, precision)
    n_train, n_val = cfg["train_trajectories"], cfg["val_trajectories"]
    # Streamed with the stored statistics: the host never holds the whole set (issue 11).
    mean, std, increment_std = normalisation_from_dataset(data, slice(0, n_train))
    resident = _resident_device(ctx.device, cfg.get("data_on_device", True))
    pairs = ShardedPairs(data, slice(0, n_train), cfg["global_batch_size"], cfg["unroll"], resident)
    val_pairs = ShardedPairs(data, slice(n_train, n_train + n_val), cfg["global_batch_size"], cfg["unroll"],
                             resident)

    core = build_model(config["emulator"]).to(ctx.device)
    core.set_normalisation(mean, std, increment_std)
    optimizer = torch.optim.AdamW(core.parameters(), lr=cfg["learning_rate"], weight_decay=cfg["weight_decay"])
    epochs = cfg["epochs"]
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda e: 0.5 * (1 + math.cos(math.pi * e / epochs))
    )
    checkpoints = ddp.CheckpointManager(checkpoint_dir or out / "checkpoints", key=key)
    start = checkpoints.restore(core, optimizer, scheduler)
    history: list[dict[str, float]] = (checkpoints.latest() or {}).get("extra", {}).get("history", [])
    unroll_model = _Unroll(core)
    model = DistributedDataParallel(unroll_model) if ctx.world_size > 1 else unroll_model
    model = maybe_compile(model, cfg.get("compile", False))

    global_batch = cfg["global_batch_size"]
    steps_per_epoch = pairs.steps()
    log.event(constants.OPT_BASE_LR, cfg["learning_rate"])
    log.event(constants.TRAIN_SAMPLES, len(pairs))
    log.event(constants.EVAL_SAMPLES, len(val_pairs))
    if start:
        log.event("resume", start, checkpoint_epoch=start - 1)
    for epoch in range(start, epochs):
        ctx.barrier()
        log.start(constants.EPOCH_START, epoch_num=epoch)
        started = time.perf_counter()
        total = torch.zeros((), device=ctx.device)  # summed on the device: no host sync per step
        for inputs, targets in pairs.epoch(cfg["seed"], epoch, ctx.rank, ctx.world_size):
            optimizer.zero_grad(set_to_none=True)
            with autocast(ctx.device, precision):
                loss = unrolled_loss(model, core, to_device(inputs, ctx.device), to_device(targets, ctx.device))
            loss.backward()
            optimizer.step()
            total += loss.detach().float()
        scheduler.step()
        if ctx.world_size > 1:
            torch.distributed.all_reduce(total)
        log.start(constants.EVAL_START, epoch_num=epoch)
        val_loss = float(_validation_loss(ctx, core, val_pairs, precision, global_batch))
        train_loss = float(total) / (steps_per_epoch * ctx.world_size)  # the epoch's one host sync
        history.append({"epoch": epoch, "train_loss": train_loss, "val_loss": val_loss,
                        "seconds": time.perf_counter() - started, "samples": steps_per_epoch * global_batch})
        log.event("train_loss", train_loss, epoch_num=epoch)
        log.event(EVAL_ERROR, val_loss, epoch_num=epoch, metric="validation_mse_normalised")
        log.end(constants.EVAL_STOP, epoch_num=epoch)
        log.end(constants.EPOCH_STOP, epoch_num=epoch)
        if metrics is not None:
            metrics.epoch(samples=history[-1]["samples"], seconds=history[-1]["seconds"], loss=train_loss)
        checkpoints.save(ctx, epoch, core, optimizer, scheduler, extra={"history": history})
        if ctx.is_main:
            print(json.dumps({"epoch": epoch, "train_loss": train_loss, "val_loss": val_loss}), flush=True)
            report(epoch + 1, epochs)
        if os.environ.get(KILL_AFTER_EPOCH) == str(epoch):
            os.kill(os.getpid(), signal.SIGKILL)

    if ctx.is_main:
        with atomic_path(out / "model.pt") as tmp:
            torch.save({"state_dict": core.state_dict(), "emulator": config["emulator"]}, tmp)
        write_json(out / "training.json", {
            "history": history,
            "model_hash": hash_state_dict(core.state_dict()),
            "world_size": ctx.world_size,
            "steps_per_epoch": steps_per_epoch,
            "parameters": sum(p.numel() for p in core.parameters()),
            "device": str(ctx.device),
        })
    ctx.barrier()
    log.close()
    if metrics is not None:
        metrics.close()


def load_trained(path: Path) -> FourierNeuralOperator:
    payload = torch.load(path, map_location="cpu", weights_only=False)
    model = build_model(payload["emulator"])
    model.load_state_dict(payload["state_dict"])
    return model.eval()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--config", type=Path, required=True)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--eventlog", type=Path, required=True)
    parser.add_argument("--checkpoints", type=Path, default=None, help="Checkpoint folder [default: OUT/checkpoints]")
    parser.add_argument("--key", default=None, help="The job's identity; only its own checkpoints are resumed")
    args = parser.parse_args()
    try:
        train(json.loads(args.config.read_text()), args.data, args.out, args.eventlog,
              checkpoint_dir=args.checkpoints, key=args.key)
    finally:
        ddp.destroy()


if __name__ == "__main__":
    main()
