"""Policy checks over everything a stack renders.

Pod specs are found wherever they are nested (Deployments, Jobs, the Job templates inside
ClusterTrainingRuntimes, ...), so a custom resource cannot smuggle a privileged pod past
the checks. Rules:

- `no-privileged`: no privileged container, no privilege escalation, all capabilities
  dropped and none added but NET_BIND_SERVICE (what Pod Security "restricted" allows);
- `no-host-access`: no hostPath volume, hostNetwork, hostPID or hostIPC;
- `non-root`: runAsNonRoot true (pod or container) and never runAsUser 0;
- `resources-set`: every container requests and limits cpu and memory;
- `image-pinned`: every image has a tag or digest, and never `latest` (also in Helm values);
- `image-digest`: a pod in a tenant namespace (a team's workload) names every image by
  digest (`@sha256:`), so a run can be reproduced from its manifest;
- `seccomp-profile`: every container runs under a RuntimeDefault or Localhost seccomp
  profile (its own or the pod's); never Unconfined;
- Helm values: every security context in them (any `*securityContext` key) obeys the
  same rules, so a chart's pods are held to them too (`runAsNonRoot: false` fails);
- `tenant-restricted`: a tenant namespace enforces Pod Security Standard "restricted";
- `tenant-isolated`: a tenant namespace has a ResourceQuota, a LimitRange and a
  default-deny NetworkPolicy for ingress and egress.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from infra.verify.findings import Finding, describe

TENANT_LABEL = "ai4s.dev/tenant"
PSS_ENFORCE = "pod-security.kubernetes.io/enforce"
RULES = (
    "no-privileged",
    "no-host-access",
    "non-root",
    "resources-set",
    "image-pinned",
    "image-digest",
    "seccomp-profile",
    "tenant-restricted",
    "tenant-isolated",
)


@dataclass(kw_only=True, frozen=True, slots=True)
class Violation(Finding):
    """One broken rule; `object` is `<kind> <namespace>/<name>` or `helm <release>`."""

    rule: str
    """One of RULES."""

    def __str__(self) -> str:
        return f"[{self.rule}] {Finding.__str__(self)}"


def pod_specs(node: Any, path: str = "") -> Iterator[tuple[str, Mapping[str, Any]]]:
    """(path, pod spec) for every mapping with a `containers` list, at any depth."""
    if isinstance(node, Mapping):
        if isinstance(node.get("containers"), list):
            yield path or "<root>", node
            return
        for key, value in node.items():
            yield from pod_specs(value, f"{path}.{key}" if path else str(key))
    elif isinstance(node, list):
        for i, item in enumerate(node):
            yield from pod_specs(item, f"{path}[{i}]")


def _image_problem(image: Any) -> str | None:
    if not isinstance(image, str) or not image:
        return "no image"
    if "@sha256:" in image:
        return None
    last = image.rsplit("/", 1)[-1]
    if ":" not in last:
        return f"image {image!r} has no tag (resolves to latest)"
    if last.rsplit(":", 1)[1] == "latest":
        return f"image {image!r} uses the latest tag"
    return None


ALLOWED_ADDED_CAPABILITIES = frozenset({"NET_BIND_SERVICE"})
"""The one capability Pod Security "restricted" lets a container add back."""
SECCOMP_CONFINED = ("RuntimeDefault", "Localhost")


def security_context_problems(sc: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(rule, message) for what a security context sets wrong (unset fields are judged
    by the caller, which knows the pod-level defaults)."""
    out = []
    if sc.get("privileged"):
        out.append(("no-privileged", "privileged is true"))
    if sc.get("allowPrivilegeEscalation") is True:
        out.append(("no-privileged", "allowPrivilegeEscalation is true"))
    added = set((sc.get("capabilities") or {}).get("add") or [])
    if added - ALLOWED_ADDED_CAPABILITIES:
        out.append(("no-privileged", f"adds capabilities {sorted(added - ALLOWED_ADDED_CAPABILITIES)}; "
                                     f"only {sorted(ALLOWED_ADDED_CAPABILITIES)} is allowed"))
    if sc.get("runAsNonRoot") is False:
        out.append(("non-root", "runAsNonRoot is false"))
    if sc.get("runAsUser") == 0:
        out.append(("non-root", "runAsUser is 0"))
    seccomp = (sc.get("seccompProfile") or {}).get("type")
    if seccomp is not None and seccomp not in SECCOMP_CONFINED:
        out.append(("seccomp-profile", f"seccompProfile.type is {seccomp!r}; expected one of {SECCOMP_CONFINED}"))
    return out


def check_pod_spec(obj_name: str, where: str, spec: Mapping[str, Any]) -> list[Violation]:
    out: list[Violation] = []

    def v(rule: str, msg: str) -> None:
        out.append(Violation(rule=rule, object=obj_name, message=f"{where}: {msg}"))

    for flag in ("hostNetwork", "hostPID", "hostIPC"):
        if spec.get(flag):
            v("no-host-access", f"{flag} is true")
    for vol in spec.get("volumes") or []:
        if "hostPath" in vol:
            v("no-host-access", f"volume {vol.get('name')!r} is a hostPath")
    pod_sc = spec.get("securityContext") or {}
    containers = [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]
    for c in containers:
        cname = c.get("name", "?")
        sc = c.get("securityContext") or {}
        for rule, msg in security_context_problems(sc):
            if rule != "non-root" or "runAsUser" not in msg:
                v(rule, f"container {cname!r}: {msg}")
        if sc.get("allowPrivilegeEscalation") is not False:
            v("no-privileged", f"container {cname!r} must set allowPrivilegeEscalation: false")
        if "ALL" not in ((sc.get("capabilities") or {}).get("drop") or []):
            v("no-privileged", f"container {cname!r} must drop ALL capabilities")
        if not sc.get("runAsNonRoot", pod_sc.get("runAsNonRoot", False)):
            v("non-root", f"container {cname!r} does not set runAsNonRoot: true")
        if sc.get("runAsUser", pod_sc.get("runAsUser")) == 0:
            v("non-root", f"container {cname!r} runs as uid 0")
        seccomp = (sc.get("seccompProfile") or pod_sc.get("seccompProfile") or {}).get("type")
        if seccomp not in SECCOMP_CONFINED:
            v("seccomp-profile", f"container {cname!r} has no RuntimeDefault or Localhost seccomp profile")
        res = c.get("resources") or {}
        for kind in ("requests", "limits"):
            missing = [r for r in ("cpu", "memory") if r not in (res.get(kind) or {})]
            if missing:
                v("resources-set", f"container {cname!r} has no {kind} for {', '.join(missing)}")
        problem = _image_problem(c.get("image"))
        if problem:
            v("image-pinned", f"container {cname!r}: {problem}")
    return out


def _tenant_namespaces(objects: list[Mapping[str, Any]]) -> set[str]:
    return {(o.get("metadata") or {}).get("name") for o in objects
            if o.get("kind") == "Namespace"
            and ((o.get("metadata") or {}).get("labels") or {}).get(TENANT_LABEL) == "true"}


def check_workload_digests(obj_name: str, where: str, spec: Mapping[str, Any]) -> list[Violation]:
    """`image-digest`: every container image of a team workload is pinned by digest."""
    return [
        Violation(rule="image-digest", object=obj_name,
                  message=f"{where}: container {c.get('name', '?')!r} image {c.get('image')!r} "
                          "is not pinned by digest (@sha256:...)")
        for c in [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]
        if "@sha256:" not in str(c.get("image", ""))
    ]


def check_tenants(objects: list[Mapping[str, Any]]) -> list[Violation]:
    out: list[Violation] = []
    by_ns: dict[str, list[Mapping[str, Any]]] = {}
    for obj in objects:
        ns = (obj.get("metadata") or {}).get("namespace")
        if ns:
            by_ns.setdefault(ns, []).append(obj)
    for obj in objects:
        meta = obj.get("metadata") or {}
        labels = meta.get("labels") or {}
        if obj.get("kind") != "Namespace" or labels.get(TENANT_LABEL) != "true":
            continue
        ns, name = meta["name"], describe(obj, api_version=False)
        if labels.get(PSS_ENFORCE) != "restricted":
            out.append(
                Violation(
                    rule="tenant-restricted",
                    object=name,
                    message=f"label {PSS_ENFORCE} must be 'restricted', got {labels.get(PSS_ENFORCE)!r}",
                )
            )
        kinds = {o.get("kind") for o in by_ns.get(ns, [])}
        for needed in ("ResourceQuota", "LimitRange"):
            if needed not in kinds:
                out.append(Violation(rule="tenant-isolated", object=name, message=f"no {needed}"))
        if not any(_is_default_deny(o) for o in by_ns.get(ns, [])):
            out.append(
                Violation(
                    rule="tenant-isolated",
                    object=name,
                    message="no default-deny NetworkPolicy for Ingress and Egress",
                )
            )
    return out


def _is_default_deny(obj: Mapping[str, Any]) -> bool:
    if obj.get("kind") != "NetworkPolicy":
        return False
    spec = obj.get("spec") or {}
    return (
        not (spec.get("podSelector") or {})
        and set(spec.get("policyTypes") or []) >= {"Ingress", "Egress"}
        and not spec.get("ingress")
        and not spec.get("egress")
    )


def check_helm_values(release: Mapping[str, Any]) -> list[Violation]:
    """Image tags set in Helm values must not be `latest` (chart defaults are pinned by
    the chart version), and every security context in them obeys the pod rules."""
    name = f"helm {release.get('namespace')}/{release.get('name')}"
    out = []

    def walk(node: Any, path: str) -> None:
        if isinstance(node, Mapping):
            for key, value in node.items():
                here = f"{path}.{key}" if path else str(key)
                if str(key).lower().endswith("securitycontext") and isinstance(value, Mapping):
                    out.extend(
                        Violation(rule=rule, object=name, message=f"values.{here}: {msg}")
                        for rule, msg in security_context_problems(value)
                    )
                if key in ("tag", "version") and isinstance(value, str) and "image" in path.lower():
                    if value in ("", "latest"):
                        out.append(
                            Violation(
                                rule="image-pinned",
                                object=name,
                                message=f"values.{here} is {value!r}",
                            )
                        )
                elif key == "image" and isinstance(value, str):
                    problem = _image_problem(value)
                    if problem:
                        out.append(
                            Violation(
                                rule="image-pinned",
                                object=name,
                                message=f"values.{here}: {problem}",
                            )
                        )
                else:
                    walk(value, here)
        elif isinstance(node, list):
            for i, item in enumerate(node):
                walk(item, f"{path}[{i}]")

    walk(release.get("values") or {}, "")
    return out


def check(
    objects: Iterable[Mapping[str, Any]], releases: Iterable[Mapping[str, Any]] = ()
) -> list[Violation]:
    """Every violation in a rendered stack (an empty list means all policies pass)."""
    objects = list(objects)
    out: list[Violation] = []
    tenants = _tenant_namespaces(objects)
    for obj in objects:
        in_tenant = (obj.get("metadata") or {}).get("namespace") in tenants
        for where, spec in pod_specs(obj):
            out.extend(check_pod_spec(describe(obj, api_version=False), where, spec))
            if in_tenant:
                out.extend(check_workload_digests(describe(obj, api_version=False), where, spec))
    out.extend(check_tenants(objects))
    for rel in releases:
        out.extend(check_helm_values(rel))
    return out
