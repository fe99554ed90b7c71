"""Shared fixtures: every test that launches jobs gets the root-safe MPI environment, and the
slow drug-discovery run is made once per session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("OMPI_ALLOW_RUN_AS_ROOT", "1")
os.environ.setdefault("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MPLBACKEND", "Agg")
# the suite runs 3- and 4-rank jobs on 2-core machines: it asks for oversubscription locally
os.environ.setdefault("AI4S_MPI_OVERSUBSCRIBE", "1")


@pytest.fixture(scope="session")
def drug_ci_tiny_run(tmp_path_factory) -> Path:
    """One real ``ci_tiny`` drug-discovery run (docking over MPI, training, the served screen,
    active learning), shared by the session: it costs minutes. Read it; to change it, copy it
    first (``shutil.copytree`` keeps modification times, which publishing orders stages by)."""
    from reference_workloads.drug_discovery import pipeline

    run_dir = tmp_path_factory.mktemp("shared") / "runs" / "drug-discovery" / "ci_tiny"
    pipeline.run("ci_tiny", [], run_dir)
    return run_dir

