"""The invariants every kit Containerfile keeps, checked on its text before a build.

A small reader, not a full parser: instructions with their continuation lines joined and
comments dropped, grouped into stages at each ``FROM``. Each check names what is wrong and
what is accepted, and the tests keep a broken copy for each.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

OCI_LABELS = ("org.opencontainers.image.revision", "org.opencontainers.image.source",
              "org.opencontainers.image.version", "org.opencontainers.image.created")
DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")
# what would put a compiler or build system into the image the kit ships
COMPILERS = re.compile(r"\b(gcc|g\+\+|cc|c\+\+|clang|gfortran|build-essential|make|cmake|ninja-build|"
                       r"python3-dev|libc6-dev)\b")
ROOT_USERS = {"root", "0", "0:0", "root:root"}


@dataclass(slots=True)
class Stage:
    base: str
    name: str | None
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def args(self, keyword: str) -> list[str]:
        return [rest for word, rest in self.instructions if word == keyword]


def instructions(text: str) -> list[tuple[str, str]]:
    """(KEYWORD, rest) for each instruction, continuation lines joined, comments dropped."""
    joined, current = [], ""
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            current += stripped[:-1] + " "
            continue
        joined.append(current + stripped)
        current = ""
    if current:
        joined.append(current)
    return [(word.upper(), rest.strip()) for word, _, rest in (i.partition(" ") for i in joined)]


def stages(text: str) -> tuple[dict[str, str], list[Stage]]:
    """The ARGs before the first FROM (name -> default) and the stages in order."""
    global_args: dict[str, str] = {}
    found: list[Stage] = []
    for word, rest in instructions(text):
        if word == "FROM":
            parts = rest.split()
            name = parts[2] if len(parts) >= 3 and parts[1].upper() == "AS" else None
            found.append(Stage(base=parts[0], name=name))
        elif not found:
            if word == "ARG":
                key, _, default = rest.partition("=")
                global_args[key] = default
        else:
            found[-1].instructions.append((word, rest))
    return global_args, found


def _resolve(base: str, global_args: dict[str, str]) -> str:
    match = re.fullmatch(r"\$\{?(\w+)\}?", base)
    return global_args.get(match.group(1), "") if match else base


def problems(text: str) -> list[str]:
    """Every broken invariant of a kit Containerfile, one line each; empty when it is fine."""
    global_args, found = stages(text)
    if not found:
        return ["no FROM: expected a build stage and a final stage"]
    found_problems = []
    names = {s.name for s in found if s.name}
    for stage in found:
        if stage.base in names:
            continue
        image = _resolve(stage.base, global_args)
        if not DIGEST.search(image):
            found_problems.append(f"FROM {stage.base} ({image or 'no default'}) is not pinned: "
                                  f"expected name@sha256:<64 hex>, directly or as an ARG default")
    final = found[-1]
    if len(found) < 2:
        found_problems.append("one stage only: expected a build stage and a final stage that copies from it")
    users = final.args("USER")
    if not users:
        found_problems.append("final stage has no USER: expected a numeric non-root user, e.g. USER 10001:10001")
    elif users[-1] in ROOT_USERS or not users[-1].split(":")[0].isdigit():
        found_problems.append(f"final stage runs as USER {users[-1]}: expected a numeric non-root uid")
    for command in final.args("RUN"):
        compiler = COMPILERS.search(command) if re.search(r"apt-get|apt |pip", command) else None
        if compiler:
            found_problems.append(f"final stage installs {compiler.group(1)}: compilers belong in the build stage")
    labels = " ".join(final.args("LABEL"))
    for label in OCI_LABELS:
        if f"{label}=" not in labels:
            found_problems.append(f"final stage lacks LABEL {label}: expected all of {', '.join(OCI_LABELS)}")
    return found_problems


def check(path: Path) -> None:
    """Raise ValueError with every broken invariant of the Containerfile at ``path``."""
    found = problems(path.read_text(encoding="utf-8"))
    if found:
        raise ValueError(f"{path.name}: " + "; ".join(found))
