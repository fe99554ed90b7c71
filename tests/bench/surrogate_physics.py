"""AI4S-PERF-004: surrogate against physics throughput on equal cores (one core each).

The physics is the kit's own per-molecule labelling (ETKDG conformers + MMFF minimisation,
the ``laptop`` recipe's settings, single-threaded); the surrogate is the ``laptop`` GNN
scoring SMILES through ``Surrogate.predict`` with one torch thread (featurisation included,
as in serving). Both run in this process: the surrogate on 256 NCI molecules, the physics on
an even-stride sample of them (the same size mix); windows alternate per repeat, and the
ratio of molecules per second is taken per repeat.
The surrogate is untrained: its cost does not depend on its weights.
"""

from __future__ import annotations

import tempfile
import time
from typing import Any

from tests.bench.stats import BOOTSTRAP, entry, interleaved, paired_ratio

REQUIREMENT = "AI4S-PERF-004"
METRIC = "surrogate_over_physics_throughput"
PHYSICS_MOLECULES = 8  # per window: a few seconds of MMFF on one core
SURROGATE_MOLECULES = 256


def measure(repeats: int) -> list[dict[str, Any]]:
    import torch

    from reference_workloads.drug_discovery.gnn import GnnConfig, MolecularGnn
    from reference_workloads.drug_discovery.library import load_library
    from reference_workloads.drug_discovery.physics import compute_molecule
    from reference_workloads.drug_discovery.recipes import book
    from reference_workloads.drug_discovery.surrogate import Normaliser, Surrogate, save_surrogate

    torch.set_num_threads(1)
    recipe = book.get("laptop")
    smiles = load_library("nci", limit=SURROGATE_MOLECULES).molecules["smiles"].tolist()
    # physics labels an even-stride sample of the surrogate's molecules: the same size mix,
    # and the same molecules every window, so the per-repeat ratio only carries timing noise
    sample = smiles[:: len(smiles) // PHYSICS_MOLECULES][:PHYSICS_MOLECULES]

    def physics() -> float:
        started = time.perf_counter()
        for s in sample:
            compute_molecule(s, recipe.physics, seed=recipe.seed)
        return (time.perf_counter() - started) / PHYSICS_MOLECULES

    with tempfile.TemporaryDirectory() as scratch:
        torch.manual_seed(0)
        save_surrogate(scratch, MolecularGnn(GnnConfig(**recipe.model.as_dict())),
                       normaliser=Normaliser(mean=0.0, std=1.0), target="bench")
        surrogate = Surrogate(scratch)

        def scored() -> float:
            started = time.perf_counter()
            surrogate.predict(smiles)
            return (time.perf_counter() - started) / len(smiles)

        times = interleaved({"physics": physics, "surrogate": scored}, repeats)
    ratio, interval = paired_ratio(times["physics"], times["surrogate"])  # seconds per molecule
    return [entry(
        requirement=REQUIREMENT, metric=METRIC, value=ratio, unit="ratio of molecules/s", interval=list(interval),
        interval_kind=BOOTSTRAP, repeats=repeats,
        why=f"1 core each; physics {recipe.physics.n_conformers} conformers x {recipe.physics.mmff_max_iters} "
            f"MMFF iterations on an even-stride sample of {PHYSICS_MOLECULES} molecules; surrogate laptop "
            f"GNN on {SURROGATE_MOLECULES} molecules per window, featurisation included",
        physics_seconds_per_molecule=times["physics"], surrogate_seconds_per_molecule=times["surrogate"],
    )]
