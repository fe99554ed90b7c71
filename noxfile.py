"""Sessions: `nox` runs the tests; `nox -s casestudies` is the main job; `nox -l` lists all."""

from __future__ import annotations

import nox

nox.options.sessions = ["tests"]
nox.options.reuse_existing_virtualenvs = True
nox.options.error_on_missing_interpreters = True

PYTHON = "3.11"
CONSTRAINTS = "constraints.txt"


def install(session: nox.Session, extras: str = "dev") -> None:
    """Install the kit with every dependency pinned by constraints.txt (minutes, no backtracking)."""
    session.install("-c", CONSTRAINTS, "-e", f".[{extras}]")


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    """Run the test suite (real mpiexec, torchrun, MLflow, KServe; Pulumi under mocks)."""
    install(session)
    session.run("pytest", "-q", "-ra", "--durations=25", *session.posargs)  # slowest 25: keep CI time in view


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """Check style and common bugs with ruff."""
    session.install("-c", CONSTRAINTS, "ruff")
    session.run("ruff", "check", ".", *session.posargs)


@nox.session(python=PYTHON)
def casestudies(session: nox.Session) -> None:
    """The main job: run the local case studies on the embedded default and publish them."""
    install(session)
    session.run("ai4s", "casestudies", *session.posargs)


@nox.session(python=PYTHON, default=False)
def bench(session: nox.Session) -> None:
    """Measure the work against the catalogue's targets: bench/results.json and plots (~15 min here).

    The kernel's peer solver (Clawpack) builds from source: install gfortran first
    (`apt-get install gfortran`), or the bench records that peer as not measured."""
    install(session, extras="dev,bench")
    session.run("python", "-m", "tests.bench.run", *session.posargs)


@nox.session(python=PYTHON, default=False)
def conformance(session: nox.Session) -> None:
    """Check a platform and the workloads against the whitepaper's targets; write evidence."""
    install(session)
    session.run("python", "-m", "conformance", *session.posargs)


@nox.session(python=PYTHON, default=False)
def whitepaper(session: nox.Session) -> None:
    """Build the whitepaper (HTML and A4 PDF, at most 15 pages) from the case studies and catalogue."""
    install(session)
    session.run("python", "-m", "whitepaper.build", *session.posargs)
