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
import multiprocessing
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
from reference_workloads.core.compute import autocast, configure_precision, maybe_compile
from reference_workloads.core.determinism import seed_everything
from reference_workloads.core.eventlog import EVAL_ERROR, EventLog, constants
from reference_workloads.core.hashing import sha256_file
from reference_workloads.core.progress import report

from .featurize import Graph, smiles_to_graph
from .gnn import GnnConfig, MolecularGnn
from .graph_cache import CollatedGraphs
from .surrogate import Normaliser, save_surrogate

PARTS = ("train", "val", "test")
KILL_AFTER_EPOCH = "AI4S_KILL_AFTER_EPOCH"  # fault injection for the resume test


class GraphSet(torch.utils.data.Dataset):
    """Graphs collated once on the device, with standardised targets; items are positions."""

    def __init__(self, graphs: list[Graph], targets: np.ndarray, device: torch.device) -> None:
        self.graphs = CollatedGraphs(graphs, device)
        self.targets = torch.tensor(targets, dtype=torch.float32).to(device)

    def __len__(self) -> int:
        return len(self.graphs)

    def __getitem__(self, position: int) -> int:
        return position

    def plan(self, positions: list[int]) -> tuple[dict[str, Any], torch.Tensor]:
        """What a DataLoader worker computes: the gather plan and the target positions."""
        return self.graphs.indices(positions), torch.as_tensor(positions)

    def gather(self, plan: dict[str, Any], positions: torch.Tensor) -> tuple[Any, torch.Tensor]:
        return self.graphs.gather(plan), self.targets[positions.to(self.targets.device)]


def _featurise(smiles: list[str], workers: int) -> list[Graph]:
    """Graphs in input order; ``workers`` > 0 spreads RDKit over processes."""
    if workers == 0:
        return [smiles_to_graph(s) for s in smiles]
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        return pool.map(smiles_to_graph, smiles, chunksize=64)


@torch.no_grad()
def predict(model: torch.nn.Module, data: GraphSet, positions: list[int] | None = None,
            batch_size: int = 256) -> torch.Tensor:
    """Standardised predictions on the data's device for ``positions`` (default: all)."""
    model.eval()
    positions = list(range(len(data))) if positions is None else positions
    chunks = [positions[i : i + batch_size] for i in range(0, len(positions), batch_size)]
    out = [model(data.graphs.batch(chunk)) for chunk in chunks]
    model.train()
    return torch.cat(out) if out else torch.zeros(0, device=data.targets.device)


def _sharded_mse(ctx: ddp.DistContext, model: torch.nn.Module, data: GraphSet) -> float:
    """Each rank scores its share; the summed squared error is all-reduced, so ranks agree."""
    mine = list(range(len(data)))[ctx.rank :: ctx.world_size]
    errors = (predict(model, data, mine).double() - data.targets[mine].double()) ** 2
    totals = torch.stack([errors.sum(), torch.tensor(float(len(mine)), dtype=torch.float64, device=errors.device)])
    if ctx.world_size > 1:
        torch.distributed.all_reduce(totals)
    return float(totals[0] / totals[1])


def run_key(config: dict[str, Any], task: Path) -> str:
    """Checkpoints are resumed only by a job with the same config and the same task data."""
    blob = json.dumps(config, sort_keys=True) + sha256_file(task)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def train(config: dict[str, Any], task: Path, out: Path, eventlog: Path, name: str, *,
          checkpoint_dir: Path | None = None, key: str | None = None) -> None:
    resources, cfg = config["resources"], config["train"]
    ctx = ddp.init_distributed(resources["device"])
    log = EventLog(eventlog, ctx.rank)
    precision = cfg.get("precision", "fp32")
    seed_everything(cfg["seed"], ctx.rank, threads=resources["threads"], deterministic=cfg.get("deterministic", True))
    configure_precision(ctx.device, precision)
    table = pd.read_parquet(task)
    parts = {p: table[table["part"] == p].reset_index(drop=True) for p in PARTS}
    normaliser = Normaliser.fit(parts["train"]["target"].to_numpy())
    sets = {
        p: GraphSet(_featurise(frame["smiles"].tolist(), cfg.get("num_workers", 0)),
                    (frame["target"].to_numpy() - normaliser.mean) / normaliser.std, ctx.device)
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
    model = maybe_compile(DistributedDataParallel(core) if ctx.world_size > 1 else core, cfg.get("compile", False))

    per_process = max(1, cfg["batch_size"] // ctx.world_size)
    sampler = DistributedSampler(sets["train"], num_replicas=ctx.world_size, rank=ctx.rank,
                                 shuffle=True, seed=cfg["seed"], drop_last=False)
    workers = cfg.get("num_workers", 0)
    loader = DataLoader(sets["train"], batch_size=per_process, sampler=sampler, collate_fn=sets["train"].plan,
                        num_workers=workers, persistent_workers=workers > 0,
                        pin_memory=ctx.device.type == "cuda")
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
        total, batches = torch.zeros((), device=ctx.device), 0  # summed on the device: no sync per step
        for plan, positions in loader:
            batch, targets = sets["train"].gather(plan, positions)
            optimizer.zero_grad(set_to_none=True)
            with autocast(ctx.device, precision):
                loss = torch.mean((model(batch).float() - targets) ** 2)
            loss.backward()
            optimizer.step()
            total += loss.detach()
            batches += 1
        scheduler.step()
        if ctx.world_size > 1:
            torch.distributed.all_reduce(total)
        # Ranks score shares of the validation set and all-reduce, so all agree on the best epoch.
        log.start(constants.EVAL_START, epoch_num=epoch, task=name)
        val_loss = _sharded_mse(ctx, core, sets["val"])
        train_loss = float(total) / (batches * ctx.world_size)
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
            scaled = predict(core, sets[part]).double().cpu().numpy()
            predictions.append(frame.assign(prediction=scaled * normaliser.std + normaliser.mean))
        with atomic_path(out / "predictions.parquet") as tmp:
            pd.concat(predictions, ignore_index=True).to_parquet(tmp, index=False)
        write_json(out / "training.json", {
            "history": history,
            "best_epoch": best["epoch"],
            "model_hash": model_hash,
            "world_size": ctx.world_size,
            "parameters": sum(p.numel() for p in core.parameters()),
            "device": str(ctx.device),
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
