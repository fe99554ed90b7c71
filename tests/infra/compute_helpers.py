"""Helpers shared by the compute-side infra tests (part 1)."""

from __future__ import annotations

import copy
from typing import Any

from infra.config.compute import ComputeConfig, GpuModel, Priority, Quota, Team
from infra.verify.render import Registration


def by_name(regs: list[Registration]) -> dict[str, Registration]:
    return {r.name: r for r in regs}


def urn_of(regs: list[Registration], name: str) -> str:
    return by_name(regs)[name].urn


def of_kind(regs: list[Registration], kind: str) -> list[Registration]:
    return [r for r in regs if r.inputs.get("kind") == kind]


def depends_transitively(regs: list[Registration], child: str, ancestor_urn: str) -> bool:
    """True if `child` (a name) waits for `ancestor_urn` through depends_on and parent
    edges, as the Pulumi engine orders create (and, reversed, destroy)."""
    deps = {r.urn: set(r.dependencies) | ({r.parent} if r.parent else set()) for r in regs}
    start = by_name(regs)[child].urn
    seen, todo = set(), [start]
    while todo:
        urn = todo.pop()
        for d in deps.get(urn, ()):
            if d == ancestor_urn:
                return True
            if d not in seen:
                seen.add(d)
                todo.append(d)
    return False


def team(name: str = "climate", cpu: str = "4", memory: str = "8Gi", **kw) -> Team:
    return Team(name=name, namespace=f"team-{name}", quota=Quota(cpu=cpu, memory=memory), **kw)


TEAMS = (team("climate"), team("drugs", cpu="2", memory="4Gi"))
PRIORITIES = (Priority(name="high", value=1000), Priority(name="low", value=10))
A100_MIG = GpuModel(model="a100-80gb", mig_profiles=("1g.10gb", "3g.40gb"))
H100 = GpuModel(model="h100-80gb")


def minimal_config(**overrides) -> ComputeConfig:
    return ComputeConfig(**{"teams": TEAMS, "priorities": PRIORITIES, **overrides})


DELETE = object()
"""Pass as the value to `mutated` to remove the key."""


def mutated(obj: dict, path: str, value: Any) -> dict:
    """A deep copy of `obj` with the dotted `path` (list indices as numbers) set or deleted."""
    obj = copy.deepcopy(obj)
    node = obj
    parts = path.split(".")
    for p in parts[:-1]:
        node = node[int(p)] if isinstance(node, list) else node[p]
    key = int(parts[-1]) if isinstance(node, list) else parts[-1]
    if value is DELETE:
        del node[key]
    else:
        node[key] = value
    return obj
