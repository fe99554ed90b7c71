"""`python -m conformance`: assess a profile of the catalogue and write the evidence files.

The run ends in one verdict over the requirements it ran. Exit status: 0 conformant (every
MUST passed, or was skipped as not applicable); 1 not conformant (a MUST failed); 3
incomplete (a MUST was not assessed: unknown, or skipped for missing inputs); 2 bad input.
"""

from __future__ import annotations

import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(add_completion=False, help=__doc__)

DEFAULT_OUT = Path("build") / "conformance"


def _split(values: list[str] | None) -> list[str]:
    return [v.strip() for item in values or [] for v in item.split(",") if v.strip()]


def _command_line() -> list[str]:
    program = Path(sys.argv[0]).name
    head = ["python", "-m", "conformance"] if program == "__main__.py" else [program]
    return [*head, *sys.argv[1:]]


@app.command()
def main(
    profile: Annotated[str | None, typer.Option(
        help="offline, cluster or gpu-cluster (catalogue.yaml) [default: cluster with a kubeconfig, "
             "else offline]")] = None,
    only: Annotated[list[str] | None, typer.Option(
        help="requirement ids or categories, comma-separated or repeated")] = None,
    layer: Annotated[list[str] | None, typer.Option(help="platform, kit or workload (repeatable)")] = None,
    out: Annotated[Path, typer.Option(help="folder for results.json, junit.xml, e2e.log")] = DEFAULT_OUT,
    kubeconfig: Annotated[str | None, typer.Option(
        help="kubeconfig of a live cluster [default: $KUBECONFIG]; without one, live checks skip")] = None,
    quick: Annotated[bool, typer.Option(help="smaller workload runs (same bitwise claims)")] = False,
    casestudies: Annotated[Path | None, typer.Option(help="case-study root to read results from")] = None,
    bench_results: Annotated[Path | None, typer.Option(
        help="bench results file [default: bench/results.json]")] = None,
) -> None:
    """Check the platform stacks and the workloads against the requirement catalogue."""
    from rich.console import Console
    from rich.table import Table

    from reference_workloads.core.manifest import code_version, package_versions

    from . import evidence, runner
    from .catalogue import CatalogueError, cncf_checklist, load
    from .checks.kube import SERVER_VERSION_CACHE
    from .registry import Context

    console = Console()
    started = datetime.now(UTC).isoformat(timespec="seconds")
    kubeconfig = kubeconfig or os.environ.get("KUBECONFIG") or None
    profile = profile or ("cluster" if kubeconfig else "offline")
    try:
        catalogue = load()
        selected = runner.select(catalogue, only=_split(only), layers=_split(layer), profile=profile)
    except (CatalogueError, ValueError) as err:
        console.print(f"[red]error:[/red] {err}", soft_wrap=True)
        raise typer.Exit(2) from None
    if not selected:
        console.print(f"[red]error:[/red] the selection matches no requirement of profile {profile!r} "
                      f"({', '.join(catalogue.profiles)}); choose another with --profile")
        raise typer.Exit(2)
    out = out.resolve()
    log = evidence.E2ELog(out / evidence.E2E_LOG)
    context_args = {"casestudies_root": casestudies.resolve()} if casestudies else {}
    if bench_results:
        context_args["bench_results"] = bench_results.resolve()
    context = Context(work_dir=out / "work", kubeconfig=kubeconfig, quick=quick, log=log,
                      **context_args)
    try:
        outcomes = runner.run(selected, context)
    finally:
        log.close()
    options = {"profile": profile, "only": _split(only), "layer": _split(layer), "quick": quick,
               "kubeconfig": bool(kubeconfig)}
    verdict, reasons = runner.verdict(outcomes)
    run = evidence.RunInfo(code_version=code_version(), profile=profile, verdict=verdict, reasons=reasons,
                           started=started, ended=datetime.now(UTC).isoformat(timespec="seconds"),
                           command=_command_line(), options=options,
                           kubernetes_server=context.cache.get(SERVER_VERSION_CACHE),
                           packages=package_versions())
    files = evidence.write(out, catalogue, outcomes, run, checklist=cncf_checklist())

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
    console.print("  " + ", ".join(p.name for p in files.values()))
    colour = {"conformant": "green", "not conformant": "red", "incomplete": "magenta"}[verdict.value]
    console.print(f"[{colour}]{profile} profile: {verdict.value}[/]"
                  + (f" ({len(outcomes)} of {len(catalogue.profile(profile).requirements)} requirements run)"
                     if _split(only) or _split(layer) else ""))
    for rid, why in reasons.items():
        console.print(f"  {rid}: {why}", soft_wrap=True)
    raise typer.Exit(runner.EXIT_CODES[verdict])


if __name__ == "__main__":
    app()
