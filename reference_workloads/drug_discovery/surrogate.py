"""The trained surrogate as an artefact: weights, shape, label normalisation, and prediction.

One folder holds ``model.pt`` (the state dict) and ``surrogate.json`` (everything needed to
rebuild and use it), written atomically, so the server and the screen load exactly what
training wrote.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from reference_workloads.core.atomic import atomic_path, write_json
from reference_workloads.core.hashing import hash_state_dict

from .featurize import collate, smiles_to_graph
from .gnn import GnnConfig, MolecularGnn

WEIGHTS = "model.pt"
DESCRIPTION = "surrogate.json"


@dataclass(kw_only=True, frozen=True, slots=True)
class Normaliser:
    """Training targets are standardised; predictions are mapped back with these."""

    mean: float
    std: float

    @classmethod
    def fit(cls, values: np.ndarray) -> Normaliser:
        std = float(np.std(values))
        return cls(mean=float(np.mean(values)), std=std if std > 0 else 1.0)


def save_surrogate(
    folder: str | os.PathLike[str],
    model: MolecularGnn,
    *,
    normaliser: Normaliser,
    target: str,
    extra: dict | None = None,
) -> str:
    """Write the artefact; returns the model hash (bitwise hash of the state dict)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    with atomic_path(folder / WEIGHTS) as tmp:
        torch.save(state, tmp)
    model_hash = hash_state_dict(state)
    write_json(
        folder / DESCRIPTION,
        {
            "model": model.config.as_dict(),
            "normaliser": {"mean": normaliser.mean, "std": normaliser.std},
            "target": target,
            "model_hash": model_hash,
            **(extra or {}),
        },
    )
    return model_hash


class Surrogate:
    """A loaded surrogate that scores SMILES in batches on one device."""

    def __init__(self, folder: str | os.PathLike[str], device: str = "cpu") -> None:
        folder = Path(folder)
        if not (folder / WEIGHTS).is_file() or not (folder / DESCRIPTION).is_file():
            raise ValueError(
                f"model_dir={str(folder)!r} is invalid: expected a folder with {WEIGHTS} and {DESCRIPTION}"
            )
        self.description = json.loads((folder / DESCRIPTION).read_text())
        self.normaliser = Normaliser(**self.description["normaliser"])
        self.target = self.description["target"]
        self.device = torch.device(device)
        self.model = MolecularGnn(GnnConfig(**self.description["model"]))
        self.model.load_state_dict(torch.load(folder / WEIGHTS, map_location="cpu", weights_only=True))
        self.model.to(self.device).eval()
        self.model_hash = self.description["model_hash"]

    @torch.no_grad()
    def predict(self, smiles: Sequence[str], batch_size: int = 256) -> np.ndarray:
        """Predicted labels in physical units; raises ValueError naming an invalid SMILES."""
        outputs = []
        for start in range(0, len(smiles), batch_size):
            graphs = [smiles_to_graph(s) for s in smiles[start : start + batch_size]]
            scaled = self.model(collate(graphs).to(self.device)).double().cpu().numpy()
            outputs.append(scaled * self.normaliser.std + self.normaliser.mean)
        return np.concatenate(outputs) if outputs else np.zeros(0)
