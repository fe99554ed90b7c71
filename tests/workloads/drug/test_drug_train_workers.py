"""Loader workers and featurising processes change where the work runs, never the weights."""

from __future__ import annotations

import dataclasses
import json

import pandas as pd
import torch

from reference_workloads.drug_discovery import train
from reference_workloads.drug_discovery.recipes import book

SMILES = ["CCO", "CCCO", "c1ccccc1", "c1ccccc1O", "CCN", "CC(=O)O", "c1ccncc1", "OCCO", "NCCN", "CCOCC",
          "CC(C)O", "C1CCCCC1", "C1CCNCC1", "CCCl", "CCBr", "CCCCN"]


def test_two_workers_train_the_same_weights_as_none(tmp_path):
    threads = torch.get_num_threads()
    parts = ["val" if i % 4 == 0 else "test" if i % 4 == 1 else "train" for i in range(len(SMILES))]
    task = tmp_path / "task.parquet"
    pd.DataFrame({"smiles": SMILES, "target": [float(len(s)) for s in SMILES], "part": parts}).to_parquet(task)
    hashes = []
    for workers in (0, 2):
        recipe = book.get("ci_tiny", ["train.epochs=2", "train.batch_size=4", "model.hidden=16",
                                      f"train.num_workers={workers}"])
        out = tmp_path / f"workers{workers}"
        train.train(json.loads(json.dumps(dataclasses.asdict(recipe))), task, out, out / "events.log", "physics")
        hashes.append(json.loads((out / "training.json").read_text())["model_hash"])
    torch.set_num_threads(threads)
    assert hashes[0] == hashes[1]  # bitwise
