"""Fixtures shared by the drug-discovery tests."""

from __future__ import annotations

import pytest
import torch

from reference_workloads.drug_discovery.gnn import GnnConfig, MolecularGnn
from reference_workloads.drug_discovery.surrogate import Normaliser, save_surrogate


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    """A small untrained surrogate on disk, as the train stage writes one (seeded: the same weights)."""
    folder = tmp_path_factory.mktemp("surrogate")
    torch.manual_seed(0)
    save_surrogate(folder, MolecularGnn(GnnConfig(hidden=16, layers=2)),
                   normaliser=Normaliser(mean=10.0, std=2.0), target="energy_min")
    return folder
