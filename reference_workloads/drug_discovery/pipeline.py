"""The drug-discovery workload end to end.

library -> physics (MPI, or a Ray map) -> task tables -> GNN surrogates (DDP) and random forests ->
screen through the served surrogate -> evaluation and figures -> tracking -> manifest.
Every stage is resumable: a rerun of the same recipe skips what is done.
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from reference_workloads.core import launch
from reference_workloads.core.atomic import atomic_path, write_json
from reference_workloads.core.compute import device_kind
from reference_workloads.core.hashing import hash_dataframe, sha256_file
from reference_workloads.core.manifest import build_manifest, code_version, write_manifest
from reference_workloads.core.progress import progress_bar
from reference_workloads.core.recipes import RecipeError, config_hash, recipe_dict, repetition_seeds
from reference_workloads.core.runs import check_stage_group, stopped_after, workload_run
from reference_workloads.core.stages import Stage, StageCall
from reference_workloads.core.worker_map import require_backend
from reference_workloads.provenance.paths import relative_to_run

from .recipes import DrugRecipe, book

WORKLOAD = "drug-discovery"
PHYSICS_MODULE = "reference_workloads.drug_discovery.physics_mpi"
DOCKING_MODULE = "reference_workloads.drug_discovery.docking.mpi"
PHYSICS_TABLE = "physics.parquet"
TRAINING_MODULE = "reference_workloads.drug_discovery.train"
TASKS = ("physics", "activity")
UNITS = {"physics": "kcal/mol", "activity": "pIC50"}


def receptor_dataset(origin: dict[str, Any]) -> dict[str, Any]:
    """The receptor as the crate's Dataset entity: where it came from and how it was prepared."""
    return {
        "name": f"receptor: {origin['package']} {origin['version']} {origin['receptor']['path']}",
        "description": ("AutoDock Vina receptor from the ProLIF wheel's docking tutorial, prepared offline by "
                        "meeko after " + "; ".join(origin["preparation"]["edits"]) + "; the pocket box is the "
                        f"reference ligand's ({origin['reference_ligand']['name']}) heavy-atom box"),
        "url": f"https://pypi.org/project/{origin['package']}/{origin['version']}/",
        "version": origin["version"],
        "sha256": origin["receptor"]["sha256"],
        "properties": {
            "source_path": origin["receptor"]["path"],
            "pdb_sha256": origin["receptor"]["sha256"],
            "pdbqt_sha256": origin["pdbqt_sha256"],
            "reference_ligand_path": origin["reference_ligand"]["path"],
            "reference_ligand_sha256": origin["reference_ligand"]["sha256"],
            "reference_ligand_smiles": origin["reference_ligand"]["smiles"],
            "preparation": f"{origin['preparation']['tool']} {origin['preparation']['version']}",
            "preparation_steps": origin["preparation"]["edits"],
            "pocket_center": origin["pocket"]["center"],
            "pocket_size": origin["pocket"]["size"],
        },
    }


def _write_parquet(frame: pd.DataFrame, path: Path) -> None:
    with atomic_path(path) as tmp:
        frame.to_parquet(tmp, index=False)


def library_files(source: str) -> dict[str, str]:
    """Content hashes of the files the library stage reads, so an edited file reruns it."""
    from .library import CHEMBL_ACTIVITY, CHEMBL_SMILES, NCI_SMILES

    path = {"nci": NCI_SMILES, "chembl": CHEMBL_SMILES}.get(source, Path(source))
    files = {"library": path, "chembl_smiles": CHEMBL_SMILES, "chembl_activity": CHEMBL_ACTIVITY}
    return {name: sha256_file(f) if Path(f).is_file() else "missing" for name, f in files.items()}


def _library(call: StageCall) -> dict[str, Any]:
    from .library import load_chembl_activities, load_library

    recipe, out = call.recipe, call.folder
    try:
        library = load_library(recipe.data.library, recipe.data.library_limit)
    except ValueError as error:  # a bad library is a bad recipe value: one line, exit 2 in the CLI
        raise RecipeError(str(error)) from None
    activity = load_chembl_activities(recipe.data.activity_limit, seed=recipe.seed)
    _write_parquet(library.molecules, out / "library.parquet")
    _write_parquet(activity.molecules, out / "activity.parquet")
    reports = {"library": library.report.as_dict(), "activity": activity.report.as_dict()}
    write_json(out / "invalid_molecules.json", reports)
    return {"molecules": len(library.molecules), "activity_molecules": len(activity.molecules),
            "library": call.relative(out / "library.parquet"), "activity": call.relative(out / "activity.parquet"),
            "invalid": reports, "library_hash": hash_dataframe(library.molecules),
            "activity_hash": hash_dataframe(activity.molecules)}


def _physics(call: StageCall) -> dict[str, Any]:
    """Dock the library (the objective), then compute the MMFF descriptors, on the same ranks.

    On MPI ranks by default; ``AI4S_MAP_BACKEND=ray`` (the RayJob) or ``inprocess`` maps the
    same work over Ray actors or this process (``physics_map``). The backend is chosen by the
    environment, outside the stage key: every backend writes the same shards and tables
    bitwise, so a physics stage done on Ray is resumed by a later run on MPI, and the reverse.
    """
    from reference_workloads.core.worker_map import MAPS

    from . import physics_map
    from .docking.mpi import SDF as POSES
    from .docking.mpi import STATS as DOCKING_STATS
    from .docking.mpi import TABLE as DOCKING_TABLE
    from .physics_mpi import STATS, TABLE, settings_key
    from .physics_table import physics_table

    recipe, out = call.recipe, call.folder
    ranks = recipe.resources.physics_ranks
    backend = launch.LaunchConfig.from_env().map_backend
    library = call.run_dir / call.upstream["library"]["library"]
    common = ["--library", str(library), "--seed", str(recipe.seed), "--code-version", call.code_version]
    # Shards live in the run's .scratch, keyed by settings, seed and code (and, for docking, the
    # prepared receptor's sha256), not by the library: molecules a new library shares with an old
    # one are reused (rows match by SMILES), the rest computed; a killed run resumes from them.
    docking_shards = call.run_dir / ".scratch" / "docking-shards"
    mmff_shards = call.run_dir / ".scratch" / "physics-shards" / settings_key(recipe.physics, recipe.seed,
                                                                               call.code_version)
    workers = 1 if backend == "inprocess" else ranks  # the in-process map has one worker, this process
    where = {"mpi": f"{ranks} MPI ranks", "ray": f"{ranks} Ray actors", "inprocess": "this process"}[backend]
    with progress_bar(f"docking on {where}") as update:
        if backend == "mpi":
            launch.mpiexec(
                ranks, DOCKING_MODULE,
                [*common, "--out", str(out / "docking"), "--settings", json.dumps(dataclasses.asdict(recipe.docking)),
                 "--shards", str(docking_shards), "--receptor", str(out / "receptor")],
                timeout=recipe.resources.timeout_s, on_progress=update,
            )
        else:
            physics_map.dock(library, out / "docking", recipe.docking, recipe.seed, pmap=MAPS[backend],
                             workers=workers, shard_root=docking_shards, receptor_folder=out / "receptor",
                             code_version=call.code_version, on_progress=update)
    with progress_bar(f"MMFF descriptors on {where}") as update:
        if backend == "mpi":
            launch.mpiexec(
                ranks, PHYSICS_MODULE,
                [*common, "--out", str(out / "mmff"), "--settings", json.dumps(dataclasses.asdict(recipe.physics)),
                 "--shards", str(mmff_shards)],
                timeout=recipe.resources.timeout_s, on_progress=update,
            )
        else:
            physics_map.mmff(library, out / "mmff", recipe.physics, recipe.seed, pmap=MAPS[backend], workers=workers,
                             shard_dir=mmff_shards, code_version=call.code_version, on_progress=update)
    docking_stats = json.loads((out / "docking" / DOCKING_STATS).read_text())
    mmff_stats = json.loads((out / "mmff" / STATS).read_text())
    table = physics_table(pd.read_parquet(out / "docking" / DOCKING_TABLE), pd.read_parquet(out / "mmff" / TABLE))
    _write_parquet(table, out / PHYSICS_TABLE)
    computed, wall = docking_stats["computed"], docking_stats["wall_seconds"]
    return {
        "table": call.relative(out / PHYSICS_TABLE),
        "physics_hash": hash_dataframe(table),
        "sdf_sha256": sha256_file(out / "docking" / POSES),
        # rejections per reason (parse, element whitelist, size, embedding, meeko, score sanity)
        "status_counts": docking_stats["status_counts"],
        "mmff_status_counts": mmff_stats["status_counts"],
        "computed": computed,
        "reused_from_shards": docking_stats["reused_from_shards"],
        "wall_seconds": wall,
        "mmff_wall_seconds": mmff_stats["wall_seconds"],
        # the screen's speed-up is over docking, the physics the surrogate replaces
        "molecules_per_second": computed / wall if computed else float("nan"),
        "ranks": ranks,
        "map_backend": backend,
        "shard_key": docking_stats["shard_key"],
        "datasets": {"receptor": receptor_dataset(docking_stats["receptor"])},
    }


def _assign_parts(n: int, split: Any) -> list[str]:
    parts = [""] * n
    for name in ("train", "val", "test"):
        for position in getattr(split, name):
            parts[position] = name
    return parts


def _task(call: StageCall, task: str) -> dict[str, Any]:
    from .physics_table import learnable
    from .splits import random_split, scaffold_split

    recipe = call.recipe
    train = recipe.train
    if task == "physics":
        column, kind = train.physics_target, train.physics_split
        frame = learnable(pd.read_parquet(call.run_dir / call.upstream["physics"]["table"]), column)
    else:
        frame = pd.read_parquet(call.run_dir / call.upstream["library"]["activity"])
        column, kind = "activity", train.activity_split
    options = {"val_fraction": train.val_fraction, "test_fraction": train.test_fraction, "seed": recipe.seed}
    if kind == "scaffold":
        split = scaffold_split(frame["smiles"].tolist(), **options)
    else:
        split = random_split(len(frame), **options)
    table = pd.DataFrame({
        "record": frame["record"], "smiles": frame["smiles"],
        "target": frame[column].astype(np.float64), "part": _assign_parts(len(frame), split),
    })
    path = call.folder / f"{task}.parquet"
    _write_parquet(table, path)
    return {"table": call.relative(path), "task_hash": hash_dataframe(table)}


def _train(call: StageCall, task: str) -> dict[str, Any]:
    recipe, out = call.recipe, call.folder
    config_path = out / "config.json"
    write_json(config_path, recipe.declared())
    procs = recipe.resources.train_procs
    with progress_bar(f"{task} surrogate on {procs} DDP processes") as update:
        launch.torchrun(
            procs, TRAINING_MODULE,
            ["--config", str(config_path), "--task", str(call.run_dir / call.upstream[f"tasks_{task}"]["table"]),
             "--out", str(out), "--eventlog", str(call.run_dir / "events.log"), "--name", task,
             "--checkpoints", str(call.scratch / "checkpoints"), "--key", call.key],
            timeout=recipe.resources.timeout_s, on_progress=update,
        )
    summary = json.loads((out / "training.json").read_text())
    return {"surrogate": call.relative(out / "surrogate"), "predictions": call.relative(out / "predictions.parquet"),
            **summary}


def _baseline(call: StageCall, task: str) -> dict[str, Any]:
    from .baseline import fit_forest, predict_forest

    recipe = call.recipe
    table = pd.read_parquet(call.run_dir / call.upstream[f"tasks_{task}"]["table"])
    fitted = table[table["part"] == "train"]
    forest = fit_forest(fitted["smiles"].tolist(), fitted["target"].to_numpy(), recipe.baseline, seed=recipe.train.seed)
    predictions = table.assign(prediction=predict_forest(forest, table["smiles"].tolist(), recipe.baseline))
    path = call.folder / f"{task}_predictions.parquet"
    _write_parquet(predictions, path)
    return {"predictions": call.relative(path), "predictions_hash": hash_dataframe(predictions)}


def _screen(call: StageCall) -> dict[str, Any]:
    from .physics_table import learnable
    from .screen import score_library, screening_report
    from .serve import running_server

    recipe, run_dir, out = call.recipe, call.run_dir, call.folder
    physics = call.upstream["physics"]
    # the docked pool: the molecules whose docking score the surrogate's ranking is judged on
    scored = learnable(pd.read_parquet(run_dir / physics["table"]), recipe.train.physics_target)
    task = pd.read_parquet(run_dir / call.upstream["tasks_physics"]["table"])
    trained_on = set(task.loc[task["part"] != "test", "record"].tolist())
    screen = recipe.screen
    with running_server(run_dir / call.upstream["train_physics"]["surrogate"], max_batch=screen.max_batch,
                        device=device_kind(recipe.resources.device)) as url:
        run = score_library(url, scored["smiles"].tolist(), batch_size=screen.batch_size, protocol=screen.protocol)
    report = screening_report(
        scored, recipe.train.physics_target, run, top_fraction=screen.top_fraction,
        higher_is_better=screen.higher_is_better, physics_molecules_per_second=physics["molecules_per_second"],
        held_out=~scored["record"].isin(trained_on).to_numpy(),
    )
    report["physics_ranks"] = physics["ranks"]
    report["protocol"] = screen.protocol
    write_json(out / "screen.json", report)
    _write_parquet(scored[["record", "name", "smiles"]].assign(predicted=run.predictions), out / "scores.parquet")
    return {"screen": call.relative(out / "screen.json"), "screen_sha256": sha256_file(out / "screen.json")}


def _active_learning(call: StageCall) -> dict[str, Any]:
    from .active_learning import PUBLISHED, run_active_learning

    recipe, out = call.recipe, call.folder
    pool = pd.read_parquet(call.run_dir / call.upstream["physics"]["table"])
    config = recipe.active_learning
    with progress_bar(f"active learning: {len(config.strategies)} strategies x {config.repeats} repeats") as update:
        headline = run_active_learning(pool, config, out, device=device_kind(recipe.resources.device),
                                       seed=recipe.seed, progress=update)
    return {"folder": call.relative(out), "headline": headline,
            "sha256": {name: sha256_file(out / name) for name in PUBLISHED}}


def _evaluate_stage(call: StageCall) -> dict[str, Any]:
    run_dir = call.run_dir
    trained = {t: {**call.upstream[f"train_{t}"],
                   "predictions": str(run_dir / call.upstream[f"train_{t}"]["predictions"])} for t in TASKS}
    baseline = {"predictions": {t: str(run_dir / call.upstream[f"baseline_{t}"]["predictions"]) for t in TASKS}}
    screened = {"screen": str(run_dir / call.upstream["screen"]["screen"])}
    written = _evaluate(call.recipe, call.folder.parent, trained, baseline, screened,
                        run_dir / call.upstream["tasks_physics"]["table"])
    results = Path(written["results"])
    return {"results": call.relative(results), "results_sha256": sha256_file(results),
            **{name: call.relative(results.with_name(f"{name}.parquet"))
               for name in ("test_predictions", "screen_predictions")}}


def _evaluate(recipe: DrugRecipe, run_dir: Path, trained: dict[str, dict], baseline: dict[str, Any],
              screened: dict[str, Any], physics_task: Path) -> dict[str, Any]:
    from .plots import plot_hit_enrichment, plot_parity
    from .summary import docking_hits, hit_curves, model_metrics, screen_predictions, verdict

    out = run_dir / "evaluation"
    # the test-set predictions and screening scores are published, and every headline
    # metric is recomputed from them (summary.headline), never copied from a stage's report
    test = pd.concat([
        pd.read_parquet(path).query("part == 'test'").assign(task=task, model=model)
        for task in TASKS
        for model, path in (("gnn", trained[task]["predictions"]), ("random_forest", baseline["predictions"][task]))
    ], ignore_index=True)[["task", "model", "record", "smiles", "target", "prediction"]]
    _write_parquet(test, out / "test_predictions.parquet")
    scores = screen_predictions(pd.read_parquet(Path(screened["screen"]).with_name("scores.parquet")),
                                pd.read_parquet(physics_task))
    _write_parquet(scores, out / "screen_predictions.parquet")
    metrics = model_metrics(test)
    panels = {}
    for (task, model), rows in test.groupby(["task", "model"], sort=False):
        panels[f"{task} · {model}"] = {"truth": rows["target"], "predicted": rows["prediction"],
                                      "metrics": metrics[task][model], "unit": UNITS[task]}
    screen = json.loads(Path(screened["screen"]).read_text())
    plot_parity(panels, out / "parity.png")
    pool = scores["physics"].to_numpy()
    options = {"hit_fraction": recipe.screen.hit_fraction, "higher_is_better": recipe.screen.higher_is_better}
    hits = docking_hits(test, pool, **options)
    plot_hit_enrichment(hit_curves(test, pool, **options), recipe.screen.hit_fraction, hits["pool_hits"],
                        out / "enrichment.png")
    results = {
        "physics_target": recipe.train.physics_target,
        "splits": {"physics": recipe.train.physics_split, "activity": recipe.train.activity_split},
        "metrics": metrics,
        "gnn_vs_baseline": verdict(metrics),
        "screen": {k: v for k, v in screen.items() if k != "enrichment"},
        "hits": hits,
        "figures": [str(out / "parity.png"), str(out / "enrichment.png")],  # publishing relativises
    }
    write_json(out / "results.json", results)
    return {"results": str(out / "results.json")}


def _track_stage(call: StageCall) -> dict[str, Any]:
    run_dir = call.run_dir
    trained = {t: {**call.upstream[f"train_{t}"], "surrogate": str(run_dir / call.upstream[f"train_{t}"]["surrogate"])}
               for t in TASKS}
    evaluated = {"results": str(run_dir / call.upstream["evaluate"]["results"])}
    return _track(call.recipe.whole(), call.extra["recipe_name"], run_dir, call.extra["lineage"], trained, evaluated)


def _track(recipe: DrugRecipe, recipe_name: str, run_dir: Path, lineage: dict[str, str],
           trained: dict[str, dict], evaluated: dict[str, Any]) -> dict[str, Any]:
    from reference_workloads.core.tracking import LocalMlflowServer, log_run, tracking_uri

    from .surrogate import Surrogate

    results = json.loads(Path(evaluated["results"]).read_text())
    final = {f"{task}_{model}_{name}": value
             for task, models in results["metrics"].items()
             for model, values in models.items()
             for name, value in values.items() if name != "n"}
    final["screen_recall_at_top_fraction"] = results["screen"]["recall_at_top_fraction"]
    final["screen_speedup"] = results["screen"]["speedup"]
    model = Surrogate(trained["physics"]["surrogate"]).model
    tracking_root = run_dir.parent / "mlflow"

    def log(uri: str) -> dict[str, str]:
        return log_run(
            uri=uri, experiment=f"ai4s-{WORKLOAD}", run_name=f"{recipe_name}-{lineage['model_hash'][:8]}",
            params=recipe_dict(recipe),
            metrics_by_step={f"{task}_{kind}": [h[kind] for h in trained[task]["history"]]
                             for task in TASKS for kind in ("train_loss", "val_loss")},
            final_metrics=final,
            artifacts=[Path(evaluated["results"]), *map(Path, results["figures"]), run_dir / "events.log"],
            model=model, input_example=None,
            registered_name=f"ai4s-{WORKLOAD}-surrogate", lineage_tags=lineage,
            artifact_root=tracking_root / "artifacts",
        )

    if recipe.tracking == "server" and not os.environ.get("MLFLOW_TRACKING_URI"):
        with LocalMlflowServer(tracking_root / "server") as server:
            return {**log(server.uri), "tracking_uri": f"{server.uri} (stopped; store in {server.root})"}
    uri = tracking_uri(tracking_root)
    return {**log(uri), "tracking_uri": uri}


TRAIN_READS = ("model", "train.epochs", "train.batch_size", "train.lr", "train.weight_decay", "train.seed",
               "train.precision", "train.compile", "train.deterministic", "train.num_workers",
               "resources.device", "resources.threads", "resources.train_procs", "resources.timeout_s")
SPLIT_READS = ("seed", "train.val_fraction", "train.test_fraction")
LIBRARY = Stage("library", _library, reads=("data", "seed"), provides=("library_hash", "activity_hash"),
                folder="data", outputs=("library.parquet", "activity.parquet"))
PHYSICS = Stage("physics", _physics, reads=("physics", "docking", "seed", "resources.physics_ranks",
                                            "resources.timeout_s"),
                after=("library",), provides=("physics_hash", "sdf_sha256"), folder="physics",
                outputs=("physics.parquet",))
TASK_STAGES = {
    "physics": Stage("tasks_physics", lambda call: _task(call, "physics"),
                     reads=(*SPLIT_READS, "train.physics_target", "train.physics_split"),
                     after=("physics",), provides=("task_hash",), folder="tasks", outputs=("physics.parquet",)),
    "activity": Stage("tasks_activity", lambda call: _task(call, "activity"),
                      reads=(*SPLIT_READS, "train.activity_split"),
                      after=("library",), provides=("task_hash",), folder="tasks", outputs=("activity.parquet",)),
}
TRAIN_STAGES = {
    task: Stage(f"train_{task}", lambda call, task=task: _train(call, task), reads=TRAIN_READS,
                after=(f"tasks_{task}",), provides=("model_hash",), folder=f"training/{task}",
                outputs=("surrogate/model.pt",))
    for task in TASKS
}
BASELINE_STAGES = {
    task: Stage(f"baseline_{task}", lambda call, task=task: _baseline(call, task), reads=("baseline", "train.seed"),
                after=(f"tasks_{task}",), provides=("predictions_hash",), folder="baseline",
                outputs=(f"{task}_predictions.parquet",))
    for task in TASKS
}
SCREEN = Stage("screen", _screen, reads=("screen", "train.physics_target", "resources.device"),
               after=("physics", "tasks_physics", "train_physics"), provides=("screen_sha256",), folder="screen",
               outputs=("screen.json",))
EVALUATE = Stage("evaluate", _evaluate_stage,
                 reads=("train.physics_target", "train.physics_split", "train.activity_split",
                        "screen.hit_fraction", "screen.higher_is_better"),
                 after=("tasks_physics", *(f"train_{t}" for t in TASKS), *(f"baseline_{t}" for t in TASKS), "screen"),
                 provides=("results_sha256",), folder="evaluation",
                 outputs=("results.json", "test_predictions.parquet", "screen_predictions.parquet"))
# Once per run, not per training seed: the loop repeats over its own seeds.
ACTIVE_LEARNING = Stage("active_learning", _active_learning, reads=("active_learning", "seed", "resources.device"),
                        after=("physics",), provides=("sha256",), folder="active_learning",
                        outputs=("active_learning_rounds.parquet", "active_learning.png"))
TRACK = Stage("track", _track_stage, reads=("*",), after=EVALUATE.after + ("evaluate",))
STAGES = (LIBRARY, PHYSICS, *TASK_STAGES.values(), *TRAIN_STAGES.values(), *BASELINE_STAGES.values(), SCREEN,
          EVALUATE, ACTIVE_LEARNING, TRACK)
BY_NAME = {stage.name: stage for stage in STAGES}


def repeat_recipes(recipe: DrugRecipe) -> list[DrugRecipe]:
    """One recipe per training seed; the library, physics and splits are shared by all of them."""
    seeds = repetition_seeds(recipe.train.seed, recipe.repeats.seeds)
    return [dataclasses.replace(recipe, train=dataclasses.replace(recipe.train, seed=s)) for s in seeds]


def _run_stage(ctx_stages: Any, stage: Stage, recipe: DrugRecipe, done: dict[str, dict], *, repeat: str = "",
               **options: Any) -> dict[str, Any]:
    result = ctx_stages.run_stage(stage, recipe, upstream={n: done[n] for n in stage.after},
                                  upstream_stages={n: BY_NAME[n] for n in stage.after}, repeat=repeat, **options)
    done[stage.name] = result
    return result


# The stages a cluster runs as separate objects, in order (``ai4s run --stage``).
STAGE_GROUPS = ("library", "physics", "train", "evaluate")


def run(recipe_name: str, overrides: list[str], out_dir: Path, *, until: str | None = None) -> dict[str, Any]:
    """Run the named recipe with overrides into ``out_dir``; returns the manifest.

    ``until`` stops after that stage group (one of STAGE_GROUPS: ``train`` is both models and
    the forest for every seed, ``evaluate`` screening, scoring and tracking) and returns what is
    known so far; the next group's pod reuses it through the data layer under the same keys.
    """
    check_stage_group(until, STAGE_GROUPS)
    # a bad or unavailable map backend is refused before any stage runs
    require_backend(launch.LaunchConfig.from_env().map_backend)
    recipe = book.get(recipe_name, overrides)
    code = code_version()
    with workload_run(WORKLOAD, recipe_name, recipe, out_dir, seed=recipe.seed, code_version=code) as ctx:
        run_dir, stages = ctx.run_dir, ctx.stages
        shared: dict[str, dict] = {}
        data = _run_stage(stages, LIBRARY, recipe, shared, extra={"files": library_files(recipe.data.library)},
                          attributes={"library": recipe.data.library})
        if until == "library":
            return stopped_after(until, library_hash=data["library_hash"])
        physics = _run_stage(stages, PHYSICS, recipe, shared,
                             attributes={**recipe_dict(recipe.physics), "mpi_ranks": recipe.resources.physics_ranks})
        if until == "physics":
            return stopped_after(until, dataset_hash=physics["physics_hash"])
        tasks = {t: _run_stage(stages, TASK_STAGES[t], recipe, shared) for t in TASKS}
        repeats = []
        for repeat in repeat_recipes(recipe):
            tag, done = f"seed-{repeat.train.seed}", dict(shared)
            for task in TASKS:
                _run_stage(stages, TRAIN_STAGES[task], repeat, done, repeat=tag,
                           attributes={"task": task, **recipe_dict(repeat.model), **recipe_dict(repeat.train),
                                       "ddp_processes": repeat.resources.train_procs})
                _run_stage(stages, BASELINE_STAGES[task], repeat, done, repeat=tag,
                           attributes=recipe_dict(repeat.baseline))
            if until == "train":
                repeats.append({"seed": repeat.train.seed, "model_hash": done["train_physics"]["model_hash"]})
                continue
            _run_stage(stages, SCREEN, repeat, done, repeat=tag, attributes=recipe_dict(repeat.screen))
            _run_stage(stages, EVALUATE, repeat, done, repeat=tag)
            repeats.append({"seed": repeat.train.seed, "folder": f"repeats/{tag}", "done": done})
        if until == "train":
            return stopped_after(until, dataset_hash=physics["physics_hash"],
                                 model_hash=repeats[0]["model_hash"], repeats=repeats)
        learned = _run_stage(stages, ACTIVE_LEARNING, recipe, dict(shared),
                             attributes=recipe_dict(recipe.active_learning))
        first = repeats[0]["done"]
        lineage = {"dataset_hash": physics["physics_hash"], "model_hash": first["train_physics"]["model_hash"],
                   "activity_model_hash": first["train_activity"]["model_hash"], "config_hash": config_hash(recipe),
                   "code_version": code, "recipe": recipe_name, "workload": WORKLOAD}
        tracked = _run_stage(stages, TRACK, recipe, dict(first),
                             extra={"recipe_name": recipe_name, "lineage": lineage,
                                    "uri": os.environ.get("MLFLOW_TRACKING_URI", "")},
                             attributes={"tracking": recipe.tracking})
        results = json.loads((run_dir / first["evaluate"]["results"]).read_text())
        manifest = build_manifest(
            workload=WORKLOAD, recipe_name=recipe_name, recipe=recipe,
            dataset_hash=physics["physics_hash"], model_hash=first["train_physics"]["model_hash"],
            seeds={"data": recipe.seed, "training": [r["seed"] for r in repeats]},
            world_size={"mpi_ranks": recipe.resources.physics_ranks, "ddp_processes": recipe.resources.train_procs},
            extra={"activity_model_hash": first["train_activity"]["model_hash"], "sdf_sha256": physics["sdf_sha256"],
                   "task_hashes": {t: tasks[t]["task_hash"] for t in TASKS}, "invalid_molecules": data["invalid"],
                   "physics_status_counts": physics["status_counts"], "tracking": relative_to_run(tracked, run_dir),
                   "results": first["evaluate"]["results"], "active_learning": learned["folder"],
                   "repeats": [{"seed": r["seed"], "folder": r["folder"],
                                "model_hash": r["done"]["train_physics"]["model_hash"],
                                "activity_model_hash": r["done"]["train_activity"]["model_hash"],
                                "results": r["done"]["evaluate"]["results"]} for r in repeats]},
        )
        write_manifest(run_dir, manifest)
        write_json(run_dir / "results.json", {**results, "hashes": {k: manifest[k] for k in
                                                                     ("dataset_hash", "model_hash", "config_hash")}})
        return manifest
