"""The reference architecture as the stacks declare it: components, their charts, their edges.

The diagram in the paper is drawn from this graph, not from a picture someone keeps in
sync by hand: the stack program runs under the render mocks (no cluster), and every
`ai4s:` ComponentResource it registers becomes a node, labelled with the Helm charts
registered beneath it; an edge joins two components when a resource of one depends on a
resource of the other.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

COMPONENT_PREFIX = "ai4s:"
HELM_TYPE = "kubernetes:helm.sh/v3:Release"


@dataclass(kw_only=True, frozen=True, slots=True)
class Component:
    """One ComponentResource of the stack."""

    name: str
    """Its Pulumi name (`compute-kueue`)."""
    kind: str
    """Class part of the type token (`Kueue`)."""
    group: str
    """Name of the top-level block it sits in (`compute` or `services`)."""
    charts: tuple[str, ...]
    """Helm charts released under it, short names."""


@dataclass(kw_only=True, frozen=True, slots=True)
class Graph:
    stack: str
    components: tuple[Component, ...]
    edges: tuple[tuple[str, str], ...]
    """(dependent, dependency) component names."""


def _chart_name(chart: object) -> str:
    return str(chart).rstrip("/").rsplit("/", 1)[-1]


@lru_cache(maxsize=4)
def component_graph(stack: str = "gpu") -> Graph:
    """Run stacks/<stack> under mocks and reduce its registrations to components (once per
    process: the committed stack does not change while a build runs)."""
    from infra.verify.render import run_stack

    monitor, _ = run_stack(stack)
    regs = monitor.registrations
    by_urn = {r.urn: r for r in regs}
    components = {r.urn: r for r in regs if r.type.startswith(COMPONENT_PREFIX)}
    # A component that only groups others (Compute) is drawn as the group, not as a box.
    grouping = {components[r.parent].urn for r in components.values() if r.parent in components}

    def owner(urn: str) -> str | None:
        while urn in by_urn:
            if urn in components and urn not in grouping:
                return urn
            urn = by_urn[urn].parent
        return None

    def group(urn: str) -> str:
        parent = components[urn].parent
        if parent in grouping:
            return components[parent].name
        return components[urn].name.split("-", 1)[0]

    charts: dict[str, list[str]] = {u: [] for u in components if u not in grouping}
    edges: set[tuple[str, str]] = set()
    for r in regs:
        mine = owner(r.urn)
        if mine is None:
            continue
        if r.type == HELM_TYPE:
            charts[mine].append(_chart_name(r.inputs.get("chart", r.name)))
        for dep in r.dependencies:
            theirs = owner(dep)
            if theirs is not None and theirs != mine:
                edges.add((components[mine].name, components[theirs].name))
    nodes = tuple(sorted(
        (Component(name=components[u].name, kind=components[u].type.rsplit(":", 1)[-1],
                   group=group(u), charts=tuple(sorted(c))) for u, c in charts.items()),
        key=lambda c: (c.group, c.name)))
    return Graph(stack=stack, components=nodes, edges=tuple(sorted(edges)))
