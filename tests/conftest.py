"""Shared fixtures: every test that launches jobs gets the root-safe MPI environment."""

from __future__ import annotations

import os

os.environ.setdefault("OMPI_ALLOW_RUN_AS_ROOT", "1")
os.environ.setdefault("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MPLBACKEND", "Agg")
# the suite runs 3- and 4-rank jobs on 2-core machines: it asks for oversubscription locally
os.environ.setdefault("AI4S_MPI_OVERSUBSCRIBE", "1")
