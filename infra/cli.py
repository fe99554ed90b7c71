"""`ai4s render` / `ai4s platform validate`: offline checks of the platform stacks.

A thin layer over infra.verify.render, infra.verify.validate and infra.verify.policy; heavy imports happen
inside the commands. Errors become one line on stderr and exit code 1 (2 for bad input).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(
    help="Render and check the platform's Pulumi stacks without a cluster.",
    no_args_is_help=True,
    add_completion=False,
)


def _fail(message: str, code: int = 1) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


@app.command()
def render(
    stack: Annotated[str, typer.Option(help="stack folder under stacks/, e.g. local or gpu")],
    out: Annotated[Path, typer.Option(help="directory to write objects/, releases/, graph.json")],
    config: Annotated[
        Path | None, typer.Option(help="config file instead of Pulumi.<stack>.yaml")
    ] = None,
) -> None:
    """Run a stack under Pulumi mocks and write every object and Helm release it would create."""
    from infra.verify.render import render_stack

    try:
        result = render_stack(stack, out, config)
    except ValueError as err:
        _fail(str(err), 2)
    typer.echo(
        f"{stack}: {len(result.objects)} objects, {len(result.releases)} Helm releases "
        f"written to {out}"
    )


@app.command()
def validate(
    dir: Annotated[Path, typer.Argument(help="directory written by `render`")],
) -> None:
    """Validate rendered objects (schemas, references, release namespaces, chart contracts,
    the quota and tenancy properties) and run the policies."""
    import yaml

    from infra.verify import contracts, isolation, policy, quotas
    from infra.verify.validate import check_release_namespaces, load_objects, validate_objects

    try:
        objects = load_objects(dir)
    except ValueError as err:
        _fail(str(err), 2)
    releases = [
        yaml.safe_load(p.read_text(encoding="utf-8"))
        for p in sorted((dir / "releases").glob("*.yaml"))
    ]
    findings = [
        str(f)
        for f in validate_objects(objects)
        + check_release_namespaces(objects, releases)
        + contracts.check(releases, objects)
        + quotas.check(objects, releases)
        + isolation.check(isolation.teams_from_render(objects), objects, releases)
    ]
    violations = [str(v) for v in policy.check(objects, releases)]
    for line in findings + violations:
        typer.echo(line)
    typer.echo(
        f"{len(objects)} objects, {len(releases)} releases: "
        f"{len(findings)} validation errors, {len(violations)} policy violations"
    )
    if findings or violations:
        raise typer.Exit(1)


if __name__ == "__main__":
    app()
