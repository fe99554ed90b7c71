"""`python -m conformance`: run the catalogue's checks and write the evidence files.

Exit status: 0 unless a MUST requirement failed (1); bad input is one line and exit 2.
Skipped and unknown never fail the run: they are reported, and counted as not passed.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(add_completion=False, help=__doc__)

DEFAULT_OUT = Path("build") / "conformance"


def _split(values: list[str] | None) -> list[str]:
    return [v.strip() for item in values or [] for v in item.split(",") if v.strip()]


@app.command()
def main(
    only: Annotated[list[str] | None, typer.Option(
        help="requirement ids or categories, comma-separated or repeated")] = None,
    layer: Annotated[list[str] | None, typer.Option(help="platform, kit or workload (repeatable)")] = None,
    out: Annotated[Path, typer.Option(help="folder for results.json, junit.xml, e2e.log")] = DEFAULT_OUT,
    kubeconfig: Annotated[str | None, typer.Option(
        help="kubeconfig of a live cluster [default: $KUBECONFIG]; without one, live checks skip")] = None,
    quick: Annotated[bool, typer.Option(help="smaller workload runs (same bitwise claims)")] = False,
    casestudies: Annotated[Path | None, typer.Option(help="case-study root to read results from")] = None,
) -> None:
    """Check the platform stacks and the workloads against the requirement catalogue."""
    from rich.console import Console
    from rich.table import Table

    from reference_workloads.core.manifest import code_version

    from . import evidence, runner
    from .catalogue import CatalogueError, load
    from .registry import Context

    console = Console()
    try:
        catalogue = load()
        selected = runner.select(catalogue, only=_split(only), layers=_split(layer))
    except (CatalogueError, ValueError) as err:
        console.print(f"[red]error:[/red] {err}", soft_wrap=True)
        raise typer.Exit(2) from None
    if not selected:
        console.print("[red]error:[/red] the selection matches no requirement")
        raise typer.Exit(2)
    out = out.resolve()
    log = evidence.E2ELog(out / evidence.E2E_LOG)
    kubeconfig = kubeconfig or os.environ.get("KUBECONFIG") or None
    context_args = {"casestudies_root": casestudies.resolve()} if casestudies else {}
    context = Context(work_dir=out / "work", kubeconfig=kubeconfig, quick=quick, log=log,
                      **context_args)
    try:
        outcomes = runner.run(selected, context)
    finally:
        log.close()
    options = {"only": _split(only), "layer": _split(layer), "quick": quick,
               "kubeconfig": bool(kubeconfig)}
    files = evidence.write(out, catalogue, outcomes, code_version=code_version(), options=options)

    colours = {"passed": "green", "failed": "red", "skipped": "yellow", "unknown": "magenta"}
    table = Table(title=f"ai4s-kit conformance (catalogue {catalogue.version})")
    for column in ("id", "level", "layer", "status", "notes"):
        table.add_column(column, overflow="fold")
    for o in outcomes:
        status = o.result.status.value
        table.add_row(o.requirement.id, o.requirement.level, o.requirement.layer,
                      f"[{colours[status]}]{status}[/]", o.result.message)
    console.print(table)
    tally = runner.counts(outcomes)
    console.print(", ".join(f"{n} {s}" for s, n in tally.items()) + f"; evidence in {out}")
    console.print(f"  {files['results'].name}, {files['junit'].name}, {files['log'].name}")
    failures = runner.must_failures(outcomes)
    if failures:
        console.print(f"[red]MUST failed:[/red] {', '.join(o.requirement.id for o in failures)}")
        raise typer.Exit(1)


if __name__ == "__main__":
    app()
