"""Offline platform checks: the stacks render under Pulumi mocks, validate, pass policy
and pin every version. No cluster is needed; both stacks are rendered once per run and
shared with the security and scheduling checks."""

from __future__ import annotations

from collections import Counter
from typing import Any

from ..registry import Context, check, failed, verdict

STACKS = ("local", "gpu")
MAX_LISTED = 20  # evidence lists at most this many findings; the count is always complete


def renders(context: Context) -> dict[str, Any]:
    """stack -> infra.verify.render.RenderResult, rendered once per context."""
    def make() -> dict[str, Any]:
        from infra.verify.render import render_stack

        return {s: render_stack(s, context.work_dir / "render" / s) for s in STACKS}
    return context.cached("platform.renders", make)


def _findings(lines: list[str]) -> dict[str, Any]:
    return {"count": len(lines), "first": lines[:MAX_LISTED]}


@check("AI4S-PLAT-001")
def stacks_render(context: Context) -> Any:
    from infra import outputs

    try:
        rendered = renders(context)
    except Exception as err:  # noqa: BLE001 - a program that cannot render is the failure itself
        return failed(f"a stack does not render: {type(err).__name__}: {err}")
    # Output keys are evidence, not the verdict: a stack may legitimately export more.
    expected = set(outputs.COMPUTE_KEYS) | set(outputs.SERVICES_KEYS)
    evidence = {s: {"objects": len(r.objects), "helm_releases": len(r.releases),
                    "render_dir": str(r.out_dir),
                    "output_keys_not_recorded": sorted(expected - set(r.outputs))}
                for s, r in rendered.items()}
    empty = [s for s, r in rendered.items() if not r.objects]
    return verdict(not empty, f"{', '.join(STACKS)} render offline under Pulumi mocks",
                   f"stacks render no Kubernetes object: {empty}", stacks=evidence)


@check("AI4S-PLAT-002")
def objects_validate(context: Context) -> Any:
    from infra.verify.validate import validate_objects

    found = {s: [str(f) for f in validate_objects(r.objects)] for s, r in renders(context).items()}
    total = sum(len(v) for v in found.values())
    kinds = {s: dict(Counter(o["kind"] for o in r.objects)) for s, r in renders(context).items()}
    return verdict(total == 0, f"every object of {', '.join(STACKS)} validates (strict schemas, references)",
                   f"{total} validation findings",
                   findings={s: _findings(v) for s, v in found.items()}, kinds=kinds)


@check("AI4S-PLAT-003")
def pod_policies(context: Context) -> Any:
    from infra.verify import policy

    rules = [r for r in policy.RULES if not r.startswith(("tenant-", "image-"))]
    found = {s: [str(v) for v in policy.check(r.objects, r.releases) if v.rule in rules]
             for s, r in renders(context).items()}
    total = sum(len(v) for v in found.values())
    return verdict(total == 0, f"rules {', '.join(rules)} hold on every pod template",
                   f"{total} policy violations", rules=rules,
                   violations={s: _findings(v) for s, v in found.items()})


def _release_problems(release: dict[str, Any], pinned: dict[str, str]) -> list[str]:
    """A release must carry an exact version, and the version the versions table pins."""
    name, version = f"helm {release['namespace']}/{release['name']}", str(release.get("version") or "")
    if not version or version == "latest" or any(c in version for c in "*^~><"):
        return [f"{name}: chart {release['chart']} version {version!r} is not exact"]
    chart = str(release["chart"]).rsplit("/", 1)[-1]
    if chart in pinned and pinned[chart] != version:
        return [f"{name}: chart {chart} at {version}, but infra/versions.py pins {pinned[chart]}"]
    if chart not in pinned:
        return [f"{name}: chart {chart} is not in infra/versions.py"]
    return []


@check("AI4S-PLAT-004")
def versions_pinned(context: Context) -> Any:
    from infra.verify import policy
    from infra.versions import PINS

    pinned = {p.name: p.version for p in PINS if p.kind == "helm-chart"}
    found: dict[str, list[str]] = {}
    charts: dict[str, dict[str, str]] = {}
    for s, r in renders(context).items():
        lines = [str(v) for v in policy.check(r.objects, r.releases) if v.rule == "image-pinned"]
        for rel in r.releases:
            lines += _release_problems(rel, pinned)
        found[s] = lines
        charts[s] = {rel["name"]: f"{rel['chart']}@{rel['version']}" for rel in r.releases}
    table_latest = [p.key for p in PINS if p.version == "latest"]
    total = sum(len(v) for v in found.values()) + len(table_latest)
    return verdict(total == 0, "every chart and image is pinned to the versions table; no `latest`",
                   f"{total} unpinned or off-table versions",
                   problems={s: _findings(v) for s, v in found.items()}, charts=charts,
                   pins_in_table=len(PINS))
