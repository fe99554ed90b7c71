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
    help="The kit's image as REPO@sha256:<digest> [default: this image's own record, if any].")]
PhysicsOption = Annotated[str, typer.Option(help="drug physics stage: mpi (TrainJob) or ray (RayJob).")]


def _fail(message: str, code: int = 2) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


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
    from ..core.recipes import RecipeError
    from .render import default_image, render_workload, write_objects
    from .stacks import findings, load_stack
    from .target import DEFAULT_TEAMS, target_from_outputs

    try:
        name, outputs, stack_objects = load_stack(stack)
        target = target_from_outputs(outputs, stack=name, team=team or DEFAULT_TEAMS.get(workload, workload))
        stages = render_workload(workload, recipe, target, image=image or default_image(),
                                 overrides=list(set_ or []), physics=physics)  # type: ignore[arg-type]
    except (RecipeError, ValueError) as error:
        _fail(str(error))
        return
    write_objects(stages, out)
    problems = findings([s.manifest for s in stages], stack_objects)
    for line in problems:
        typer.echo(line)
    typer.echo(f"{workload} {recipe} on {name}: {len(stages)} objects written to {out}, {len(problems)} findings")
    if problems:
        raise typer.Exit(1)
