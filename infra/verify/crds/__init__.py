"""Registry of custom-resource schemas, keyed by (apiVersion, kind).

Each `schemas/<group>_<version>_<kind>.yaml` file holds one JSON Schema (draft 2020-12)
written from the upstream API reference of the pinned release, with:

- `apiVersion`, `kind`: the key;
- `scope`: `Cluster` (no metadata.namespace allowed) or `Namespaced` (required);
- `schema`: the schema of the whole object (`$defs` beside it are shared definitions); `additionalProperties: false` wherever a
  field set is modelled, so an unknown field is an error rather than a silent pass;
- `embedded` (optional): paths to templates that are themselves built-in objects,
  validated by kubernetes-validate as the given apiVersion/kind.

To add a CRD (part 2 and later), drop a file in `schemas/`; nothing else changes.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import yaml

SCHEMA_DIR = Path(__file__).with_name("schemas")
SCOPES = ("Cluster", "Namespaced")


@dataclass(kw_only=True, frozen=True, slots=True)
class Embedded:
    """A template inside a custom resource that is validated as a built-in object."""

    path: str
    """Dotted path; `[*]` expands a list, e.g. `spec.template.spec.replicatedJobs[*].template`."""
    api_version: str
    """apiVersion to validate it as."""
    kind: str
    """kind to validate it as."""


@dataclass(kw_only=True, frozen=True, slots=True)
class CrdSchema:
    """The schema of one custom resource kind at one API version."""

    api_version: str
    kind: str
    scope: str
    schema: Mapping[str, Any]
    embedded: tuple[Embedded, ...]
    source: Path

    def __post_init__(self) -> None:
        if self.scope not in SCOPES:
            raise ValueError(f"{self.source}: scope must be one of {SCOPES}, got {self.scope!r}")
        jsonschema.Draft202012Validator.check_schema(self.schema)

    def errors(self, obj: Mapping[str, Any]) -> list[str]:
        """Human-readable violations; empty when the object is valid."""
        validator = jsonschema.Draft202012Validator(self.schema)
        found = [
            f"{'.'.join(str(p) for p in e.absolute_path) or '<root>'}: {e.message}"
            for e in sorted(
                validator.iter_errors(obj), key=lambda e: list(map(str, e.absolute_path))
            )
        ]
        namespace = (obj.get("metadata") or {}).get("namespace")
        if self.scope == "Cluster" and namespace:
            found.append(f"metadata.namespace: {self.kind} is cluster-scoped, got {namespace!r}")
        if self.scope == "Namespaced" and not namespace:
            found.append(f"metadata.namespace: {self.kind} is namespaced; a namespace is required")
        return found

    def embedded_objects(self, obj: Mapping[str, Any]) -> Iterator[tuple[str, dict]]:
        """(path, built-in object) for each embedded template present in `obj`."""
        for emb in self.embedded:
            for where, template in _walk(obj, emb.path.split("."), ""):
                if isinstance(template, Mapping):
                    name = (obj.get("metadata") or {}).get("name", "embedded")
                    meta = dict(template.get("metadata") or {})
                    meta.setdefault("name", name)
                    yield (
                        where,
                        {
                            "apiVersion": emb.api_version,
                            "kind": emb.kind,
                            "metadata": meta,
                            "spec": template.get("spec") or {},
                        },
                    )


def _walk(node: Any, parts: list[str], where: str) -> Iterator[tuple[str, Any]]:
    if not parts:
        yield where.lstrip("."), node
        return
    head, rest = parts[0], parts[1:]
    many = head.endswith("[*]")
    key = head.removesuffix("[*]")
    if not isinstance(node, Mapping) or key not in node:
        return
    child = node[key]
    if many:
        for i, item in enumerate(child if isinstance(child, list) else []):
            yield from _walk(item, rest, f"{where}.{key}[{i}]")
    else:
        yield from _walk(child, rest, f"{where}.{key}")


def load(path: Path) -> CrdSchema:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    for field in ("apiVersion", "kind", "scope", "schema"):
        if field not in raw:
            raise ValueError(f"{path}: missing {field!r}")
    embedded = tuple(
        Embedded(path=e["path"], api_version=e["as"]["apiVersion"], kind=e["as"]["kind"])
        for e in raw.get("embedded") or ()
    )
    schema = dict(raw["schema"])
    if "$defs" in raw:  # shared definitions live beside the schema, referenced as #/$defs/...
        schema["$defs"] = raw["$defs"]
    return CrdSchema(
        api_version=raw["apiVersion"],
        kind=raw["kind"],
        scope=raw["scope"],
        schema=schema,
        embedded=embedded,
        source=path,
    )


@functools.cache
def registry(schema_dir: Path = SCHEMA_DIR) -> Mapping[tuple[str, str], CrdSchema]:
    """Every schema in `schema_dir`, keyed by (apiVersion, kind); duplicates are an error."""
    found: dict[tuple[str, str], CrdSchema] = {}
    for path in sorted(schema_dir.glob("*.yaml")):
        crd = load(path)
        key = (crd.api_version, crd.kind)
        if key in found:
            raise ValueError(f"{path}: {key} already registered by {found[key].source.name}")
        found[key] = crd
    return found


def lookup(api_version: str, kind: str) -> CrdSchema:
    """The schema for (apiVersion, kind); ValueError if none is registered."""
    try:
        return registry()[(api_version, kind)]
    except KeyError:
        raise ValueError(
            f"no schema registered for {api_version} {kind}; add one under {SCHEMA_DIR}"
        ) from None
