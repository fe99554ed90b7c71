"""The live oracle: the loop's docking calls dock with AutoDock Vina (tiny molecules, exhaustiveness 1)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from reference_workloads.drug_discovery.active_learning import run_repeat
from reference_workloads.drug_discovery.active_learning_config import ActiveLearningConfig
from reference_workloads.drug_discovery.active_learning_oracle import VinaOracle
from reference_workloads.drug_discovery.docking.vina_dock import Docker, DockingSettings

POOL = pd.DataFrame({"record": [10, 11, 12, 13], "smiles": ["c1ccccc1O", "CC(=O)O", "[Fe+2]", "OCCN"]})


def test_the_loop_docks_live_with_vina_and_a_rejected_molecule_costs_a_call(receptor):
    docker = Docker(receptor.pdbqt, receptor.pocket, DockingSettings(exhaustiveness=1, n_conformers=1), seed=5)
    oracle = VinaOracle(docker, dict(zip(POOL["record"], POOL["smiles"], strict=True)))
    scores = oracle.dock([12, 10])
    assert math.isnan(scores[0]) and -10 < scores[1] < 0  # iron: not a ligand Vina may score
    assert oracle.dock([10])[0] == scores[1] and oracle.calls == 2  # known already: no second docking
    live = VinaOracle(docker, dict(zip(POOL["record"], POOL["smiles"], strict=True)))
    config = ActiveLearningConfig(seed_batch=2, batch=1, rounds=2, hit_percent=25)
    rows, hits = run_repeat(POOL, live, None, config, rng=np.random.default_rng(0), threshold=scores[1])
    assert [r["calls"] for r in rows] == [2, 3, 4] and live.calls == 4
    assert math.isnan(live.known(12)) and all(math.isfinite(live.known(r)) for r in (10, 11, 13))
    assert live.known(10) == scores[1] and 10 in hits  # the same seed docks the same score
