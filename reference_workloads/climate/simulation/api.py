"""Launch the simulation stage from Python: mpiexec on N ranks, then the dataset hash."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from reference_workloads.climate.simulation.config import SimulationConfig
from reference_workloads.climate.simulation.dataset import dataset_content_hash
from reference_workloads.core.launch import ProgressCallback, mpiexec

ENTRYPOINT = "reference_workloads.climate.simulation.run"


def simulate(config: SimulationConfig, out_path: str | os.PathLike[str], *,
             nranks: int | None = None, code_version: str = "unknown",
             timeout: float | None = None,
             on_progress: ProgressCallback | None = None) -> str:
    """Run the ensemble on ``nranks`` MPI ranks (default ``config.ranks``), each writing its
    blocks of the Zarr store at ``out_path`` (renamed into place when complete), and return
    its content hash. A store left partial by a killed run of the same parameters and rank
    count is resumed from its last checkpoint.

    The rank count is checked against the grid here, before anything is launched.
    """
    nranks = config.ranks if nranks is None else nranks
    config.validate_for_ranks(nranks)
    target = Path(out_path)
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".simconfig.") as scratch:
        config_file = Path(scratch) / "simulation.json"
        config_file.write_text(json.dumps(config.to_dict(), sort_keys=True), encoding="utf-8")
        mpiexec(nranks, ENTRYPOINT,
                ["--config", str(config_file), "--out", str(target),
                 "--code-version", code_version],
                timeout=timeout, on_progress=on_progress)
    return dataset_content_hash(target)
