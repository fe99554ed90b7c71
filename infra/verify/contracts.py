"""Chart contracts: what each pinned Helm chart expects of the values a stack passes.

No helm binary and no chart repository are reachable offline, so a chart's templates
cannot run here. What they read is written down instead, per chart and version, in
`infra/verify/charts/<chart>.yaml` (from the chart's source at the pinned tag): the keys
that set images, the keys that become pod and container security contexts, the probes
and the port each expects something to serve, and where the chart takes an application
config from. `check_release` holds a rendered release to its chart's contract, so that a
class of mistakes is caught, e.g. a collector config without the health_check extension
the chart's probes call.

A contract may record the chart's own `defaults` (from its values.yaml) for the keys it
reads; the stack's values are merged over them as Helm does, so a chart that already ships
a restricted securityContext needs nothing from the stack, and a stack value that undoes
it is caught. Pods are held to the strictest Pod Security level their release namespace
enforces or warns at (restricted where the namespace is not among the rendered objects): a
restricted pod where that is restricted, no privilege and only baseline capabilities where
it is baseline, nothing where it is privileged.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from infra.verify.findings import Finding

CHARTS_DIR = Path(__file__).with_name("charts")
_CONTRACT_KEYS = {"chart", "version", "images", "pods", "probes", "ports",
                  "collectorConfig", "managerConfig", "defaults"}
_PSS_ENFORCE = "pod-security.kubernetes.io/enforce"
_PSS_WARN = "pod-security.kubernetes.io/warn"
# Capabilities Pod Security "baseline" lets a container add (the Kubernetes docs' list).
_BASELINE_CAPABILITIES = {"AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD",
                          "NET_BIND_SERVICE", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT"}
_SERVED_BY = ("app", "collector-health-check", "kueue-health-probe", "kueue-metrics", "kueue-webhook",
              "values-address")


@dataclass(kw_only=True, frozen=True, slots=True)
class Probe:
    """A probe the chart's pod template declares."""

    name: str
    """Values key of the probe (or the container port's name), e.g. `livenessProbe`."""
    port: str
    """Dotted values path the chart reads the port from; empty where the template fixes it."""
    default_port: int
    """Port when the values leave it unset (the chart's values.yaml)."""
    served_by: str
    """What must listen there: `app` (the chart's own server), `collector-health-check`, a
    Kueue Configuration field, or `values-address`: the address the chart writes into the
    application's config from the values path `address`."""
    address: str = ""
    """Values path of the address (`:8081` or a bare port) the application listens on."""
    address_default: str = ""
    """The address the template writes when that value is unset."""


@dataclass(kw_only=True, frozen=True, slots=True)
class Contract:
    """One chart version's expectations of its values."""

    chart: str
    version: str
    images: tuple[Mapping[str, str], ...]
    """Dotted values paths of `repository`, `tag` and (optional) `digest` per image (each a
    path or a list of paths the template falls back along), and
    (optional) `appVersion`: the tag the template renders when the values leave it empty;
    `inline: true` where one key holds the whole `repository:tag` reference; `name` where
    the chart joins `repository/name:tag` from three keys; `registry` where it prefixes one.
    An image key the stack sets that no entry lists is a finding."""
    pods: tuple[Mapping[str, Any], ...]
    """Per pod template of the chart: `pod` (values path of its securityContext; null where the
    chart renders none), `containers`
    (values paths of its containers' securityContexts) and, for each, `enabledBy` (values
    that must be true for the chart to render the securityContext at all); pods and images
    may carry `renderedWhen`: values that must be true for the chart to render the pod at
    all (an optional component the stack may switch off)."""
    probes: tuple[Probe, ...]
    """Probes and fixed container ports, each with what must listen on it."""
    collector_config: Mapping[str, str] | None
    """Where the chart takes an OpenTelemetry Collector config from (existing ConfigMap)."""
    manager_config: str | None = None
    """Dotted values path of a controller Configuration (YAML text) the chart mounts."""
    defaults: Mapping[str, Any] | None = None
    """The chart's values.yaml for the keys this contract reads; stack values merge over it."""


def _contract(raw: Mapping[str, Any], source: Path) -> Contract:
    unknown = set(raw) - _CONTRACT_KEYS
    if unknown:
        raise ValueError(f"{source.name}: unknown keys {sorted(unknown)}; accepted: {sorted(_CONTRACT_KEYS)}")
    probes = []
    for p in [*(raw.get("probes") or []), *(raw.get("ports") or [])]:
        if p.get("servedBy") not in _SERVED_BY:
            raise ValueError(f"{source.name}: probes[].servedBy {p.get('servedBy')!r}; expected one of {_SERVED_BY}")
        if p["servedBy"] == "values-address" and not p.get("address"):
            raise ValueError(f"{source.name}: probes[{p['name']}].address is required with servedBy values-address")
        probes.append(Probe(name=p["name"], port=p.get("port", ""), default_port=int(p["defaultPort"]),
                            served_by=p["servedBy"], address=p.get("address", ""),
                            address_default=str(p.get("addressDefault", ""))))
    return Contract(
        chart=raw["chart"], version=str(raw["version"]),
        images=tuple(raw.get("images") or ()),
        pods=tuple(raw.get("pods") or ()),
        probes=tuple(probes), collector_config=raw.get("collectorConfig"),
        manager_config=raw.get("managerConfig"), defaults=raw.get("defaults") or {},
    )


@cache
def contracts() -> dict[tuple[str, str], Contract]:
    """(chart, version) -> contract, for every file in CHARTS_DIR."""
    found = {}
    for path in sorted(CHARTS_DIR.glob("*.yaml")):
        c = _contract(yaml.safe_load(path.read_text(encoding="utf-8")), path)
        found[(c.chart, c.version)] = c
    return found


_MISSING = object()


def lookup(values: Any, dotted: str) -> Any:
    """The value at `a.b.c` in nested mappings, or _MISSING."""
    node = values
    for part in dotted.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return _MISSING
        node = node[part]
    return node


def first_set(values: Any, paths: str | list[str]) -> tuple[Any, str]:
    """The first of `paths` that is set and not empty (a template's `or a b` or `b | default
    a`), with its path; a single path is its own list."""
    paths = [paths] if isinstance(paths, str) else list(paths)
    for path in paths:
        value = lookup(values, path) if path else _MISSING
        if value not in (_MISSING, None, "", {}):
            return value, path
    return _MISSING, paths[0] if paths else ""


_IMAGE_PARTS = {"repository", "tag", "digest", "sha", "name", "registry"}


def _leaves(values: Any, prefix: str = "") -> Iterable[tuple[str, Any]]:
    if isinstance(values, Mapping):
        for key, value in values.items():
            yield from _leaves(value, f"{prefix}{key}.")
    elif prefix:
        yield prefix[:-1], values


def _sets_an_image(path: str, value: Any) -> bool:
    """Whether a values path looks like part of an image reference (`image.tag`,
    `mcImage.repository`, `rbacProxyImage`, `image_tag_version`), pull settings aside."""
    *parents, leaf = path.split(".")
    if "pull" in leaf.lower():
        return False
    if leaf in _IMAGE_PARTS and parents and "image" in parents[-1].lower():
        return True
    return "image" in leaf.lower() and isinstance(value, str)


def undeclared_image_keys(contract: Contract, values: Mapping[str, Any]) -> list[str]:
    """Image keys the stack sets that the contract does not list: the chart reads the image
    from elsewhere, so the stack's pin has no effect and the chart's default is pulled."""
    declared = set()
    for image in contract.images:
        for part in ("repository", "tag", "digest", "name", "registry"):
            paths = image.get(part) or []
            declared |= {paths} if isinstance(paths, str) else set(paths)
    return [path for path, value in _leaves(values) if _sets_an_image(path, value) and path not in declared]


def _port_of(endpoint: Any) -> int | None:
    if not isinstance(endpoint, str) or ":" not in endpoint:
        return None
    tail = endpoint.rsplit(":", 1)[1]
    return int(tail) if tail.isdigit() else None


def collector_health_problems(config: Mapping[str, Any], port: int) -> list[str]:
    """Why a collector config would not answer the chart's probes on `port`."""
    problems = []
    extensions = config.get("extensions") or {}
    enabled = (config.get("service") or {}).get("extensions") or []
    if "health_check" not in extensions:
        problems.append("extensions.health_check: not defined")
    if "health_check" not in enabled:
        problems.append("service.extensions: health_check is not enabled")
    endpoint = (extensions.get("health_check") or {}).get("endpoint")
    # The extension's own default binds localhost:13133, which the kubelet cannot reach.
    if "health_check" in extensions and _port_of(endpoint) != port:
        problems.append(f"extensions.health_check.endpoint: {endpoint!r} does not serve port {port}")
    if isinstance(endpoint, str) and endpoint.split(":")[0] in ("localhost", "127.0.0.1"):
        problems.append(f"extensions.health_check.endpoint: {endpoint!r} is not reachable by the kubelet")
    return problems


def _context(values: Mapping[str, Any], entry: Mapping[str, Any]) -> tuple[Mapping[str, Any], list[str]]:
    """The security context an entry's values path renders, and why it would not render."""
    off = [f"values.{gate} must be true (else the chart renders no securityContext)"
           for gate in entry.get("enabledBy") or [] if lookup(values, gate) is not True]
    ctx, _ = first_set(values, entry["path"])
    return ({} if off or not isinstance(ctx, Mapping) else ctx), off


def merged_values(defaults: Mapping[str, Any], values: Mapping[str, Any]) -> dict[str, Any]:
    """`values` over `defaults` as Helm merges them: mappings deep, a null deletes a key."""
    merged = dict(defaults)
    for key, value in values.items():
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = merged_values(merged[key], value)
        else:
            merged[key] = value
    return merged


def baseline_pod_problems(values: Mapping[str, Any], pod: Mapping[str, Any]) -> list[str]:
    """Why a chart pod would be refused by Pod Security "baseline": a privileged container
    or a capability added beyond the baseline set."""
    problems = []
    for c in pod.get("containers") or []:
        ctx, _ = _context(values, c)
        where = f"values.{first_set(values, c['path'])[1]}"
        if ctx.get("privileged") is True:
            problems.append(f"{where}.privileged must not be true")
        extra = set((ctx.get("capabilities") or {}).get("add") or []) - _BASELINE_CAPABILITIES
        if extra:
            problems.append(f"{where}.capabilities.add {sorted(extra)} is not allowed by baseline")
    return problems


def enforced_level(objects: Iterable[Mapping[str, Any]], namespace: Any) -> str:
    """The strictest Pod Security level the release namespace enforces or warns at (a
    warning at every apply is a promise the stack does not keep); restricted when unknown."""
    for obj in objects:
        meta = obj.get("metadata") or {}
        if obj.get("kind") == "Namespace" and meta.get("name") == namespace:
            labels = meta.get("labels") or {}
            levels = {labels.get(_PSS_ENFORCE, "privileged"), labels.get(_PSS_WARN, "privileged")}
            return next(level for level in ("restricted", "baseline", "privileged") if level in levels)
    return "restricted"


def restricted_pod_problems(values: Mapping[str, Any], pod: Mapping[str, Any]) -> list[str]:
    """Why a chart pod would not run restricted: each container must forbid escalation and
    drop ALL; runAsNonRoot and a seccomp profile must come from the container or the pod."""
    if pod.get("pod"):
        pod_ctx, problems = _context(values, {"path": pod["pod"], "enabledBy": pod.get("podEnabledBy")})
        pod_where = f"values.{first_set(values, pod['pod'])[1]}"
    else:  # the chart renders no pod securityContext: the container must carry it all
        pod_ctx, problems, pod_where = {}, [], "no pod securityContext in the chart"
    for c in pod.get("containers") or []:
        ctx, off = _context(values, c)
        problems += off
        where = f"values.{first_set(values, c['path'])[1]}"
        if ctx.get("allowPrivilegeEscalation") is not False:
            problems.append(f"{where}.allowPrivilegeEscalation must be false")
        if "ALL" not in ((ctx.get("capabilities") or {}).get("drop") or []):
            problems.append(f"{where}.capabilities.drop must include ALL")
        if not ctx.get("runAsNonRoot", pod_ctx.get("runAsNonRoot")):
            problems.append(f"{where} (or {pod_where}) must set runAsNonRoot: true")
        if not (ctx.get("seccompProfile") or pod_ctx.get("seccompProfile")):
            problems.append(f"{where} (or {pod_where}) must set a seccompProfile")
    return list(dict.fromkeys(problems))


def _bind_problems(field: str, address: Any, port: int) -> list[str]:
    if _port_of(address) != port:
        return [f"{field}: {address!r} does not serve port {port}"]
    return []


def kueue_config_problems(served_by: str, config: Mapping[str, Any], port: int) -> list[str]:
    """Why Kueue's controller Configuration would not listen where the chart expects."""
    if served_by == "kueue-health-probe":
        return _bind_problems("health.healthProbeBindAddress",
                              (config.get("health") or {}).get("healthProbeBindAddress"), port)
    if served_by == "kueue-metrics":
        return _bind_problems("metrics.bindAddress", (config.get("metrics") or {}).get("bindAddress"), port)
    webhook = (config.get("webhook") or {}).get("port")
    return [] if webhook == port else [f"webhook.port: {webhook!r} is not {port}"]


def _collector_config(contract: Contract, values: Mapping[str, Any],
                      objects: Iterable[Mapping[str, Any]], namespace: str) -> Mapping[str, Any] | None:
    where = contract.collector_config or {}
    name = lookup(values, where.get("existingConfigMap", ""))
    if name is _MISSING:
        return values.get("config") if isinstance(values.get("config"), Mapping) else None
    for obj in objects:
        meta = obj.get("metadata") or {}
        if obj.get("kind") == "ConfigMap" and meta.get("name") == name and meta.get("namespace") == namespace:
            return yaml.safe_load((obj.get("data") or {}).get(where["key"], "")) or {}
    return None


def check_release(release: Mapping[str, Any], objects: Iterable[Mapping[str, Any]]) -> list[Finding]:
    """Findings of one rendered release against its chart's contract (none if no contract)."""
    contract = contracts().get((release.get("chart"), str(release.get("version"))))
    if contract is None:
        return []
    name = f"helm {release.get('namespace')}/{release.get('name')}"
    values = merged_values(contract.defaults or {}, release.get("values") or {})
    objects = list(objects)
    level = enforced_level(objects, release.get("namespace"))
    found: list[Finding] = []

    def bad(message: str) -> None:
        found.append(Finding(object=name, message=f"chart {contract.chart} {contract.version}: {message}"))

    def rendered(entry: Mapping[str, Any]) -> bool:  # the chart renders the pod at all
        return all(lookup(values, gate) is True for gate in entry.get("renderedWhen") or [])

    for path in undeclared_image_keys(contract, release.get("values") or {}):
        bad(f"values.{path} is not a key the chart reads an image from")
    for image in contract.images:
        if not rendered(image):
            continue
        repository, where = first_set(values, image["repository"])
        if repository is _MISSING:
            bad(f"values.{where} must be set (the chart would pull its default)")
        if image.get("name") and first_set(values, image["name"])[0] is _MISSING:
            bad(f"values.{image['name']} must be set (the image's name below the repository)")
        if image.get("inline"):  # one key holds repository:tag or repository@digest
            if isinstance(repository, str) and ":" not in repository.rsplit("/", 1)[-1] and "@" not in repository:
                bad(f"values.{where} {repository!r} must carry a tag or digest")
            continue
        (tag, tag_where), (digest, _) = first_set(values, image.get("tag", "")), first_set(values, image.get("digest", ""))
        if tag is _MISSING and image.get("appVersion"):
            tag = image["appVersion"]
        if tag is _MISSING and digest is _MISSING:
            bad(f"values.{tag_where} or values.{image.get('digest')} must pin the image")
    for pod in contract.pods:
        if not rendered(pod):
            continue
        if level == "restricted":
            problems = restricted_pod_problems(values, pod)
        else:
            problems = baseline_pod_problems(values, pod) if level == "baseline" else []
        for problem in problems:
            bad(f"{problem} (the namespace enforces or warns at {level})" if level != "restricted" else problem)
    for probe in contract.probes:
        port = lookup(values, probe.port) if probe.port else _MISSING
        port = probe.default_port if port is _MISSING else port
        if probe.served_by.startswith("kueue-"):
            raw = lookup(values, contract.manager_config or "")
            config = yaml.safe_load(raw) if isinstance(raw, str) else None
            if not isinstance(config, Mapping):
                bad(f"{probe.name}: no controller Configuration at values.{contract.manager_config}")
                continue
            for problem in kueue_config_problems(probe.served_by, config, int(port)):
                bad(f"{probe.name} on port {port}: {problem}")
            continue
        if probe.served_by == "values-address":
            address, _ = first_set(values, probe.address)
            address = probe.address_default if address is _MISSING else address
            listens = int(address) if str(address).isdigit() else _port_of(address)
            if listens != int(port):
                bad(f"{probe.name} on port {port}: values.{probe.address} {address!r} listens elsewhere")
            continue
        if probe.served_by == "collector-health-check":
            config = _collector_config(contract, values, objects, release.get("namespace"))
            if config is None:
                bad(f"{probe.name}: no collector config found to serve port {port}")
                continue
            for problem in collector_health_problems(config, int(port)):
                bad(f"{probe.name} on port {port}: {problem}")
    return found


def check(releases: Iterable[Mapping[str, Any]], objects: Iterable[Mapping[str, Any]]) -> list[Finding]:
    """Contract findings of every release (an empty list: every contract holds)."""
    objects = list(objects)
    return [f for rel in releases for f in check_release(rel, objects)]
