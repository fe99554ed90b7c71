"""One prepared receptor for every docking test module (preparing it takes seconds)."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def receptor(tmp_path_factory):
    from reference_workloads.drug_discovery.docking.receptor import prepare_receptor

    return prepare_receptor(tmp_path_factory.mktemp("receptor"))
