"""The drug-discovery workload end to end.

library -> physics (MPI) -> task tables -> GNN surrogates (DDP) and random forests ->
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
from reference_workloads.core.hashing import hash_dataframe, sha256_file
from reference_workloads.core.manifest import build_manifest, code_version, write_manifest
from reference_workloads.core.progress import progress_bar
from reference_workloads.core.recipes import RecipeError, config_hash, recipe_dict
from reference_workloads.core.runs import workload_run
from reference_workloads.provenance.paths import relative_to_run

from .recipes import DrugRecipe, book

WORKLOAD = "drug-discovery"
PHYSICS_MODULE = "reference_workloads.drug_discovery.physics_mpi"
TRAINING_MODULE = "reference_workloads.drug_discovery.train"
TASKS = ("physics", "activity")
UNITS = {"physics": "kcal/mol", "activity": "pIC50"}


def _write_parquet(frame: pd.DataFrame, path: Path) -> None:
    with atomic_path(path) as tmp:
        frame.to_parquet(tmp, index=False)


def _library(recipe: DrugRecipe, run_dir: Path) -> dict[str, Any]:
    from .library import load_chembl_activities, load_library

    out = run_dir / "data"
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
            "invalid": reports, "library_hash": hash_dataframe(library.molecules)}


def _physics(recipe: DrugRecipe, run_dir: Path) -> dict[str, Any]:
    from .physics_mpi import SDF, STATS, TABLE

    out = run_dir / "physics"
    ranks = recipe.resources.physics_ranks
    with progress_bar(f"physics on {ranks} MPI ranks") as update:
        launch.mpiexec(
            ranks, PHYSICS_MODULE,
            ["--library", str(run_dir / "data" / "library.parquet"), "--out", str(out),
             "--settings", json.dumps(dataclasses.asdict(recipe.physics)), "--seed", str(recipe.seed)],
            timeout=recipe.resources.timeout_s, on_progress=update,
        )
    stats = json.loads((out / STATS).read_text())
    table = pd.read_parquet(out / TABLE)
    computed = stats["computed"]
    return {
        "physics_hash": hash_dataframe(table),
        "sdf_sha256": sha256_file(out / SDF),
        "status_counts": stats["status_counts"],
        "wall_seconds": stats["wall_seconds"],
        "molecules_per_second": computed / stats["wall_seconds"] if computed else float("nan"),
        "ranks": ranks,
    }


def _assign_parts(n: int, split: Any) -> list[str]:
    parts = [""] * n
    for name in ("train", "val", "test"):
        for position in getattr(split, name):
            parts[position] = name
    return parts


def _tasks(recipe: DrugRecipe, run_dir: Path) -> dict[str, Any]:
    from .physics import OK
    from .splits import random_split, scaffold_split

    train = recipe.train
    physics = pd.read_parquet(run_dir / "physics" / "physics.parquet")
    physics = physics[physics["status"] == OK].reset_index(drop=True)
    activity = pd.read_parquet(run_dir / "data" / "activity.parquet")
    frames = {
        "physics": (physics, train.physics_target, train.physics_split),
        "activity": (activity, "activity", train.activity_split),
    }
    hashes = {}
    for task, (frame, column, kind) in frames.items():
        options = {"val_fraction": train.val_fraction, "test_fraction": train.test_fraction, "seed": recipe.seed}
        if kind == "scaffold":
            split = scaffold_split(frame["smiles"].tolist(), **options)
        else:
            split = random_split(len(frame), **options)
        table = pd.DataFrame({
            "record": frame["record"], "smiles": frame["smiles"],
            "target": frame[column].astype(np.float64), "part": _assign_parts(len(frame), split),
        })
        _write_parquet(table, run_dir / "tasks" / f"{task}.parquet")
        hashes[task] = hash_dataframe(table)
    return {"task_hashes": hashes}


def _train(recipe: DrugRecipe, run_dir: Path, task: str) -> dict[str, Any]:
    out = run_dir / "training" / task
    config_path = out / "config.json"
    write_json(config_path, recipe_dict(recipe))
    procs = recipe.resources.train_procs
    with progress_bar(f"{task} surrogate on {procs} DDP processes") as update:
        launch.torchrun(
            procs, TRAINING_MODULE,
            ["--config", str(config_path), "--task", str(run_dir / "tasks" / f"{task}.parquet"),
             "--out", str(out), "--eventlog", str(run_dir / "events.log"), "--name", task],
            timeout=recipe.resources.timeout_s, on_progress=update,
        )
    summary = json.loads((out / "training.json").read_text())
    return {"surrogate": str(out / "surrogate"), "predictions": str(out / "predictions.parquet"), **summary}


def _baseline(recipe: DrugRecipe, run_dir: Path) -> dict[str, Any]:
    from .baseline import fit_forest, predict_forest

    out = {}
    for task in TASKS:
        table = pd.read_parquet(run_dir / "tasks" / f"{task}.parquet")
        fitted = table[table["part"] == "train"]
        forest = fit_forest(fitted["smiles"].tolist(), fitted["target"].to_numpy(), recipe.baseline, seed=recipe.seed)
        predictions = table.assign(prediction=predict_forest(forest, table["smiles"].tolist(), recipe.baseline))
        path = run_dir / "baseline" / f"{task}_predictions.parquet"
        _write_parquet(predictions, path)
        out[task] = str(path)
    return {"predictions": out}


def _screen(recipe: DrugRecipe, run_dir: Path, physics: dict[str, Any]) -> dict[str, Any]:
    from .physics import OK
    from .screen import score_library, screening_report
    from .serve import running_server

    library = pd.read_parquet(run_dir / "physics" / "physics.parquet")
    scored = library[library["status"] == OK].reset_index(drop=True)
    task = pd.read_parquet(run_dir / "tasks" / "physics.parquet")
    trained_on = set(task.loc[task["part"] != "test", "record"].tolist())
    screen = recipe.screen
    with running_server(run_dir / "training" / "physics" / "surrogate", max_batch=screen.max_batch,
                        device=recipe.resources.device) as url:
        run = score_library(url, scored["smiles"].tolist(), batch_size=screen.batch_size, protocol=screen.protocol)
    report = screening_report(
        scored, recipe.train.physics_target, run, top_fraction=screen.top_fraction,
        higher_is_better=screen.higher_is_better, physics_molecules_per_second=physics["molecules_per_second"],
        held_out=~scored["record"].isin(trained_on).to_numpy(),
    )
    report["physics_ranks"] = physics["ranks"]
    report["protocol"] = screen.protocol
    write_json(run_dir / "screen" / "screen.json", report)
    _write_parquet(scored[["record", "name", "smiles"]].assign(predicted=run.predictions),
                   run_dir / "screen" / "scores.parquet")
    return {"screen": str(run_dir / "screen" / "screen.json")}


def _evaluate(recipe: DrugRecipe, run_dir: Path, trained: dict[str, dict], baseline: dict[str, Any],
              screened: dict[str, Any]) -> dict[str, Any]:
    from .plots import plot_enrichment, plot_parity
    from .summary import model_metrics, screen_predictions, verdict

    out = run_dir / "evaluation"
    # the test-set predictions and screening scores are published, and every headline
    # metric is recomputed from them (summary.headline), never copied from a stage's report
    test = pd.concat([
        pd.read_parquet(path).query("part == 'test'").assign(task=task, model=model)
        for task in TASKS
        for model, path in (("gnn", trained[task]["predictions"]), ("random_forest", baseline["predictions"][task]))
    ], ignore_index=True)[["task", "model", "record", "smiles", "target", "prediction"]]
    _write_parquet(test, out / "test_predictions.parquet")
    scores = screen_predictions(pd.read_parquet(run_dir / "screen" / "scores.parquet"),
                                pd.read_parquet(run_dir / "tasks" / "physics.parquet"))
    _write_parquet(scores, out / "screen_predictions.parquet")
    metrics = model_metrics(test)
    panels = {}
    for (task, model), rows in test.groupby(["task", "model"], sort=False):
        panels[f"{task} · {model}"] = {"truth": rows["target"], "predicted": rows["prediction"],
                                      "metrics": metrics[task][model], "unit": UNITS[task]}
    screen = json.loads(Path(screened["screen"]).read_text())
    plot_parity(panels, out / "parity.png")
    plot_enrichment(screen["enrichment"]["screened"], screen["enrichment"]["found"],
                    screen["top_fraction"], out / "enrichment.png")
    results = {
        "physics_target": recipe.train.physics_target,
        "splits": {"physics": recipe.train.physics_split, "activity": recipe.train.activity_split},
        "metrics": metrics,
        "gnn_vs_baseline": verdict(metrics),
        "screen": {k: v for k, v in screen.items() if k != "enrichment"},
        "figures": [str(out / "parity.png"), str(out / "enrichment.png")],  # publishing relativises
    }
    write_json(out / "results.json", results)
    return {"results": str(out / "results.json")}


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


def run(recipe_name: str, overrides: list[str], out_dir: Path) -> dict[str, Any]:
    """Run the named recipe with overrides into ``out_dir``; returns the manifest."""
    recipe = book.get(recipe_name, overrides)
    code = code_version()
    with workload_run(WORKLOAD, recipe_name, recipe, out_dir, seed=recipe.seed) as ctx:
        run_dir, stages = ctx.run_dir, ctx.stages
        data = stages.run("library", lambda: _library(recipe, run_dir),
                          inputs={"data": recipe_dict(recipe.data), "code": code},
                          outputs=[run_dir / "data" / "library.parquet"],
                          attributes={"library": recipe.data.library})
        physics = stages.run("physics", lambda: _physics(recipe, run_dir),
                             inputs={"physics": recipe_dict(recipe.physics), "seed": recipe.seed,
                                     "library_hash": data["library_hash"], "ranks": recipe.resources.physics_ranks},
                             outputs=[run_dir / "physics" / "physics.parquet"],
                             attributes={**recipe_dict(recipe.physics), "mpi_ranks": recipe.resources.physics_ranks})
        tasks = stages.run("tasks", lambda: _tasks(recipe, run_dir),
                           inputs={"train": recipe_dict(recipe.train), "seed": recipe.seed,
                                   "physics_hash": physics["physics_hash"], "activity": data["activity_molecules"]},
                           outputs=[run_dir / "tasks" / f"{t}.parquet" for t in TASKS])
        trained = {
            task: stages.run(f"train_{task}", lambda task=task: _train(recipe, run_dir, task),
                             inputs={"recipe": recipe_dict(recipe), "task_hash": tasks["task_hashes"][task]},
                             outputs=[run_dir / "training" / task / "surrogate" / "model.pt"],
                             attributes={"task": task, **recipe_dict(recipe.model), **recipe_dict(recipe.train),
                                         "ddp_processes": recipe.resources.train_procs})
            for task in TASKS
        }
        baseline = stages.run("baseline", lambda: _baseline(recipe, run_dir),
                              inputs={"baseline": recipe_dict(recipe.baseline), "seed": recipe.seed, **tasks},
                              outputs=[run_dir / "baseline" / f"{t}_predictions.parquet" for t in TASKS],
                              attributes=recipe_dict(recipe.baseline))
        screened = stages.run("screen", lambda: _screen(recipe, run_dir, physics),
                              inputs={"screen": recipe_dict(recipe.screen), "model": trained["physics"]["model_hash"],
                                      "physics_hash": physics["physics_hash"]},
                              outputs=[run_dir / "screen" / "screen.json"],
                              attributes=recipe_dict(recipe.screen))
        evaluated = stages.run("evaluate", lambda: _evaluate(recipe, run_dir, trained, baseline, screened),
                               inputs={"models": {t: trained[t]["model_hash"] for t in TASKS}, **baseline,
                                       "screen": screened},
                               outputs=[run_dir / "evaluation" / "results.json"])
        lineage = {"dataset_hash": physics["physics_hash"], "model_hash": trained["physics"]["model_hash"],
                   "activity_model_hash": trained["activity"]["model_hash"], "config_hash": config_hash(recipe),
                   "code_version": code, "recipe": recipe_name, "workload": WORKLOAD}
        tracked = stages.run("track", lambda: _track(recipe, recipe_name, run_dir, lineage, trained, evaluated),
                             inputs={**lineage, "tracking": recipe.tracking,
                                     "uri": os.environ.get("MLFLOW_TRACKING_URI", "")},
                             attributes={"tracking": recipe.tracking})
        results = json.loads(Path(evaluated["results"]).read_text())
        manifest = build_manifest(
            workload=WORKLOAD, recipe_name=recipe_name, recipe=recipe,
            dataset_hash=physics["physics_hash"], model_hash=trained["physics"]["model_hash"],
            seeds={"run": recipe.seed},
            world_size={"mpi_ranks": recipe.resources.physics_ranks, "ddp_processes": recipe.resources.train_procs},
            extra={"activity_model_hash": trained["activity"]["model_hash"], "sdf_sha256": physics["sdf_sha256"],
                   "task_hashes": tasks["task_hashes"], "invalid_molecules": data["invalid"],
                   "physics_status_counts": physics["status_counts"],
                   "tracking": relative_to_run(tracked, run_dir),
                   "results": relative_to_run(evaluated["results"], run_dir)},
        )
        write_manifest(run_dir, manifest)
        write_json(run_dir / "results.json", {**results, "hashes": {k: manifest[k] for k in
                                                                     ("dataset_hash", "model_hash", "config_hash")}})
        return manifest
