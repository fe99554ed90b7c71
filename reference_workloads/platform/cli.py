"""``ai4s workload render`` and ``ai4s submit``: a thin layer over render, pre-flight and submit."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(help="Render a recipe's stages as Kubernetes workload objects.", no_args_is_help=True)

WorkloadArgument = Annotated[str, typer.Argument(help="climate or drug-discovery")]
RecipeOption = Annotated[str, typer.Option("--recipe", "-r", help="Named recipe; see `ai4s recipes`.")]
SetOption = Annotated[list[str] | None, typer.Option("--set", "-s", help="Override a recipe field (repeatable).")]
TeamOption = Annotated[str | None, typer.Option(help="Team whose queue and namespace to use [default: the workload's].")]
ImageOption = Annotated[str | None, typer.Option(
    help="The kit's image as REPO@sha256:<digest> [default: the digest AI4S_IMAGE_DIGEST names].")]
PhysicsOption = Annotated[str, typer.Option(help="drug physics stage: mpi (TrainJob) or ray (RayJob).")]


def _fail(message: str, code: int = 2) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def _render(workload: str, recipe: str, overrides: list[str], team: str | None, stack: str, image: str | None,
            physics: str):
    """(stack name, target, stack objects, stages) for a command; a bad input exits 2 with one line."""
    from ..core.recipes import RecipeError
    from .render import default_image, render_workload
    from .stacks import load_stack
    from .target import DEFAULT_TEAMS, target_from_outputs

    try:
        name, outputs, stack_objects = load_stack(stack)
        target = target_from_outputs(outputs, stack=name, team=team or DEFAULT_TEAMS.get(workload, workload))
        stages = render_workload(workload, recipe, target, image=image or default_image(),
                                 overrides=overrides, physics=physics)  # type: ignore[arg-type]
    except (RecipeError, ValueError) as error:
        _fail(str(error))
    return name, target, stack_objects, stages


@app.command("render")
def render(
    workload: WorkloadArgument,
    stack: Annotated[str, typer.Option(help="stack under stacks/ (local, gpu) or a folder of `ai4s platform render`")],
    out: Annotated[Path, typer.Option(help="folder for the objects (NN-<stage>.yaml) and plan.json")],
    recipe: RecipeOption = "laptop",
    set_: SetOption = None,
    team: TeamOption = None,
    image: ImageOption = None,
    physics: PhysicsOption = "mpi",
) -> None:
    """Write each stage's object; exit 1 when one fails a schema, policy or workload rule."""
    from .render import write_objects
    from .stacks import findings

    name, _, stack_objects, stages = _render(workload, recipe, list(set_ or []), team, stack, image, physics)
    write_objects(stages, out)
    problems = findings([s.manifest for s in stages], stack_objects)
    for line in problems:
        typer.echo(line)
    typer.echo(f"{workload} {recipe} on {name}: {len(stages)} objects written to {out}, {len(problems)} findings")
    if problems:
        raise typer.Exit(1)


def submit(
    workload: WorkloadArgument,
    kubeconfig: Annotated[Path, typer.Option(help="kubeconfig of the cluster (its current context)")],
    recipe: RecipeOption = "laptop",
    set_: SetOption = None,
    team: TeamOption = None,
    stack: Annotated[str, typer.Option(help="the stack the cluster runs (name or `ai4s platform render` folder)")] = "local",
    image: ImageOption = None,
    physics: PhysicsOption = "mpi",
    out: Annotated[Path | None, typer.Option(help="where results, manifest and crate are collected "
                                                  "[default: runs/<workload>/<run id>-cluster]")] = None,
    poll: Annotated[float, typer.Option(help="seconds between status reads")] = 5.0,
) -> None:
    """Run a recipe on the platform: pre-flight, then each stage in order; Ctrl-C stops what it started."""
    import os

    from rich.console import Console
    from rich.live import Live
    from rich.table import Table

    from ..core.recipes import recipe_dict
    from .kube import KubeApi
    from .objects import RUN_LABEL
    from .preflight import preflight
    from .submit import S3Artifacts
    from .submit import submit as run_stages
    from .target import ARTIFACTS_BUCKET

    name, target, _, stages = _render(workload, recipe, list(set_ or []), team, stack, image, physics)
    problems = preflight(kubeconfig, stages)
    for finding in problems:
        typer.echo(str(finding), err=True)
    if problems:
        raise typer.Exit(1)
    book_recipe = _resolved_recipe(workload, recipe, list(set_ or []))
    rid = stages[0].manifest["metadata"]["labels"][RUN_LABEL]
    phases = {s.stage: "waiting" for s in stages}

    def table() -> Table:
        view = Table("stage", "object", "phase", title=f"{workload} {recipe} on {name} ({target.namespace})")
        for s in stages:
            view.add_row(s.stage, f"{s.manifest['kind']} {s.name}", phases[s.stage])
        return view

    console = Console()
    # the submitter reaches the data layer with its own AWS_* variables (or the stack's endpoint)
    artifacts = S3Artifacts(bucket=ARTIFACTS_BUCKET, prefix=target.team,
                            endpoint_url=os.environ.get("AWS_ENDPOINT_URL") or target.s3_endpoint)
    dest = out or Path("runs") / workload / f"{rid}-cluster"
    with Live(table(), console=console, refresh_per_second=4) as live:
        def on_phase(stage: str, now: str) -> None:
            phases[stage] = now
            live.update(table())

        result = run_stages(KubeApi(kubeconfig), stages, run_id=rid, artifacts=artifacts, dest=dest,
                            submission={"workload": workload, "recipe_name": recipe, "overrides": list(set_ or []),
                                        "recipe": recipe_dict(book_recipe), "stack": name, "team": target.team},
                            on_phase=on_phase, poll_s=poll)
    for pod, text in result.logs.items():
        console.rule(f"log of {pod}")
        console.print(text, markup=False, highlight=False)
    if result.outcome == "done":
        typer.echo(f"done: {len(result.collected)} files collected in {dest}")
        return
    if result.outcome == "cancelled":
        typer.echo(f"cancelled: deleted {', '.join(result.deleted) or 'nothing'}", err=True)
        raise typer.Exit(130)
    typer.echo(f"{result.outcome}: stage {result.failed_stage} did not succeed (logs above)", err=True)
    raise typer.Exit(1)


def _resolved_recipe(workload: str, recipe: str, overrides: list[str]):
    """The resolved recipe, for the submission record."""
    import importlib

    from ..registry import WORKLOADS

    return importlib.import_module(f"{WORKLOADS[workload]}.recipes").book.get(recipe, overrides)
