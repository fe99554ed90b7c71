"""A recipe's stages as workload objects, in the order they run, and written to a folder.

Each stage's pod runs the kit's own pipeline (``ai4s run ... --stage S``): it takes its
upstream results from the run's prefix in the S3 data layer (``AI4S_STORAGE``), where the
stage markers and content hashes make every finished stage a reuse, and leaves its own
there for the next stage.
"""

from __future__ import annotations

import importlib
import json
import os
import shlex
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import yaml

from ..core.launch import MAP_BACKEND_ENV
from ..core.recipes import config_hash, stage_resources
from ..registry import WORKLOADS
from . import objects as ob
from .target import PlatformTarget

IMAGE_REPOSITORY = "localhost/ai4s-kit"
"""The name `python -m containers.build` gives the kit's image (what `kind load` puts on the
nodes); a registry's name comes with ``--image``."""
UNPINNED_IMAGE = f"{IMAGE_REPOSITORY}:cpu"
SHORT_NAMES = {"climate": "climate", "drug-discovery": "drug"}


class RenderError(ValueError):
    """A recipe that cannot be rendered for the platform (names what to change)."""


def default_image() -> str:
    """The kit's image by the digest AI4S_IMAGE_DIGEST names (set in every stage pod, so a
    submission from inside one reuses its image); otherwise the tag, which the digest rule
    refuses. ``/etc/ai4s/image.json`` is not used: it names the build's parent layer, not
    the digest the registry serves."""
    digest = os.environ.get("AI4S_IMAGE_DIGEST", "")
    return f"{IMAGE_REPOSITORY}@{digest}" if digest.startswith("sha256:") else UNPINNED_IMAGE


def stage_command(workload: str, recipe_name: str, overrides: Sequence[str], stage: str) -> list[str]:
    sets = [arg for item in overrides for arg in ("--set", item)]
    return ["ai4s", "run", workload, "--recipe", recipe_name, *sets, "--out", ob.RUN_DIR, "--stage", stage]


def run_id(workload: str, recipe_name: str, recipe: object) -> str:
    """Names a run on the cluster: the recipe and its config hash (so a rerun finds its objects)."""
    return f"{recipe_name.replace('_', '')}-{config_hash(recipe)[:8]}"


def render_workload(workload: str, recipe_name: str, target: PlatformTarget, *, image: str,
                    overrides: Sequence[str] = (), physics: Literal["mpi", "ray"] = "mpi") -> list[ob.StageObject]:
    """Every stage's object for ``workload`` on ``target``, upstream stages first."""
    if workload not in WORKLOADS:
        raise RenderError(f"workload={workload!r} is invalid: expected one of {', '.join(WORKLOADS)}")
    if physics not in ("mpi", "ray"):
        raise RenderError(f"physics={physics!r} is invalid: expected mpi or ray")
    book = importlib.import_module(f"{WORKLOADS[workload]}.recipes").book
    recipe = book.get(recipe_name, overrides)
    sizes = stage_resources(recipe)
    rid = run_id(workload, recipe_name, recipe)
    env = ob.platform_env(target, run_id=rid, image=image)

    def name(stage: str) -> str:
        return f"{SHORT_NAMES[workload]}-{rid}-{stage}"

    def job(stage: str, *, mpi: bool, procs: int, after: tuple[str, ...] = ()) -> ob.StageObject:
        manifest = ob.train_job(name(stage), target, stage=stage, run_id=rid, image=image, mpi=mpi,
                                command=stage_command(workload, recipe_name, overrides, stage),
                                size=sizes[stage], procs_per_node=procs, env=env)
        return ob.StageObject(stage=stage, manifest=manifest, after=after)

    if workload == "climate":
        _same_ranks("resources.simulate.ranks", sizes["simulate"].ranks, "simulation.ranks", recipe.simulation.ranks)
        return [job("simulate", mpi=True, procs=1),
                job("train", mpi=False, procs=recipe.train.nproc, after=("simulate",)),
                job("evaluate", mpi=False, procs=1, after=("train",))]
    _same_ranks("resources.physics.ranks", sizes["physics"].ranks, "resources.physics_ranks",
                recipe.resources.physics_ranks)
    if physics == "ray":
        # The kit's own pipeline up to the physics stage (the library first), its map on the Ray
        # cluster the RayJob starts: the same shards, tables and stage marker as the MPI TrainJob,
        # published to the data layer, so the train pod resumes the stage instead of redoing it.
        command = stage_command(workload, recipe_name, overrides, "physics")
        entrypoint = f"{MAP_BACKEND_ENV}=ray " + " ".join(shlex.quote(a) for a in command)
        first = ob.StageObject(stage="physics", manifest=ob.ray_job(
            name("physics-ray"), target, stage="physics", run_id=rid, image=image, entrypoint=entrypoint,
            size=sizes["physics"], env=env))
    else:
        first = job("physics", mpi=True, procs=1)
    serve = ob.inference_service(
        name("serve"), target, stage="serve", run_id=rid, image=image,
        model_uri=f"{target.storage}/{rid}/model", size=sizes["serve"], env=env, device=recipe.resources.device)
    return [first,
            job("train", mpi=False, procs=recipe.resources.train_procs, after=("physics",)),
            job("evaluate", mpi=False, procs=1, after=("train",)),
            ob.StageObject(stage="serve", manifest=serve, after=("train",))]


def _same_ranks(field: str, value: int, other: str, expected: int) -> None:
    if value != expected:
        raise RenderError(f"{field}={value} is invalid: expected {other}={expected} (one pod per MPI rank)")


def write_objects(stages: Sequence[ob.StageObject], out_dir: Path) -> list[Path]:
    """``<NN>-<stage>.yaml`` per object, numbered in run order, and ``plan.json`` (stage, object, after)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for stale in out_dir.glob("*.yaml"):
        stale.unlink()
    written = []
    for i, s in enumerate(stages, 1):
        path = out_dir / f"{i:02d}-{s.stage}.yaml"
        path.write_text(yaml.safe_dump(s.manifest, sort_keys=True), encoding="utf-8")
        written.append(path)
    plan = [{"stage": s.stage, "kind": s.manifest["kind"], "name": s.name, "after": list(s.after)} for s in stages]
    (out_dir / "plan.json").write_text(json.dumps(plan, indent=1), encoding="utf-8")
    return [*written, out_dir / "plan.json"]
