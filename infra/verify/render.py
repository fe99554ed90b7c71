"""Run a stack program under Pulumi mocks and write what it would create.

No cluster and no Pulumi CLI are needed: the program runs in-process against a recording
mock monitor. Every Kubernetes object becomes one YAML file under `objects/`, every Helm
release one file under `releases/` (chart, version, repository, namespace, values), and
`graph.json` keeps each resource's parent and dependencies so ordering can be inspected.
"""

from __future__ import annotations

import json
import os
import runpy
import sys
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pulumi import Output
from pulumi.runtime import mocks, rpc, settings
from pulumi.runtime.config import set_all_config
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

STACKS_DIR = Path(__file__).resolve().parents[2] / "stacks"
HELM_RELEASE_TYPES = ("kubernetes:helm.sh/v3:Release",)
# Resource types that create nothing on the cluster by themselves.
_NON_OBJECT_PREFIXES = ("pulumi:", "ai4s:", "random:")


@dataclass(kw_only=True, frozen=True, slots=True)
class Registration:
    """One resource the program registered, as the engine would have seen it."""

    type: str
    name: str
    urn: str
    parent: str
    custom: bool
    inputs: Mapping[str, Any]
    dependencies: tuple[str, ...]
    delete_before_replace: bool
    retain_on_delete: bool
    protect: bool = False
    provider: str = ""
    """Provider reference (`<urn>::<id>`), empty for the default provider."""


class RecordingMonitor(mocks.MockMonitor):
    """A mock monitor that also keeps what MockResourceArgs leaves out (deps, parent)."""

    def __init__(self, resource_mocks: mocks.Mocks | None = None) -> None:
        super().__init__(resource_mocks or _EchoMocks())
        self.registrations: list[Registration] = []

    def RegisterResource(self, request):  # noqa: N802 - gRPC method name
        response = super().RegisterResource(request)
        if request.type != "pulumi:pulumi:Stack":
            inputs = _sync_await(_deserialize(request.object))
            self.registrations.append(
                Registration(
                    type=request.type,
                    name=request.name,
                    urn=response.urn,
                    parent=request.parent,
                    custom=bool(request.custom),
                    inputs=inputs,
                    dependencies=tuple(request.dependencies),
                    delete_before_replace=bool(request.deleteBeforeReplace),
                    retain_on_delete=bool(request.retainOnDelete),
                    protect=bool(request.protect),
                    provider=request.provider,
                )
            )
        return response


async def _deserialize(struct) -> dict[str, Any]:
    return rpc.deserialize_properties(struct, keep_unknowns=False)


RANDOM_TYPE_PREFIX = "random:"
FAKE_RANDOM_PREFIX = "render-fake-"
"""Start of the value every random resource gets under the render mocks: recognisably not
a real secret, so a rendered file that shows one is a leak, not a credential."""


def fake_random_result(name: str) -> str:
    """The stand-in `result` of random resource `name` (deterministic: renders repeat)."""
    return f"{FAKE_RANDOM_PREFIX}{name}"


class _EchoMocks(mocks.Mocks):
    """Every resource's state is its inputs, and a random resource's `result` is a clearly
    fake value (the provider would compute it; left out, it would be null and every
    password rendered as missing). The result is a secret, as the random provider's
    schema makes it (the engine, absent here, would apply that). Invokes return nothing."""

    def new_resource(self, args: mocks.MockResourceArgs):
        state = dict(args.inputs)
        if args.typ.startswith(RANDOM_TYPE_PREFIX):
            state["result"] = rpc.wrap_rpc_secret(fake_random_result(args.name))
        return f"{args.name}-id", state

    def call(self, args: mocks.MockCallArgs):
        return {}


def install_mocks(
    *,
    config: Mapping[str, str] | None = None,
    project: str = "ai4s",
    stack: str = "test",
    resource_mocks: mocks.Mocks | None = None,
) -> RecordingMonitor:
    """Point the Pulumi runtime at a fresh recording mock monitor (also used by tests
    with `@pulumi.runtime.test`); `resource_mocks` replaces the render mocks."""
    settings.set_root_resource(None)  # a fresh root Stack for every run in this process
    monitor = RecordingMonitor(resource_mocks)
    set_all_config(dict(config or {}), [])
    mocks.set_mocks(monitor.mocks, project=project, stack=stack, preview=False, monitor=monitor)
    return monitor


def run_under_mocks(
    program: Callable[[], Any],
    *,
    config: Mapping[str, str] | None = None,
    project: str = "ai4s",
    stack: str = "test",
    resource_mocks: mocks.Mocks | None = None,
) -> RecordingMonitor:
    """Run `program` as a Pulumi program under mocks; return the recording monitor."""
    monitor = install_mocks(
        config=config, project=project, stack=stack, resource_mocks=resource_mocks
    )
    _sync_await(run_pulumi_func(program))
    return monitor


def stack_exports() -> dict[str, Any]:
    """What the program that just ran exported with `pulumi.export`, resolved, with every
    export that is or holds a Pulumi secret written as REDACTED.

    The exports live on the root Stack resource. Component outputs are not exports, and
    the engine's URN of a top-level component contains `pulumi:pulumi:Stack` too, so the
    monitor's RegisterResourceOutputs calls cannot tell the two apart."""
    root = settings.get_root_resource()
    exports = dict(getattr(root, "outputs", None) or {})

    async def resolve(value: Any) -> Any:
        output = Output.from_input(value)
        if await output.is_secret():
            return REDACTED
        return _plain(await output.future())

    return {key: _sync_await(resolve(value)) for key, value in exports.items()}


def load_stack_config(config_file: Path) -> dict[str, str]:
    """Pulumi.<stack>.yaml -> the flat map the engine hands a program (objects as JSON)."""
    raw = yaml.safe_load(config_file.read_text(encoding="utf-8")) or {}
    values = raw.get("config") or {}
    if not isinstance(values, Mapping):
        raise ValueError(f"{config_file}: 'config' must be a mapping")
    flat = {}
    for key, value in values.items():
        if ":" not in key:
            raise ValueError(
                f"{config_file}: config key {key!r} needs a namespace, e.g. ai4s:{key}"
            )
        if isinstance(value, Mapping) and "secure" in value:
            raise ValueError(f"{config_file}: {key} is a Pulumi secret; render needs a plain value")
        flat[key] = value if isinstance(value, str) else json.dumps(value)
    return flat


@dataclass(kw_only=True, frozen=True, slots=True)
class RenderResult:
    """What a render produced."""

    stack: str
    out_dir: Path
    objects: list[dict]
    releases: list[dict]
    registrations: list[Registration]
    outputs: dict[str, Any]
    """The stack's exports (`pulumi.export`), secrets redacted: outputs.json."""
    files: list[Path] = field(default_factory=list)


def run_stack(stack: str, config_file: Path | None = None) -> tuple[RecordingMonitor, Path]:
    """Run stacks/<stack>/__main__.py under mocks with its committed config (or another);
    its exports are then `stack_exports()`."""
    stack_dir = STACKS_DIR / stack
    main = stack_dir / "__main__.py"
    if not main.is_file():
        known = sorted(p.name for p in STACKS_DIR.iterdir() if (p / "__main__.py").is_file())
        raise ValueError(f"stack: unknown stack {stack!r}; known: {known}")
    config_file = config_file or stack_dir / f"Pulumi.{stack}.yaml"
    if not config_file.is_file():
        raise ValueError(f"config: file {config_file} does not exist")
    project = (yaml.safe_load((stack_dir / "Pulumi.yaml").read_text()) or {}).get("name", stack)
    sys.path.insert(0, str(stack_dir))  # a stack may import helpers next to its __main__
    try:
        monitor = run_under_mocks(
            lambda: runpy.run_path(str(main), run_name="__main__"),
            config=load_stack_config(config_file),
            project=project,
            stack=stack,
        )
    finally:
        sys.path.remove(str(stack_dir))
    return monitor, config_file


def kubernetes_objects(registrations: list[Registration]) -> list[dict]:
    """The Kubernetes objects among the registrations, as manifests."""
    objects = []
    for r in registrations:
        if r.type.startswith(_NON_OBJECT_PREFIXES) or r.type in HELM_RELEASE_TYPES:
            continue
        if not r.type.startswith("kubernetes:"):
            raise ValueError(
                f"render: resource {r.name!r} has type {r.type!r}, which render cannot write"
            )
        obj = {k: _plain(v) for k, v in r.inputs.items() if v is not None}
        if "apiVersion" not in obj or "kind" not in obj:
            raise ValueError(f"render: resource {r.name!r} ({r.type}) has no apiVersion/kind")
        obj.setdefault("metadata", {})
        obj["metadata"].setdefault("name", r.name)  # what Pulumi auto-naming would start from
        objects.append(obj)
    return objects


REDACTED = "<redacted>"


def _plain(value: Any) -> Any:
    """Inputs as they would reach the API server, except secrets: a Pulumi secret is
    written as a placeholder (keys of a secret map kept, so the object still validates)
    and never lands on disk. Protobuf carries every number as a double; integers get
    their type back."""
    if rpc.is_rpc_secret(value):
        inner = rpc.unwrap_rpc_secret(value)
        return {k: REDACTED for k in inner} if isinstance(inner, Mapping) else REDACTED
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def helm_releases(registrations: list[Registration]) -> list[dict]:
    """Each Helm release as chart, version, repository, namespace and values."""
    return [
        {
            "name": r.inputs.get("name", r.name),
            "namespace": r.inputs.get("namespace", "default"),
            "chart": _plain(r.inputs["chart"]),
            "version": r.inputs.get("version", ""),
            "repository": (r.inputs.get("repositoryOpts") or {}).get("repo", ""),
            "values": _plain(r.inputs.get("values") or {}),
        }
        for r in registrations
        if r.type in HELM_RELEASE_TYPES
    ]


def object_filename(obj: Mapping[str, Any]) -> str:
    meta = obj.get("metadata") or {}
    ns = meta.get("namespace") or "_cluster"
    return f"{obj['kind'].lower()}.{ns}.{meta['name']}.yaml"


def render_stack(stack: str, out_dir: Path, config_file: Path | None = None) -> RenderResult:
    """Render stacks/<stack> under mocks into out_dir (objects/, releases/, graph.json)."""
    monitor, _ = run_stack(stack, config_file)
    exports = stack_exports()
    regs = monitor.registrations
    # Resources register concurrently, so their order varies run to run; sort everything
    # written so that two renders of the same config are byte-identical.
    objects = sorted(kubernetes_objects(regs), key=object_filename)
    releases = sorted(helm_releases(regs), key=lambda r: (r["namespace"], r["name"]))
    out_dir = Path(out_dir)
    for sub in ("objects", "releases"):  # a previous render's leftovers would be validated too
        for stale in (out_dir / sub).glob("*.yaml"):
            stale.unlink()
    files: list[Path] = []
    seen: set[str] = set()
    for obj in objects:
        name = object_filename(obj)
        if name in seen:
            raise ValueError(f"render: two objects would be written to objects/{name}")
        seen.add(name)
        files.append(_write(out_dir / "objects" / name, yaml.safe_dump(obj, sort_keys=True)))
    for rel in releases:
        files.append(
            _write(
                out_dir / "releases" / f"{rel['namespace']}.{rel['name']}.yaml",
                yaml.safe_dump(rel, sort_keys=True),
            )
        )
    graph = [
        {"urn": r.urn, "type": r.type, "parent": r.parent, "dependencies": sorted(r.dependencies)}
        for r in sorted(regs, key=lambda r: r.urn)
    ]
    files.append(_write(out_dir / "graph.json", json.dumps(graph, indent=1, sort_keys=True)))
    files.append(
        _write(
            out_dir / "outputs.json",
            json.dumps(exports, indent=1, sort_keys=True, default=str),
        )
    )
    return RenderResult(
        stack=stack,
        out_dir=out_dir,
        objects=objects,
        releases=releases,
        registrations=regs,
        outputs=exports,
        files=files,
    )


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}", suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.replace(tmp, path)
    return path
