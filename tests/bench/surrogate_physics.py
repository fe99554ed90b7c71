"""AI4S-PERF-004: surrogate against physics throughput on equal cores (one core each).

The physics is what the surrogate stands in for: the physics stage's AutoDock Vina docking at
the ``laptop`` recipe's settings (one Vina CPU, the receptor's maps computed once, outside the
timing, as a stage rank does). The MMFF94 descriptor the stage also computes (ETKDG conformers
+ minimisation, single-threaded) is timed beside it as a second, unjudged ratio. The surrogate
is the ``laptop`` GNN scoring SMILES through ``Surrogate.predict`` with one torch thread
(featurisation included, as in serving). All run in this process: the surrogate on 256 NCI
molecules, docking and MMFF on even-stride samples of them (the same size mix); windows
alternate per repeat, and the ratio of molecules per second is taken per repeat.
The surrogate is untrained: its cost does not depend on its weights.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.bench.stats import BOOTSTRAP, entry, interleaved, paired_ratio

REQUIREMENT = "AI4S-PERF-004"
METRIC = "surrogate_over_physics_throughput"
PHYSICS_MOLECULES = 8  # per window: a few seconds of MMFF on one core
DOCKED_MOLECULES = 4  # per window: about 20 s of Vina on one core
SURROGATE_MOLECULES = 256


def measure(repeats: int) -> list[dict[str, Any]]:
    import torch

    from reference_workloads.drug_discovery.docking.receptor import prepare_receptor
    from reference_workloads.drug_discovery.docking.vina_dock import Docker
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
    docked_sample = smiles[:: len(smiles) // DOCKED_MOLECULES][:DOCKED_MOLECULES]

    def seconds_per_molecule(label: Callable[[str], Any], molecules: list[str]) -> Callable[[], float]:
        def window() -> float:
            started = time.perf_counter()
            for text in molecules:
                label(text)
            return (time.perf_counter() - started) / len(molecules)
        return window

    physics = seconds_per_molecule(lambda s: compute_molecule(s, recipe.physics, seed=recipe.seed), sample)

    with tempfile.TemporaryDirectory() as scratch:
        receptor = prepare_receptor(Path(scratch) / "receptor", recipe.docking.padding)
        docker = Docker(receptor.pdbqt, receptor.pocket, recipe.docking, seed=recipe.seed)
        docking = seconds_per_molecule(docker.dock, docked_sample)

        torch.manual_seed(0)
        save_surrogate(scratch, MolecularGnn(GnnConfig(**recipe.model.as_dict())),
                       normaliser=Normaliser(mean=0.0, std=1.0), target="bench")
        surrogate = Surrogate(scratch)

        def scored() -> float:
            started = time.perf_counter()
            surrogate.predict(smiles)
            return (time.perf_counter() - started) / len(smiles)

        times = interleaved({"docking": docking, "physics": physics, "surrogate": scored}, repeats)
    surrogate_part = (f"surrogate laptop GNN on {SURROGATE_MOLECULES} molecules per window, "
                      "featurisation included")
    ratio, interval = paired_ratio(times["docking"], times["surrogate"])  # seconds per molecule
    mmff_ratio, mmff_interval = paired_ratio(times["physics"], times["surrogate"])
    return [entry(
        requirement=REQUIREMENT, metric=METRIC, value=ratio, unit="ratio of molecules/s", interval=list(interval),
        interval_kind=BOOTSTRAP, repeats=repeats,
        why=f"1 core each; physics = the stage's Vina docking (exhaustiveness {recipe.docking.exhaustiveness}, "
            f"{recipe.docking.n_conformers} conformer) on an even-stride sample of {DOCKED_MOLECULES} molecules; "
            + surrogate_part,
        docking_seconds_per_molecule=times["docking"], surrogate_seconds_per_molecule=times["surrogate"],
    ), entry(
        requirement=None, metric="surrogate_over_mmff_throughput", value=mmff_ratio, unit="ratio of molecules/s",
        interval=list(mmff_interval), interval_kind=BOOTSTRAP, repeats=repeats,
        why=f"1 core each; the MMFF94 descriptor, {recipe.physics.n_conformers} conformers x "
            f"{recipe.physics.mmff_max_iters} iterations, on an even-stride sample of {PHYSICS_MOLECULES} "
            f"molecules; " + surrogate_part,
        physics_seconds_per_molecule=times["physics"], surrogate_seconds_per_molecule=times["surrogate"],
    )]
