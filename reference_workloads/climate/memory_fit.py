"""Does a climate recipe's declared memory hold its simulate and train stages?

The estimates come from `simulation.memory` (checked against tracemalloc on small runs);
this module only compares them with what the recipe's `resources` asks the cluster for, so
a pod is never sized below what its stage needs.
"""

from __future__ import annotations

from .recipes import ClimateRecipe
from .simulation import memory

GIB = 2**30
# One training process itself beside its data: torch and the trainer imported measure 0.30 GiB
# resident; 2.5x that for the model, optimiser state and DDP buffers on the host (the h100x1
# model's weights and optimiser live on the GPU).
TRAIN_PROCESS_BYTES = 3 * GIB // 4


def simulate_need_bytes(recipe: ClimateRecipe) -> int:
    """Peak bytes of one simulate rank; each rank is its own pod (`StageResources.ranks`)."""
    return memory.simulate_peak_bytes(recipe.simulation, recipe.simulation.ranks)


def train_need_bytes(recipe: ClimateRecipe) -> int:
    """Peak bytes of the training pod: each of its ``nproc`` processes streams its data a
    shard at a time (the larger of the training and validation shards; on CUDA with
    ``data_on_device`` the set is read into device memory a trajectory at a time, which the
    shard bounds too) plus the process itself. Batches are pinned as they are copied, so
    there is no second, pinned copy of the set."""
    train = recipe.train
    data = max(memory.training_data_bytes(recipe.simulation, n, train.global_batch_size, train.unroll)
               for n in (train.train_trajectories, train.val_trajectories))
    return train.nproc * (data + TRAIN_PROCESS_BYTES)


def memory_shortfalls(recipe: ClimateRecipe) -> list[str]:
    """One line per stage whose declared memory is below its estimated peak."""
    problems = []
    for stage, need in (("simulate", simulate_need_bytes(recipe)), ("train", train_need_bytes(recipe))):
        declared = getattr(recipe.resources, stage).memory_gib
        if need > declared * GIB:
            problems.append(f"resources.{stage}.memory_gib={declared:g} is too small: the stage needs about "
                            f"{need / GIB:.2f} GiB per pod")
    return problems
