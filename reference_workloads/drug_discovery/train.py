"""Train the GNN surrogate under torchrun (DDP): ``python -m torch.distributed.run ... -m this``.

The task file is a Parquet table (smiles, target, part in train/val/test). Every process
featurises all molecules (cheap), a DistributedSampler with a fixed seed deals each epoch's
batches, and DDP averages gradients. The model with the lowest validation loss is kept.
Each epoch ends with a checkpoint; a restarted job resumes from the newest one.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import math
import os
import signal
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, DistributedSampler

from reference_workloads.core import ddp
from reference_workloads.core.atomic import atomic_path, write_json
from reference_workloads.core.determinism import seed_everything
from reference_workloads.core.eventlog import EVAL_ERROR, EventLog, constants
from reference_workloads.core.hashing import sha256_file
from reference_workloads.core.progress import report

from .featurize import Graph, collate, smiles_to_graph
from .gnn import GnnConfig, MolecularGnn
from .surrogate import Normaliser, save_surrogate

PARTS = ("train", "val", "test")
KILL_AFTER_EPOCH = "AI4S_KILL_AFTER_EPOCH"  # fault injection for the resume test


class GraphSet(torch.utils.data.Dataset):
    """Graphs with standardised targets; items are positions, so batches stay cheap."""

    def __init__(self, graphs: list[Graph], targets: np.ndarray) -> None:
        self.graphs = graphs
        self.targets = torch.tensor(targets, dtype=torch.float32)

    def __len__(self) -> int:
        return len(self.graphs)

    def __getitem__(self, position: int) -> int:
        return position

    def batch(self, positions: list[int]) -> tuple[Any, torch.Tensor]:
        return collate([self.graphs[p] for p in positions]), self.targets[positions]


@torch.no_grad()
def predict(model: MolecularGnn, graphs: list[Graph], device: torch.device, batch_size: int = 256) -> np.ndarray:
    model.eval()
    out = [model(collate(graphs[i : i + batch_size]).to(device)).cpu() for i in range(0, len(graphs), batch_size)]
    model.train()
    return torch.cat(out).double().numpy()


def _mse(model: MolecularGnn, data: GraphSet, device: torch.device) -> float:
    predicted = predict(model, data.graphs, device)
    return float(np.mean((predicted - data.targets.double().numpy()) ** 2))


def run_key(config: dict[str, Any], task: Path) -> str:
    """Checkpoints are resumed only by a job with the same config and the same task data."""
    blob = json.dumps(config, sort_keys=True) + sha256_file(task)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def train(config: dict[str, Any], task: Path, out: Path, eventlog: Path, name: str, *,
          checkpoint_dir: Path | None = None, key: str | None = None) -> None:
    resources, cfg = config["resources"], config["train"]
    ctx = ddp.init_distributed(prefer_cuda=resources["device"] == "cuda")
    log = EventLog(eventlog, ctx.rank)
    seed_everything(cfg["seed"], ctx.rank, threads=resources["threads"])
    table = pd.read_parquet(task)
    parts = {p: table[table["part"] == p].reset_index(drop=True) for p in PARTS}
    normaliser = Normaliser.fit(parts["train"]["target"].to_numpy())
    sets = {
        p: GraphSet([smiles_to_graph(s) for s in frame["smiles"]],
                    (frame["target"].to_numpy() - normaliser.mean) / normaliser.std)
        for p, frame in parts.items()
    }

    # Same initial weights on every rank: seeded by the run seed, not the rank seed.
    torch.manual_seed(cfg["seed"])
    core = MolecularGnn(GnnConfig(**config["model"])).to(ctx.device)
    optimizer = torch.optim.AdamW(core.parameters(), lr=cfg["lr"], weight_decay=cfg["weight_decay"])
    epochs = cfg["epochs"]
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda e: 0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * e / epochs))
    )
    key = key or run_key(config, task)
    checkpoints = ddp.CheckpointManager(checkpoint_dir or out / "checkpoints" / key, key=key)
    start = checkpoints.restore(core, optimizer, scheduler)
    extra = (checkpoints.latest() or {}).get("extra", {}) if start else {}
    history: list[dict[str, float]] = extra.get("history", [])
    best = extra.get("best", {"val_loss": math.inf, "epoch": -1, "state": copy.deepcopy(core.state_dict())})
    model = DistributedDataParallel(core) if ctx.world_size > 1 else core

    per_process = max(1, cfg["batch_size"] // ctx.world_size)
    sampler = DistributedSampler(sets["train"], num_replicas=ctx.world_size, rank=ctx.rank,
                                 shuffle=True, seed=cfg["seed"], drop_last=False)
    loader = DataLoader(sets["train"], batch_size=per_process, sampler=sampler,
                        collate_fn=sets["train"].batch, num_workers=0)
    log.event(constants.GLOBAL_BATCH_SIZE, per_process * ctx.world_size, task=name)
    log.event(constants.OPT_BASE_LR, cfg["lr"], task=name)
    log.event(constants.TRAIN_SAMPLES, len(sets["train"]), task=name)
    log.event(constants.EVAL_SAMPLES, len(sets["val"]), task=name)
    if start:
        log.event("resume", start, checkpoint_epoch=start - 1, task=name)
    for epoch in range(start, epochs):
        ctx.barrier()
        log.start(constants.EPOCH_START, epoch_num=epoch, task=name)
        sampler.set_epoch(epoch)  # the data order is a function of (seed, epoch) only
        total, batches = torch.zeros(()), 0
        for batch, targets in loader:
            optimizer.zero_grad(set_to_none=True)
            loss = torch.mean((model(batch.to(ctx.device)) - targets.to(ctx.device)) ** 2)
            loss.backward()
            optimizer.step()
            total += loss.detach().cpu()
            batches += 1
        scheduler.step()
        if ctx.world_size > 1:
            torch.distributed.all_reduce(total)
        train_loss = float(total) / (batches * ctx.world_size)
        # Every rank evaluates (same weights, same data) so all agree on the best epoch.
        log.start(constants.EVAL_START, epoch_num=epoch, task=name)
        val_loss = _mse(core, sets["val"], ctx.device)
        if val_loss < best["val_loss"]:
            best = {"val_loss": val_loss, "epoch": epoch, "state": copy.deepcopy(core.state_dict())}
        history.append({"epoch": epoch, "train_loss": train_loss, "val_loss": val_loss})
        log.event(EVAL_ERROR, val_loss, epoch_num=epoch, metric="val_mse_standardised", task=name)
        log.end(constants.EVAL_STOP, epoch_num=epoch, task=name)
        log.end(constants.EPOCH_STOP, epoch_num=epoch, task=name)
        checkpoints.save(ctx, epoch, core, optimizer, scheduler, extra={"history": history, "best": best})
        if ctx.is_main:
            report(epoch + 1, epochs)
        if os.environ.get(KILL_AFTER_EPOCH) == str(epoch):
            os.kill(os.getpid(), signal.SIGKILL)

    if ctx.is_main:
        core.load_state_dict(best["state"])
        model_hash = save_surrogate(out / "surrogate", core, normaliser=normaliser, target=name,
                                    extra={"best_epoch": best["epoch"]})
        predictions = []
        for part, frame in parts.items():
            scaled = predict(core, sets[part].graphs, ctx.device)
            predictions.append(frame.assign(prediction=scaled * normaliser.std + normaliser.mean))
        with atomic_path(out / "predictions.parquet") as tmp:
            pd.concat(predictions, ignore_index=True).to_parquet(tmp, index=False)
        write_json(out / "training.json", {
            "history": history,
            "best_epoch": best["epoch"],
            "model_hash": model_hash,
            "world_size": ctx.world_size,
            "parameters": sum(p.numel() for p in core.parameters()),
        })
    ctx.barrier()
    log.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, required=True, help="recipe as JSON")
    parser.add_argument("--task", type=Path, required=True, help="Parquet: smiles, target, part")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--eventlog", type=Path, required=True)
    parser.add_argument("--name", required=True, help="task name, logged with every event")
    parser.add_argument("--checkpoints", type=Path, default=None, help="Checkpoint folder [default: keyed under OUT]")
    parser.add_argument("--key", default=None, help="The job's identity; only its own checkpoints are resumed")
    args = parser.parse_args()
    try:
        train(json.loads(args.config.read_text()), args.task, args.out, args.eventlog, args.name,
              checkpoint_dir=args.checkpoints, key=args.key)
    finally:
        ddp.destroy()


if __name__ == "__main__":
    main()
