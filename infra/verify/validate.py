"""Validate rendered objects: built-ins against Kubernetes' own schemas, CRs via the registry.

Built-in kinds are checked against kubernetes-validate's strict schemas (the files behind
`kubernetes-validate --strict`) at KUBERNETES_VALIDATION_TARGET: unknown fields are errors. Any kind kubernetes-validate does not know must have a schema
in `infra.verify.crds`; a custom resource without one is an error, never a pass.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import jsonschema
import yaml
from kubernetes_validate.utils import all_versions, major_minor, schema_contents
from referencing import Registry, Resource

from infra.verify import crds
from infra.verify.findings import Finding, describe
from infra.versions import KUBERNETES_VALIDATION_TARGET


@functools.cache
def _builtin_validator(api_version: str, kind: str) -> jsonschema.Draft202012Validator | None:
    """kubernetes-validate's strict schema for a built-in kind, or None if it has none.

    Same files and resolution as `kubernetes_validate.validate(..., strict=True)`, but the
    validator (and its resolved `_definitions.json`) is built once per kind instead of once
    per object, which makes validating a whole stack several times faster.
    """
    target = major_minor(KUBERNETES_VALIDATION_TARGET)
    version = [v for v in all_versions() if major_minor(v) <= target][-1]
    schema_dir = f"kubernetes-json-schema/v{version}-local-strict"
    group = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    try:
        schema = schema_contents(
            f"{schema_dir}/{kind.lower()}-{group}.json", KUBERNETES_VALIDATION_TARGET
        )
    except FileNotFoundError:
        return None
    definitions = schema_contents(f"{schema_dir}/_definitions.json", KUBERNETES_VALIDATION_TARGET)
    registry = Resource.from_contents(definitions) @ (Resource.from_contents(schema) @ Registry())
    return jsonschema.Draft202012Validator(schema, registry=registry)


def _builtin_errors(obj: Mapping[str, Any]) -> list[str] | None:
    """Strict schema errors of a built-in object, or None if the kind is not built in."""
    validator = _builtin_validator(str(obj["apiVersion"]), str(obj["kind"]))
    if validator is None:
        return None
    return [
        f"{'.'.join(str(p) for p in e.absolute_path) or '<root>'}: {e.message}"
        for e in sorted(validator.iter_errors(dict(obj)), key=lambda e: list(map(str, e.path)))
    ]


def validate_object(obj: Mapping[str, Any]) -> list[Finding]:
    """Every problem with one manifest (an empty list means valid)."""
    name = describe(obj)
    if not obj.get("apiVersion") or not obj.get("kind"):
        return [Finding(object=name, message="apiVersion and kind are required")]
    builtin = _builtin_errors(obj)
    if builtin is not None:
        return [Finding(object=name, message=m) for m in builtin]
    try:
        schema = crds.lookup(obj["apiVersion"], obj["kind"])
    except ValueError as err:
        return [Finding(object=name, message=str(err))]
    found = [Finding(object=name, message=m) for m in schema.errors(obj)]
    for where, embedded in schema.embedded_objects(obj):
        for m in _builtin_errors(embedded) or []:
            found.append(Finding(object=name, message=f"{where} (as {embedded['kind']}): {m}"))
    return found


def _cluster_queue_rules(cq: Mapping[str, Any]) -> list[str]:
    """Kueue rules the CRD states as CEL or enforces in its webhook."""
    spec = cq.get("spec") or {}
    found, seen = [], set()
    for i, group in enumerate(spec.get("resourceGroups") or []):
        covered = group.get("coveredResources") or []
        for j, flavor in enumerate(group.get("flavors") or []):
            names = [r.get("name") for r in flavor.get("resources") or []]
            if names != covered:
                found.append(
                    f"spec.resourceGroups[{i}].flavors[{j}]: resources {names} must "
                    f"match coveredResources {covered} in order"
                )
            if flavor.get("name") in seen:
                found.append(
                    f"spec.resourceGroups[{i}].flavors[{j}]: flavor "
                    f"{flavor.get('name')!r} already used by another resource group"
                )
            seen.add(flavor.get("name"))
            if not spec.get("cohortName") and any(
                "borrowingLimit" in r or "lendingLimit" in r for r in flavor.get("resources") or []
            ):
                found.append(
                    f"spec.resourceGroups[{i}].flavors[{j}]: borrowingLimit and "
                    "lendingLimit need spec.cohortName"
                )
    return found


# Namespaces every cluster has; anything else a namespaced object uses must be rendered too.
SYSTEM_NAMESPACES = frozenset({"default", "kube-system", "kube-public", "kube-node-lease"})


def selector_matches(selector: Mapping[str, Any] | None, labels: Mapping[str, str]) -> bool:
    """Kubernetes label-selector semantics; a missing selector matches nothing (as Kueue's
    ClusterQueue.namespaceSelector), an empty one everything."""
    if selector is None:
        return False
    if any(labels.get(k) != v for k, v in (selector.get("matchLabels") or {}).items()):
        return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr.get("key"), expr.get("operator"), expr.get("values") or []
        present = key in labels
        if (
            (op == "In" and labels.get(key) not in values)
            or (op == "NotIn" and present and labels[key] in values)
            or (op == "Exists" and not present)
            or (op == "DoesNotExist" and present)
        ):
            return False
    return True


def _namespace_labels(objects: list[Mapping[str, Any]]) -> dict[str, dict[str, str]]:
    found = {ns: {} for ns in SYSTEM_NAMESPACES}
    for o in objects:
        if o.get("kind") == "Namespace":
            meta = o.get("metadata") or {}
            found[meta.get("name")] = dict(meta.get("labels") or {})
    # the API server sets this label on every namespace
    return {ns: {**labels, "kubernetes.io/metadata.name": ns} for ns, labels in found.items()}


def check_references(objects: list[Mapping[str, Any]]) -> list[Finding]:
    """Cross-object checks: what an object names must exist in the same render, and a
    LocalQueue's namespace must be one its ClusterQueue admits."""

    def names(kind: str) -> set[str]:
        return {(o.get("metadata") or {}).get("name") for o in objects if o.get("kind") == kind}

    ns_labels = _namespace_labels(objects)
    namespaces = set(ns_labels)
    flavors = names("ResourceFlavor")
    queues = {
        (o.get("metadata") or {}).get("name"): o for o in objects if o.get("kind") == "ClusterQueue"
    }
    found = []
    for obj in objects:
        kind, spec = obj.get("kind"), obj.get("spec") or {}
        ns = (obj.get("metadata") or {}).get("namespace")
        if ns and ns not in namespaces:
            found.append(
                Finding(
                    object=describe(obj), message=f"namespace {ns!r} is not created by this stack"
                )
            )
        if kind == "ClusterQueue" and obj.get("apiVersion", "").startswith("kueue.x-k8s.io/"):
            found += [Finding(object=describe(obj), message=m) for m in _cluster_queue_rules(obj)]
            for group in spec.get("resourceGroups") or []:
                for flavor in group.get("flavors") or []:
                    if flavor.get("name") not in flavors:
                        found.append(
                            Finding(
                                object=describe(obj),
                                message=f"ResourceFlavor {flavor.get('name')!r} does not exist",
                            )
                        )
        if kind == "LocalQueue":
            cq = queues.get(spec.get("clusterQueue"))
            if cq is None:
                found.append(
                    Finding(
                        object=describe(obj),
                        message=f"ClusterQueue {spec.get('clusterQueue')!r} does not exist",
                    )
                )
            elif ns in ns_labels and not selector_matches(
                (cq.get("spec") or {}).get("namespaceSelector"), ns_labels[ns]
            ):
                found.append(
                    Finding(
                        object=describe(obj),
                        message=(
                            f"ClusterQueue {spec.get('clusterQueue')!r} does not admit namespace {ns!r} "
                            "(spec.namespaceSelector); its workloads would never be admitted"
                        ),
                    )
                )
    return found


def check_release_namespaces(
    objects: Iterable[Mapping[str, Any]], releases: Iterable[Mapping[str, Any]]
) -> list[Finding]:
    """Every Helm release installs into a namespace the same render creates (releases are
    not allowed to create namespaces behind the stack's back)."""
    namespaces = set(_namespace_labels(list(objects)))
    return [
        Finding(
            object=f"helm {rel.get('namespace')}/{rel.get('name')}",
            message=f"namespace {rel.get('namespace')!r} is not created by this stack",
        )
        for rel in releases
        if rel.get("namespace") not in namespaces
    ]


def validate_objects(objects: Iterable[Mapping[str, Any]]) -> list[Finding]:
    """Schema findings of every object plus cross-object reference findings."""
    objects = list(objects)
    return [f for obj in objects for f in validate_object(obj)] + check_references(objects)


def load_objects(render_dir: Path) -> list[dict]:
    """The manifests a render wrote under `render_dir/objects`."""
    obj_dir = Path(render_dir) / "objects"
    if not obj_dir.is_dir():
        raise ValueError(f"dir: {render_dir} has no objects/ folder; run `render` first")
    objects = []
    for path in sorted(obj_dir.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if doc is not None:
                objects.append(doc)
    return objects


def validate_dir(render_dir: Path) -> list[Finding]:
    """Validate every object a render wrote."""
    return validate_objects(load_objects(render_dir))
