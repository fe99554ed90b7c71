"""The ``ai4s`` command line: a thin layer over the library; errors are one line, exit 2."""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from .registry import WORKLOADS

app = typer.Typer(help="ai4s-kit: AI-for-Science reference workloads and platform.", no_args_is_help=True)
console = Console()

DEFAULT_RECIPE = "laptop"

RecipeOption = Annotated[str, typer.Option("--recipe", "-r", help="Named recipe; see `ai4s recipes`.")]
SetOption = Annotated[
    list[str] | None, typer.Option("--set", "-s", help="Override a recipe field: section.field=value (repeatable).")
]
OutOption = Annotated[Path | None, typer.Option(
    "--out", "-o", help="Run folder [default: runs/<workload>/<recipe>, plus the config hash when --set is given].")]
StorageOption = Annotated[str | None, typer.Option(
    "--storage", help="Where stages exchange artifacts: 'file' or s3://bucket/prefix [default: $AI4S_STORAGE or file].")]


def _workload(name: str) -> str:
    if name not in WORKLOADS:
        raise typer.BadParameter(f"workload={name!r} is invalid: expected one of {', '.join(WORKLOADS)}")
    return WORKLOADS[name]


def default_run_dir(workload: str, recipe: str, overrides: list[str]) -> Path:
    """``runs/<workload>/<recipe>``; overridden recipes get their own folder, named by config hash.

    Stage keys already keep results of different settings apart; a folder of its own also
    keeps their manifests, event logs and published files apart.
    """
    if not overrides:
        return Path("runs") / workload / recipe
    from .core.recipes import config_hash

    book = importlib.import_module(f"{_workload(workload)}.recipes").book
    return Path("runs") / workload / f"{recipe}-{config_hash(book.get(recipe, overrides))[:12]}"


def _fail(error: Exception) -> None:
    # soft_wrap: a one-line error stays one line however narrow the terminal
    console.print(f"[red]error:[/red] {error}", soft_wrap=True)
    raise typer.Exit(code=2)


@app.command()
def run(
    workload: Annotated[str, typer.Argument(help="climate or drug-discovery")],
    recipe: RecipeOption = DEFAULT_RECIPE,
    set_: SetOption = None,
    out: OutOption = None,
    storage: StorageOption = None,
    stage: Annotated[str | None, typer.Option(
        "--stage", help="Stop after this stage group (climate: simulate, train, evaluate; drug-discovery: "
                        "library, physics, train, evaluate): one cluster pod per group, each reusing "
                        "the previous one's results through --storage.")] = None,
) -> None:
    """Run a reference workload end to end (completed stages, in the run folder or the bucket, are skipped)."""
    from .core.launch import LaunchError
    from .core.platform_env import PlatformEnvError, storage_setting
    from .core.recipes import RecipeError
    from .core.runs import StageGroupError
    from .core.storage import StorageError
    from .core.tracking import TrackingError

    package = _workload(workload)
    pipeline = importlib.import_module(f"{package}.pipeline")
    try:
        out_dir = out or default_run_dir(workload, recipe, list(set_ or []))
        with storage_setting(storage):
            manifest = pipeline.run(recipe, list(set_ or []), out_dir, until=stage)
    except (RecipeError, LaunchError, TrackingError, FileNotFoundError, PlatformEnvError, StorageError,
            StageGroupError) as error:
        _fail(error)
        return
    if "stopped_after" in manifest:
        console.print(f"[green]stopped after {manifest['stopped_after']}[/green]: {out_dir}")
        console.print_json(json.dumps({k: v for k, v in manifest.items() if k.endswith("_hash")}))
        return
    console.print(f"[green]done[/green]: {out_dir / 'manifest.json'}")
    console.print_json(json.dumps({k: manifest[k] for k in ("dataset_hash", "model_hash", "config_hash")}))


@app.command()
def recipes(workload: Annotated[str | None, typer.Argument(help="Only this workload.")] = None) -> None:
    """List the named recipes of each workload and what hardware they are sized for."""
    table = Table("workload", "recipe", "description")
    for name in [workload] if workload else list(WORKLOADS):
        try:
            book = importlib.import_module(f"{_workload(name)}.recipes").book
        except ModuleNotFoundError:
            continue
        for recipe_name, text in book.describe().items():
            table.add_row(name, recipe_name, text)
    console.print(table)


@app.command()
def validate(
    workload: Annotated[str, typer.Argument(help="climate or drug-discovery")],
    recipe: RecipeOption = DEFAULT_RECIPE,
    set_: SetOption = None,
) -> None:
    """Check a recipe and its overrides without running anything; print the resolved recipe."""
    from .core.recipes import RecipeError, config_hash, recipe_dict

    book = importlib.import_module(f"{_workload(workload)}.recipes").book
    try:
        resolved = book.get(recipe, list(set_ or []))
    except RecipeError as error:
        _fail(error)
        return
    console.print_json(json.dumps({"config_hash": config_hash(resolved), "recipe": recipe_dict(resolved)}))


@app.command()
def casestudies(
    only: Annotated[list[str] | None, typer.Option("--only", help="Only these case studies.")] = None,
    recipe: Annotated[str | None, typer.Option("--recipe", "-r", help="Recipe for every case study.")] = None,
    runs: Annotated[Path, typer.Option(help="Where the runs go.")] = Path("runs"),
    dest: Annotated[Path, typer.Option(help="Where the case studies are written.")] = Path("casestudies"),
) -> None:
    """Regenerate the local case studies: run each workload, then write results with provenance."""
    from .core.launch import LaunchError
    from .core.recipes import RecipeError
    from .core.tracking import TrackingError
    from .provenance.casestudies import CASE_STUDIES, regenerate

    names = list(only or CASE_STUDIES)
    try:
        written = regenerate(names, runs_root=runs, dest_root=dest, recipe=recipe)
    except (RecipeError, LaunchError, TrackingError, KeyError) as error:
        _fail(error)
        return
    for path in written:
        console.print(f"[green]case study written[/green]: {path}")


CrateArgument = Annotated[Path, typer.Argument(help="A published results folder or its ro-crate-metadata.json.")]


@app.command()
def verify(crate: CrateArgument) -> None:
    """Recompute every checksum and the headline of a published results folder; exit 1 on any difference."""
    from .provenance.verify import verify as verify_crate

    try:
        problems = verify_crate(crate)
    except FileNotFoundError as error:
        _fail(error)
        return
    for problem in problems:
        console.print(f"[red]problem:[/red] {problem}", markup=True, highlight=False, soft_wrap=True)
    if problems:
        raise typer.Exit(code=1)
    console.print(f"[green]verified[/green]: {crate}")


@app.command()
def rerun(
    crate: CrateArgument,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Fresh run folder [default: runs/rerun-<identifier>].")] = None,
) -> None:
    """Re-execute a published case study from its crate alone and compare the dataset and model hashes."""
    from .core.launch import LaunchError
    from .core.recipes import RecipeError
    from .provenance.rerun import rerun as rerun_crate
    from .provenance.verify import results_folder

    try:
        folder = results_folder(crate)
        identifier = json.loads((folder / "summary.json").read_text()).get("identifier", "crate")
        out_dir = out or Path("runs") / f"rerun-{identifier.rsplit(':', 1)[-1][:12]}"
        report = rerun_crate(folder, out_dir)
    except (RecipeError, LaunchError, FileNotFoundError, KeyError) as error:
        _fail(error)
        return
    for warning in report.warnings:
        console.print(f"[yellow]warning:[/yellow] {warning}", soft_wrap=True)
    if report.bitwise:
        console.print(f"[green]bitwise agreement[/green] with the crate ({', '.join(report.recorded)}): {out_dir}")
        return
    for difference in report.differences:
        console.print(f"[red]differs:[/red] {difference}", soft_wrap=True)
    raise typer.Exit(code=1)


def _mount_platform() -> None:
    """Mount the platform commands (render, validate) when the infra package is installed."""
    try:
        platform = importlib.import_module("infra.cli").app
    except ModuleNotFoundError:
        return
    app.add_typer(platform, name="platform", help="Render and check the Pulumi platform stacks offline.")


_mount_platform()


def _mount_workload_platform() -> None:
    """``ai4s workload render`` and ``ai4s submit`` (reference_workloads.platform)."""
    from .platform import cli as platform_cli

    app.add_typer(platform_cli.app, name="workload", help="Render a recipe's stages as Kubernetes workload objects.")
    if hasattr(platform_cli, "submit"):
        app.command("submit")(platform_cli.submit)


_mount_workload_platform()
