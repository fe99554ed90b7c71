"""Typed, validated configuration for the platform services (part 2 of the platform stacks).

The stack program reads the ``services`` block of ``Pulumi.<stack>.yaml`` into
:class:`ServicesConfig` with :func:`services_config_from_mapping` before any resource is
declared, so a bad value fails with a message naming the key. Components never read config:
they get the small frozen ``*Args`` dataclasses defined next to them.

Shared value types used by several service components (a pinned Helm chart, container
resources, restricted namespace labels) live here too, so each component module stays about
one component.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import MISSING, dataclass, field, fields
from typing import Any

from infra.config.compute import check_dns_label

SERVICES_CONFIG_KEY = "services"
"""Config key (in the ``ai4s`` namespace) of the services block of Pulumi.<stack>.yaml."""

_QUANTITY = re.compile(r"^[0-9]+(\.[0-9]+)?(m|Ki|Mi|Gi|Ti|k|M|G|T)?$")
_STORAGE_SIZE = re.compile(r"^[1-9][0-9]*(Mi|Gi|Ti)$")
_DURATION = re.compile(r"^[1-9][0-9]*(s|m|h|d|w)$")
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")
_DOMAIN = re.compile(r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?\.)+[a-z]{2,}$")


def _camel(name: str) -> str:
    """snake_case field name -> the camelCase key used in Pulumi.<stack>.yaml."""
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def _snake(key: str) -> str:
    return re.sub(r"(?<!^)([A-Z])", r"_\1", key).lower()


def check_pinned_image(key: str, image: str) -> None:
    """Raise ValueError unless ``image`` names an exact tag (``repository:tag``, not latest)."""
    last = image.rsplit("/", 1)[-1] if isinstance(image, str) else ""
    if ":" not in last or last.endswith(":latest"):
        raise ValueError(f"{key}: {image!r} must be pinned as repository:tag, not latest")


def split_image(image: str) -> dict[str, str]:
    """``repository:tag`` -> ``{"repository", "tag"}``, the shape most charts take."""
    repository, tag = image.rsplit(":", 1)
    return {"repository": repository, "tag": tag}


def ingress_from_namespaces(namespaces: Iterable[str], ports: Iterable[int]) -> dict:
    """A NetworkPolicy ingress rule (snake_case, as Pulumi takes it): TCP ``ports`` from any
    pod of ``namespaces`` (matched by the label Kubernetes sets on every namespace)."""
    return {
        "from": [{"namespace_selector": {"match_expressions": [{
            "key": "kubernetes.io/metadata.name", "operator": "In", "values": sorted(set(namespaces))}]}}],
        "ports": [{"protocol": "TCP", "port": port} for port in ports],
    }


def _check(pattern: re.Pattern[str], key: str, value: object, accepted: str) -> None:
    if not isinstance(value, str) or not pattern.match(value):
        raise ValueError(f"{key}: {value!r} is not accepted; expected {accepted}")


def restricted_namespace_labels(*, enforce: str = "restricted") -> dict[str, str]:
    """Pod Security Standards labels for a platform namespace: audit and warn on "restricted".

    ``enforce`` is "restricted" where we write the pod specs ourselves; "baseline" for
    namespaces of upstream charts whose pods do not set every restricted field (the
    warnings then show what is missing).
    """
    if enforce not in ("restricted", "baseline"):
        raise ValueError(f"enforce: {enforce!r} is not accepted; expected restricted or baseline")
    return {
        "pod-security.kubernetes.io/enforce": enforce,
        "pod-security.kubernetes.io/audit": "restricted",
        "pod-security.kubernetes.io/warn": "restricted",
        "app.kubernetes.io/part-of": "ai4s-kit",
    }


@dataclass(kw_only=True, frozen=True, slots=True)
class ChartPin:
    """A Helm chart pinned to one version (the row of the versions table it came from)."""

    chart: str
    """Chart name, or a full ``oci://`` reference for charts served from an OCI registry."""
    version: str
    """Exact chart version; never a range."""
    repo: str = ""
    """Chart repository URL; empty for ``oci://`` charts."""

    def __post_init__(self) -> None:
        if not self.chart:
            raise ValueError("chart: must not be empty")
        if not self.version or any(c in self.version for c in "^~*<>= "):
            raise ValueError(f"version: {self.version!r} must be one exact version, not a range")
        if not self.repo and not self.chart.startswith("oci://"):
            raise ValueError(f"repo: chart {self.chart!r} needs a repository URL or an oci:// name")

    def release_args(self) -> dict[str, Any]:
        """Keyword arguments naming this chart for ``helm.v3.Release`` (chart, version and,
        for a classic repository, repository_opts)."""
        named: dict[str, Any] = {"chart": self.chart, "version": self.version}
        if self.repo:
            named["repository_opts"] = {"repo": self.repo}
        return named


@dataclass(kw_only=True, frozen=True, slots=True)
class Resources:
    """Container requests and limits (policy requires both on every container)."""

    cpu_request: str = "100m"
    """CPU request, a Kubernetes quantity such as ``100m``."""
    memory_request: str = "256Mi"
    """Memory request, a Kubernetes quantity such as ``256Mi``."""
    cpu_limit: str = "1"
    """CPU limit."""
    memory_limit: str = "1Gi"
    """Memory limit."""

    def __post_init__(self) -> None:
        for f in fields(self):
            _check(_QUANTITY, _camel(f.name), getattr(self, f.name), "a Kubernetes quantity like 500m or 1Gi")

    def to_k8s(self) -> dict[str, dict[str, str]]:
        return {
            "requests": {"cpu": self.cpu_request, "memory": self.memory_request},
            "limits": {"cpu": self.cpu_limit, "memory": self.memory_limit},
        }


@dataclass(kw_only=True, frozen=True, slots=True)
class StorageConfig:
    """Object storage (MinIO, standalone)."""

    namespace: str = "ai4s-services"
    """Namespace MinIO runs in; team namespaces must be allowed egress to it (compute.platformNamespaces)."""
    volume_size: str = "20Gi"
    """Size of MinIO's persistent volume."""
    storage_class: str = ""
    """StorageClass for the volume; empty means the cluster default."""
    buckets: tuple[str, ...] = ("datasets", "artifacts", "checkpoints", "results")
    """Buckets created at install; per-team policies give each team a prefix in each."""
    resources: Resources = field(default_factory=lambda: Resources(memory_limit="2Gi"))
    """MinIO server container resources."""

    def __post_init__(self) -> None:
        check_dns_label("services.storage.namespace", self.namespace)
        _check(_STORAGE_SIZE, "services.storage.volumeSize", self.volume_size, "a size like 20Gi")
        if self.storage_class:
            check_dns_label("services.storage.storageClass", self.storage_class)
        if not self.buckets:
            raise ValueError("services.storage.buckets: at least one bucket is required")
        for bucket in self.buckets:
            _check(_BUCKET, "services.storage.buckets", bucket, "an S3 bucket name (3-63 of a-z0-9-)")
        if len(set(self.buckets)) != len(self.buckets):
            raise ValueError(f"services.storage.buckets: duplicate names in {list(self.buckets)}")
        if "artifacts" not in self.buckets:
            raise ValueError("services.storage.buckets: must include 'artifacts' (MLflow stores there)")


@dataclass(kw_only=True, frozen=True, slots=True)
class TrackingConfig:
    """Experiment tracking (MLflow) with its PostgreSQL backend (CloudNativePG)."""

    namespace: str = "ai4s-services"
    """Namespace for MLflow and its PostgreSQL cluster; must be in compute.platformNamespaces."""
    postgres_instances: int = 1
    """PostgreSQL instances (1 primary plus replicas)."""
    postgres_volume_size: str = "5Gi"
    """Size of each PostgreSQL instance's volume."""
    replicas: int = 1
    """MLflow server replicas."""
    resources: Resources = field(default_factory=Resources)
    """MLflow server container resources."""

    def __post_init__(self) -> None:
        check_dns_label("services.tracking.namespace", self.namespace)
        if not isinstance(self.postgres_instances, int) or not 1 <= self.postgres_instances <= 5:
            raise ValueError(
                f"services.tracking.postgresInstances: {self.postgres_instances!r} is not accepted; "
                "expected an integer from 1 to 5"
            )
        if not isinstance(self.replicas, int) or not 1 <= self.replicas <= 10:
            raise ValueError(
                f"services.tracking.replicas: {self.replicas!r} is not accepted; expected 1 to 10"
            )
        _check(
            _STORAGE_SIZE, "services.tracking.postgresVolumeSize", self.postgres_volume_size,
            "a size like 5Gi",
        )


@dataclass(kw_only=True, frozen=True, slots=True)
class ObservabilityConfig:
    """OpenTelemetry Collector, Prometheus stack, GPU accounting and dashboards."""

    namespace: str = "monitoring"
    """Namespace of Prometheus, Grafana and dashboards; must equal compute.monitoringNamespace."""
    collector_namespace: str = "ai4s-services"
    """Namespace of the OTLP collector workloads send to; must be in compute.platformNamespaces."""
    scrape_interval: str = "30s"
    """Prometheus scrape interval."""
    retention: str = "7d"
    """Prometheus retention time."""
    prometheus_volume_size: str = "10Gi"
    """Prometheus persistent volume size."""
    dcgm_namespace: str = "gpu-operator"
    """Namespace the DCGM exporter runs in (GPU stacks: installed by the GPU operator of part 1)."""
    alert_webhook_secret: str = "ai4s-alert-webhook"
    """Secret in the monitoring namespace, key ``url``, with the webhook Alertmanager delivers
    to (created by the admin; its URL may carry a token, so it never sits in config)."""

    def __post_init__(self) -> None:
        check_dns_label("services.observability.namespace", self.namespace)
        check_dns_label("services.observability.collectorNamespace", self.collector_namespace)
        check_dns_label("services.observability.dcgmNamespace", self.dcgm_namespace)
        for key in ("scrape_interval", "retention"):
            _check(_DURATION, f"services.observability.{_camel(key)}", getattr(self, key),
                   "a duration like 30s or 7d")
        _check(
            _STORAGE_SIZE, "services.observability.prometheusVolumeSize",
            self.prometheus_volume_size, "a size like 10Gi",
        )


@dataclass(kw_only=True, frozen=True, slots=True)
class ServingConfig:
    """KServe in raw-deployment ("Standard") mode with cert-manager."""

    namespace: str = "kserve"
    """Namespace of the KServe controller."""
    cert_manager_namespace: str = "cert-manager"
    """Namespace of cert-manager."""
    ingress_domain: str = "ai4s.local"
    """Domain under which InferenceService hostnames are made."""
    ingress_class: str = "nginx"
    """IngressClass KServe uses for InferenceService Ingresses."""
    ingress_namespace: str = "ingress-nginx"
    """Namespace of the ingress controller; team namespaces admit it to model pods only."""

    def __post_init__(self) -> None:
        check_dns_label("services.serving.namespace", self.namespace)
        check_dns_label("services.serving.certManagerNamespace", self.cert_manager_namespace)
        check_dns_label("services.serving.ingressClass", self.ingress_class)
        check_dns_label("services.serving.ingressNamespace", self.ingress_namespace)
        _check(_DOMAIN, "services.serving.ingressDomain", self.ingress_domain, "a DNS domain like ai4s.local")


@dataclass(kw_only=True, frozen=True, slots=True)
class NotebookProfile:
    """One JupyterHub profile: a notebook size a team member can pick."""

    slug: str
    """Short identifier shown in URLs."""
    display_name: str
    """Name shown in the spawn form."""
    resources: Resources
    """Notebook container resources."""
    gpus: int = 0
    """GPUs requested (limits ``nvidia.com/gpu``)."""

    def __post_init__(self) -> None:
        check_dns_label("services.notebooks.profiles.slug", self.slug)
        if not self.display_name:
            raise ValueError("services.notebooks.profiles.displayName: must not be empty")
        if not isinstance(self.gpus, int) or not 0 <= self.gpus <= 8:
            raise ValueError(f"services.notebooks.profiles.gpus: {self.gpus!r} must be 0 to 8")


@dataclass(kw_only=True, frozen=True, slots=True)
class NotebooksAuth:
    """JupyterHub's OAuth2/OIDC login (GenericOAuthenticator): who a user is and which
    groups they are in, so the hub offers each user only their team's profiles."""

    authorize_url: str
    """The identity provider's authorization endpoint."""
    token_url: str
    """Its token endpoint."""
    userdata_url: str
    """Its userinfo endpoint."""
    client_id: str
    """OAuth client registered for the hub."""
    client_secret_name: str = "jupyterhub-oauth"
    """Secret in the hub namespace (key ``client-secret``) the admin creates; never in config."""
    username_claim: str = "preferred_username"
    """Claim that becomes the JupyterHub user name (matched against ``user:<name>`` members)."""
    groups_claim: str = "groups"
    """Claim listing the user's groups (matched against ``group:<name>`` members)."""

    def __post_init__(self) -> None:
        for key in ("authorize_url", "token_url", "userdata_url"):
            value = getattr(self, key)
            if not isinstance(value, str) or not value.startswith("https://"):
                raise ValueError(f"services.notebooks.oauth.{_camel(key)}: {value!r} is not accepted; expected an https:// URL")
        if not self.client_id:
            raise ValueError("services.notebooks.oauth.clientId: required")
        check_dns_label("services.notebooks.oauth.clientSecretName", self.client_secret_name)


@dataclass(kw_only=True, frozen=True, slots=True)
class NotebooksConfig:
    """JupyterHub (optional per stack)."""

    enabled: bool = False
    """Install JupyterHub."""
    namespace: str = "ai4s-notebooks"
    """Namespace of the hub and proxy."""
    profiles: tuple[NotebookProfile, ...] = (
        NotebookProfile(
            slug="cpu-small", display_name="CPU, 2 cores, 4 GiB",
            resources=Resources(cpu_request="500m", memory_request="1Gi", cpu_limit="2", memory_limit="4Gi"),
        ),
    )
    """Sizes offered to each team; the hub multiplies them by team."""
    gpu_quota: int = 0
    """Most GPUs all notebook servers together may request (ResourceQuota of the hub namespace)."""
    oauth: NotebooksAuth | None = None
    """Login; required when enabled (without it every user would see every team's profiles)."""
    api_server_cidrs: tuple[str, ...] = ()
    """Addresses of the Kubernetes API server (endpoints, not the Service IP), which notebooks
    may reach on 443 and 6443 to submit jobs."""

    def __post_init__(self) -> None:
        check_dns_label("services.notebooks.namespace", self.namespace)
        if not isinstance(self.enabled, bool):
            raise ValueError(f"services.notebooks.enabled: {self.enabled!r} must be true or false")
        if not isinstance(self.gpu_quota, int) or self.gpu_quota < 0:
            raise ValueError(f"services.notebooks.gpuQuota: {self.gpu_quota!r} must be a count >= 0")
        most = max((p.gpus for p in self.profiles), default=0)
        if self.enabled and most > self.gpu_quota:
            raise ValueError(f"services.notebooks.gpuQuota: {self.gpu_quota} is below the largest "
                             f"profile's {most} GPUs; that profile could never start")
        if self.enabled and self.oauth is None:
            raise ValueError("services.notebooks.oauth: required when notebooks are enabled "
                             "(users must see only their own team's profiles)")
        for cidr in self.api_server_cidrs:
            if not re.match(r"^[0-9a-fA-F:.]+/[0-9]{1,3}$", str(cidr)):
                raise ValueError(f"services.notebooks.apiServerCidrs: {cidr!r} is not a CIDR like 10.0.0.1/32")
        if self.enabled and not self.profiles:
            raise ValueError("services.notebooks.profiles: at least one profile when enabled")
        slugs = [p.slug for p in self.profiles]
        if len(set(slugs)) != len(slugs):
            raise ValueError(f"services.notebooks.profiles: duplicate slugs in {slugs}")


@dataclass(kw_only=True, frozen=True, slots=True)
class ServicesConfig:
    """Everything the services block of a stack needs."""

    storage: StorageConfig = field(default_factory=StorageConfig)
    tracking: TrackingConfig = field(default_factory=TrackingConfig)
    observability: ObservabilityConfig = field(default_factory=ObservabilityConfig)
    serving: ServingConfig = field(default_factory=ServingConfig)
    notebooks: NotebooksConfig = field(default_factory=NotebooksConfig)
    protect_data: bool = True
    """Pulumi `protect` and `retainOnDelete` on what holds data (MinIO, PostgreSQL,
    Prometheus): a destroy or a rename never deletes it; set false before a planned teardown."""

    def shared_namespaces(self) -> tuple[str, ...]:
        """Namespaces the services block creates itself (several services may share one)."""
        return tuple(sorted({self.storage.namespace, self.tracking.namespace,
                             self.observability.namespace, self.observability.collector_namespace}))

    def __post_init__(self) -> None:
        if not isinstance(self.protect_data, bool):
            raise ValueError(f"services.protectData: expected true or false, got {self.protect_data!r}")
        # Serving, cert-manager and notebooks create and own their namespaces.
        owned = {"services.serving.namespace": self.serving.namespace,
                 "services.serving.certManagerNamespace": self.serving.cert_manager_namespace,
                 "services.notebooks.namespace": self.notebooks.namespace}
        taken = set(self.shared_namespaces())
        for key, ns in owned.items():
            if ns in taken:
                raise ValueError(f"{key}: {ns!r} is already used by another service; give it its own namespace")
            taken.add(ns)


def _build(cls: type, key: str, raw: Any, nested: Mapping[str, Any] | None = None) -> Any:
    """Build dataclass ``cls`` from a mapping, rejecting unknown keys by name."""
    if raw is None:
        raw = {}
    if not isinstance(raw, Mapping):
        raise ValueError(f"{key}: expected a mapping, got {type(raw).__name__}")
    known = {_camel(f.name) for f in fields(cls)}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise ValueError(f"{key}.{unknown[0]}: unknown key; accepted keys are {sorted(known)}")
    missing = sorted(_camel(f.name) for f in fields(cls)
                     if f.default is MISSING and f.default_factory is MISSING and _camel(f.name) not in raw)
    if missing:
        raise ValueError(f"{key}.{missing[0]}: required")
    values = {_snake(k): v for k, v in raw.items()}
    for name, converter in (nested or {}).items():
        if name in values:
            values[name] = converter(f"{key}.{name}", values[name])
    return cls(**values)


def _resources(key: str, raw: Any) -> Resources:
    return _build(Resources, key, raw)


def _profiles(key: str, raw: Any) -> tuple[NotebookProfile, ...]:
    if not isinstance(raw, list):
        raise ValueError(f"{key}: expected a list of profiles")
    return tuple(
        _build(NotebookProfile, f"{key}[{i}]", item, {"resources": _resources})
        for i, item in enumerate(raw)
    )


def _tuple(key: str, raw: Any) -> tuple[str, ...]:
    if not isinstance(raw, list):
        raise ValueError(f"{key}: expected a list")
    return tuple(raw)


def services_config_from_mapping(raw: Mapping[str, Any] | None) -> ServicesConfig:
    """Parse and validate the ``services`` config block (missing keys take defaults)."""
    raw = raw or {}
    return _build(
        ServicesConfig,
        "services",
        raw,
        {
            "storage": lambda k, v: _build(StorageConfig, k, v, {"resources": _resources, "buckets": _tuple}),
            "tracking": lambda k, v: _build(TrackingConfig, k, v, {"resources": _resources}),
            "observability": lambda k, v: _build(ObservabilityConfig, k, v),
            "serving": lambda k, v: _build(ServingConfig, k, v),
            "notebooks": lambda k, v: _build(NotebooksConfig, k, v, {
                "profiles": _profiles, "api_server_cidrs": _tuple,
                "oauth": lambda k2, v2: _build(NotebooksAuth, k2, v2)}),
        },
    )
