"""Typed, validated configuration of the compute side of a platform stack.

A stack program reads the structured Pulumi config value `ai4s:compute` and calls
`ComputeConfig.from_mapping(...)` before declaring any resource, so a bad value (a
negative quota, an unknown GPU model, a team without a namespace) stops `pulumi up`
with a message naming the key, e.g. `compute.teams[0].quota.cpu: ...`.

Config keys are camelCase (Pulumi convention); fields are snake_case.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar

CONFIG_NAMESPACE = "ai4s"
CONFIG_KEY = "compute"

# GPU models the platform knows: the node label value GPU Feature Discovery sets
# (`nvidia.com/gpu.product`) and the MIG profiles the model supports.
KNOWN_GPU_MODELS: dict[str, tuple[str, tuple[str, ...]]] = {
    "t4": ("Tesla-T4", ()),
    "a10": ("NVIDIA-A10", ()),
    "l4": ("NVIDIA-L4", ()),
    "l40s": ("NVIDIA-L40S", ()),
    "a100-40gb": ("NVIDIA-A100-SXM4-40GB", ("1g.5gb", "2g.10gb", "3g.20gb", "4g.20gb", "7g.40gb")),
    "a100-80gb": ("NVIDIA-A100-SXM4-80GB", ("1g.10gb", "2g.20gb", "3g.40gb", "4g.40gb", "7g.80gb")),
    "h100-80gb": (
        "NVIDIA-H100-80GB-HBM3",
        ("1g.10gb", "1g.20gb", "2g.20gb", "3g.40gb", "4g.40gb", "7g.80gb"),
    ),
    "h200": ("NVIDIA-H200", ("1g.18gb", "1g.35gb", "2g.35gb", "3g.71gb", "4g.71gb", "7g.141gb")),
}

GANG_SCHEDULERS = ("kueue", "volcano")
GPU_SHARING_MODES = ("none", "time-slicing", "mig")
GPU_ALLOCATION_MODES = ("device-plugin", "dra")
"""How pods get GPUs: the NVIDIA device plugin (extended resource nvidia.com/gpu) or
Dynamic Resource Allocation (ResourceClaims against the `gpu.nvidia.com` DeviceClass)."""
MIG_STRATEGIES = ("single", "mixed")
WITHIN_CLUSTER_QUEUE = ("Never", "LowerPriority", "LowerOrNewerEqualPriority")
RECLAIM_WITHIN_COHORT = ("Never", "LowerPriority", "Any")
BORROW_WITHIN_COHORT = ("Never", "LowerPriority")
MEMBER_KINDS = ("user", "group")

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
# Kubernetes resource.Quantity, without a sign: a negative quota is never meaningful here.
_QUANTITY = re.compile(
    r"^(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE][+-]?[0-9]+))?$"
)


def _check_quantity(path: str, value: Any) -> str:
    text = str(value) if isinstance(value, int | float) and not isinstance(value, bool) else value
    if not isinstance(text, str) or not _QUANTITY.match(text):
        raise ValueError(
            f"{path}: expected a non-negative Kubernetes quantity such as '8', '500m' or "
            f"'32Gi', got {value!r}"
        )
    return text


def check_dns_label(path: str, value: Any, max_len: int = 63) -> str:
    """`value` if it is an RFC 1123 label of at most `max_len` characters (a namespace or
    object name), else ValueError naming `path`. Shared by compute and services config."""
    if not isinstance(value, str) or len(value) > max_len or not _DNS_LABEL.match(value):
        raise ValueError(
            f"{path}: expected a DNS label (lower-case letters, digits, '-', at most "
            f"{max_len} characters), got {value!r}"
        )
    return value


def _check_choice(path: str, value: Any, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise ValueError(f"{path}: expected one of {list(choices)}, got {value!r}")
    return value


def _check_int(path: str, value: Any, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise ValueError(f"{path}: expected an integer in [{lo}, {hi}], got {value!r}")
    return value


def _check_member(path: str, value: Any) -> str:
    kind, _, who = str(value).partition(":")
    if not isinstance(value, str) or kind not in MEMBER_KINDS or not who:
        raise ValueError(f"{path}: expected 'user:<name>' or 'group:<name>', got {value!r}")
    return value


class _Section:
    """Reads one mapping of the raw config; rejects unknown keys by name."""

    def __init__(self, path: str, raw: Any, allowed: tuple[str, ...]):
        if not isinstance(raw, Mapping):
            raise ValueError(f"{path}: expected a mapping, got {type(raw).__name__}")
        unknown = sorted(set(raw) - set(allowed))
        if unknown:
            raise ValueError(f"{path}.{unknown[0]}: unknown key; accepted: {list(allowed)}")
        self.path, self.raw = path, raw

    def key(self, name: str) -> str:
        return f"{self.path}.{name}"

    def get(self, name: str, default: Any = None) -> Any:
        return self.raw.get(name, default)

    def require(self, name: str) -> Any:
        if name not in self.raw or self.raw[name] in (None, ""):
            raise ValueError(f"{self.key(name)}: required")
        return self.raw[name]

    def fields(self, spec: Mapping[str, tuple[str, Checker]]) -> dict[str, Any]:
        """Dataclass keyword arguments for the config keys present, each checked under its
        own key path. Absent keys are left out so the dataclass default applies: defaults
        live in one place, the dataclasses."""
        return {
            field_name: check(self.key(key), self.raw[key])
            for key, (field_name, check) in spec.items()
            if self.raw.get(key) is not None
        }


Checker = Callable[[str, Any], Any]


def _check_bool(path: str, value: Any) -> bool:
    if not isinstance(value, bool):  # "false" as a string would otherwise read as True
        raise ValueError(f"{path}: expected true or false, got {value!r}")
    return value


def _check_text(path: str, value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{path}: expected a string, got {value!r}")
    return value


def _list_of(check: Checker) -> Checker:
    def checked(path: str, value: Any) -> tuple:
        if not isinstance(value, list):
            raise ValueError(f"{path}: expected a list, got {type(value).__name__}")
        return tuple(check(f"{path}[{i}]", item) for i, item in enumerate(value))

    return checked


def _map_of(check: Checker) -> Checker:
    def checked(path: str, value: Any) -> dict:
        if not isinstance(value, Mapping):
            raise ValueError(f"{path}: expected a mapping, got {type(value).__name__}")
        return {str(k): check(f"{path}.{k}", v) for k, v in value.items()}

    return checked


def _count(path: str, value: Any) -> int:
    return _check_int(path, value, 0, 4096)


@dataclass(kw_only=True, frozen=True, slots=True)
class Quota:
    """Resources of one team (nominal quota) or the most it may borrow."""

    cpu: str = "0"
    """CPU quantity."""
    memory: str = "0"
    """Memory quantity."""
    gpus: Mapping[str, int] = field(default_factory=dict)
    """Whole GPUs per GPU model key."""
    mig: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    """MIG slices per GPU model key and MIG profile."""

    @staticmethod
    def parse(path: str, raw: Any) -> Quota:
        s = _Section(path, raw, ("cpu", "memory", "gpus", "mig"))
        return Quota(
            **s.fields(
                {
                    "cpu": ("cpu", _check_quantity),
                    "memory": ("memory", _check_quantity),
                    "gpus": ("gpus", _map_of(_count)),
                    "mig": ("mig", _map_of(_map_of(_count))),
                }
            )
        )


@dataclass(kw_only=True, frozen=True, slots=True)
class Team:
    """A tenant: one namespace, one ClusterQueue and LocalQueue, RBAC for its members."""

    name: str
    """Team name; names the ClusterQueue."""
    namespace: str
    """Namespace the team's workloads run in."""
    members: tuple[str, ...] = ()
    """RBAC subjects, each `user:<name>` or `group:<name>`."""
    quota: Quota
    """Nominal quota in the shared cohort."""
    borrowing_limit: Quota | None = None
    """Most the team may borrow from the cohort; None means unlimited."""

    def __post_init__(self) -> None:
        check_dns_label("Team.name", self.name)
        check_dns_label("Team.namespace", self.namespace)
        for m in self.members:
            _check_member("Team.members", m)


@dataclass(kw_only=True, frozen=True, slots=True)
class Priority:
    """A Kueue WorkloadPriorityClass."""

    name: str
    """Class name, used in the `kueue.x-k8s.io/priority-class` label."""
    value: int
    """Priority; higher preempts lower."""
    description: str = ""
    """When to use it."""

    def __post_init__(self) -> None:
        check_dns_label("Priority.name", self.name, 253)
        _check_int("Priority.value", self.value, -(2**31), 1_000_000_000)


@dataclass(kw_only=True, frozen=True, slots=True)
class Preemption:
    """Preemption policy applied to every team ClusterQueue."""

    within_cluster_queue: str = "LowerPriority"
    """Kueue `withinClusterQueue`."""
    reclaim_within_cohort: str = "Any"
    """Kueue `reclaimWithinCohort`: take back lent quota."""
    borrow_within_cohort: str = "Never"
    """Kueue `borrowWithinCohort.policy`."""

    def __post_init__(self) -> None:
        _check_choice(
            "Preemption.within_cluster_queue", self.within_cluster_queue, WITHIN_CLUSTER_QUEUE
        )
        _check_choice(
            "Preemption.reclaim_within_cohort", self.reclaim_within_cohort, RECLAIM_WITHIN_COHORT
        )
        _check_choice(
            "Preemption.borrow_within_cohort", self.borrow_within_cohort, BORROW_WITHIN_COHORT
        )
        if self.reclaim_within_cohort == "Never" and self.borrow_within_cohort != "Never":
            # Kueue's CRD rejects this combination; fail here with our key names instead.
            raise ValueError(
                "compute.preemption.borrowWithinCohort: must be 'Never' when "
                "reclaimWithinCohort is 'Never'"
            )


@dataclass(kw_only=True, frozen=True, slots=True)
class GpuModel:
    """One GPU model present in the cluster."""

    model: str
    """Key in KNOWN_GPU_MODELS."""
    mig_profiles: tuple[str, ...] = ()
    """MIG profiles exposed as resources on this model's nodes (MIG mode only)."""

    def __post_init__(self) -> None:
        _check_choice("GpuModel.model", self.model, tuple(KNOWN_GPU_MODELS))
        allowed = KNOWN_GPU_MODELS[self.model][1]
        for p in self.mig_profiles:
            _check_choice(f"GpuModel.mig_profiles ({self.model})", p, allowed)

    @property
    def product(self) -> str:
        return KNOWN_GPU_MODELS[self.model][0]


@dataclass(kw_only=True, frozen=True, slots=True)
class GpuOperatorSettings:
    """How the GPU Operator runs: sharing mode, MIG strategy, driver, DCGM exporter tag.

    Stack config (`compute.gpu`) and the GPU stack component's args both are these
    settings, so a setting cannot be added to one and forgotten in the other."""

    _KEY: ClassVar[str] = "compute.gpu"
    """What error messages name the settings as."""

    sharing: str = "none"
    """`none`, `time-slicing` or `mig`."""
    time_slicing_replicas: int = 4
    """Pods sharing one GPU under time-slicing."""
    mig_strategy: str = "mixed"
    """GPU Operator MIG strategy under `mig`: `single` or `mixed`."""
    driver_preinstalled: bool = False
    """True on managed clusters whose nodes already carry the NVIDIA driver."""
    dcgm_exporter_tag: str = ""
    """DCGM exporter image tag; empty keeps the one the GPU Operator release ships."""
    allocation: str = "device-plugin"
    """`device-plugin` or `dra` (the NVIDIA DRA driver instead of the device plugin)."""

    def __post_init__(self) -> None:
        key = self._KEY
        _check_choice(f"{key}.allocation", self.allocation, GPU_ALLOCATION_MODES)
        if self.allocation == "dra" and self.sharing != "none":
            # MIG and time-slicing are device-plugin features here; with DRA, sharing is a
            # property of claims, which the kit does not model yet.
            raise ValueError(f"{key}.allocation: 'dra' requires sharing 'none', got {self.sharing!r}")
        if self.dcgm_exporter_tag in ("latest",) or " " in self.dcgm_exporter_tag:
            raise ValueError(
                f"{key}.dcgmExporterTag: expected an exact image tag, got {self.dcgm_exporter_tag!r}"
            )
        _check_choice(f"{key}.sharing", self.sharing, GPU_SHARING_MODES)
        _check_choice(f"{key}.migStrategy", self.mig_strategy, MIG_STRATEGIES)
        _check_int(f"{key}.timeSlicingReplicas", self.time_slicing_replicas, 2, 64)

    def operator_settings(self) -> dict[str, Any]:
        """Just these settings, as keyword arguments (e.g. for the GPU stack's args)."""
        return {f.name: getattr(self, f.name) for f in fields(GpuOperatorSettings)}


@dataclass(kw_only=True, frozen=True, slots=True)
class Gpu(GpuOperatorSettings):
    """GPU stack: operator settings and the models present."""

    models: tuple[GpuModel, ...]
    """GPU models, one ResourceFlavor each."""

    def __post_init__(self) -> None:
        if not self.models:
            raise ValueError("compute.gpu.models: at least one GPU model is required")
        GpuOperatorSettings.__post_init__(self)
        has_mig = any(m.mig_profiles for m in self.models)
        if has_mig != (self.sharing == "mig"):
            raise ValueError(
                "compute.gpu.sharing: 'mig' requires migProfiles on at least one model, and "
                "migProfiles are only accepted with sharing 'mig'"
            )


@dataclass(kw_only=True, frozen=True, slots=True)
class Offload:
    """Optional offload to virtual-kubelet (interLink) nodes, the AI_INFN HPC pattern."""

    node_labels: Mapping[str, str] = field(
        default_factory=lambda: {"virtual-node.interlink/type": "virtual-kubelet"}
    )
    """Labels of the virtual nodes."""
    taint_key: str = "virtual-node.interlink/no-schedule"
    """Taint the virtual nodes carry; offloaded pods tolerate it."""
    quota: Quota
    """What the remote site accepts at once."""
    teams: tuple[str, ...] = ()
    """Teams allowed to offload (an empty tuple means every team)."""


@dataclass(kw_only=True, frozen=True, slots=True)
class Operators:
    """Which training operators to install."""

    kuberay: bool = True
    """KubeRay operator (RayJob, RayCluster)."""
    trainer: bool = True
    """Kubeflow Trainer with torch and MPI ClusterTrainingRuntimes (and JobSet)."""


@dataclass(kw_only=True, frozen=True, slots=True)
class ComputeConfig:
    """Everything the compute block of a stack needs."""

    cohort: str = "ai4s"
    """Kueue cohort shared by every team ClusterQueue."""
    gang_scheduler: str = "kueue"
    """`kueue` (all-or-nothing admission) or `volcano` (also a gang scheduler for MPI pods)."""
    teams: tuple[Team, ...]
    """Tenants; at least one."""
    priorities: tuple[Priority, ...] = ()
    """WorkloadPriorityClasses."""
    preemption: Preemption = field(default_factory=Preemption)
    """Preemption policy of every team queue."""
    fair_sharing: bool = True
    """Kueue fair sharing in the cohort: idle quota is lent, and reclaimed by share."""
    operators: Operators = field(default_factory=Operators)
    """Training operators."""
    gpu: Gpu | None = None
    """GPU stack; None on CPU-only clusters."""
    offload: Offload | None = None
    """Offload flavor and queue; None disables it."""
    platform_namespaces: tuple[str, ...] = ()
    """Namespaces tenant pods may reach (MLflow, MinIO, OTel collector, ...)."""
    shared_queue_namespaces: tuple[str, ...] = ()
    """Namespaces (e.g. notebooks) whose LocalQueues may submit to every team queue."""
    monitoring_namespace: str = "monitoring"
    """Namespace whose Prometheus may scrape tenant pods."""
    default_cpu_request: str = "100m"
    """LimitRange default CPU request for containers that set none."""
    default_memory_request: str = "256Mi"
    """LimitRange default memory request."""
    default_cpu_limit: str = "1"
    """LimitRange default CPU limit."""
    default_memory_limit: str = "1Gi"
    """LimitRange default memory limit."""

    def __post_init__(self) -> None:
        check_dns_label("compute.cohort", self.cohort, 253)
        _check_choice("compute.gangScheduler", self.gang_scheduler, GANG_SCHEDULERS)
        if not self.teams:
            raise ValueError("compute.teams: at least one team is required")
        _unique("compute.teams[].name", [t.name for t in self.teams])
        _unique("compute.teams[].namespace", [t.namespace for t in self.teams])
        _unique("compute.priorities[].name", [p.name for p in self.priorities])
        models = {m.model: m for m in (self.gpu.models if self.gpu else ())}
        for i, t in enumerate(self.teams):
            for label, q in (("quota", t.quota), ("borrowingLimit", t.borrowing_limit)):
                if q is not None:
                    _check_quota_models(f"compute.teams[{i}].{label}", q, models)
        if self.offload is not None:
            names = {t.name for t in self.teams}
            for name in self.offload.teams:
                if name not in names:
                    raise ValueError(
                        f"compute.offload.teams: unknown team {name!r}; known: {sorted(names)}"
                    )
        for ns in self.platform_namespaces:
            check_dns_label("compute.platformNamespaces", ns)
        for ns in self.shared_queue_namespaces:
            check_dns_label("compute.sharedQueueNamespaces", ns)
            if ns in {t.namespace for t in self.teams}:
                raise ValueError(f"compute.sharedQueueNamespaces: {ns!r} is a team namespace")
        check_dns_label("compute.monitoringNamespace", self.monitoring_namespace)
        if self.fair_sharing and self.preemption.borrow_within_cohort != "Never":
            # Kueue's fair-sharing preemption does not combine with borrowWithinCohort (a
            # deprecated pairing that could loop preemptions).
            raise ValueError(
                "compute.preemption.borrowWithinCohort: must be 'Never' when fairSharing is true"
            )

    @staticmethod
    def from_mapping(raw: Any, path: str = CONFIG_KEY) -> ComputeConfig:
        """Parse the structured config value; ValueError naming the key on bad input."""
        s = _Section(
            path,
            raw,
            (
                "cohort",
                "gangScheduler",
                "teams",
                "priorities",
                "preemption",
                "fairSharing",
                "operators",
                "gpu",
                "offload",
                "platformNamespaces",
                "sharedQueueNamespaces",
                "monitoringNamespace",
                "defaults",
            ),
        )
        try:
            return _parse_compute(s)
        except ValueError as err:
            msg = str(err)
            # dataclass checks name the field; re-anchor them at the config path
            raise ValueError(msg if msg.startswith(path) else f"{path}: {msg}") from None


def _unique(path: str, names: list[str]) -> None:
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ValueError(f"{path}: duplicate {dupes[0]!r}")


def _check_quota_models(path: str, q: Quota, models: Mapping[str, GpuModel]) -> None:
    for m in q.gpus:
        if m not in models:
            raise ValueError(
                f"{path}.gpus.{m}: GPU model not in compute.gpu.models ({sorted(models)})"
            )
    for m, profiles in q.mig.items():
        if m not in models:
            raise ValueError(
                f"{path}.mig.{m}: GPU model not in compute.gpu.models ({sorted(models)})"
            )
        for p in profiles:
            if p not in models[m].mig_profiles:
                raise ValueError(
                    f"{path}.mig.{m}.{p}: not in migProfiles of {m} {list(models[m].mig_profiles)}"
                )


def _parse_team(path: str, raw: Any) -> Team:
    s = _Section(path, raw, ("name", "namespace", "members", "quota", "borrowingLimit"))
    return Team(
        name=check_dns_label(s.key("name"), s.require("name")),
        namespace=check_dns_label(s.key("namespace"), s.require("namespace")),
        quota=Quota.parse(s.key("quota"), s.require("quota")),
        **s.fields(
            {
                "members": ("members", _list_of(_check_member)),
                "borrowingLimit": ("borrowing_limit", Quota.parse),
            }
        ),
    )


def _parse_priority(path: str, raw: Any) -> Priority:
    s = _Section(path, raw, ("name", "value", "description"))
    return Priority(
        name=check_dns_label(s.key("name"), s.require("name"), 253),
        value=_check_int(s.key("value"), s.require("value"), -(2**31), 1_000_000_000),
        **s.fields({"description": ("description", _check_text)}),
    )


def _parse_preemption(path: str, raw: Any) -> Preemption:
    spec = {
        "withinClusterQueue": ("within_cluster_queue", WITHIN_CLUSTER_QUEUE),
        "reclaimWithinCohort": ("reclaim_within_cohort", RECLAIM_WITHIN_COHORT),
        "borrowWithinCohort": ("borrow_within_cohort", BORROW_WITHIN_COHORT),
    }
    s = _Section(path, raw, tuple(spec))
    return Preemption(
        **s.fields(
            {
                key: (name, lambda p, v, c=choices: _check_choice(p, v, c))
                for key, (name, choices) in spec.items()
            }
        )
    )


def _parse_operators(path: str, raw: Any) -> Operators:
    s = _Section(path, raw, ("kuberay", "trainer"))
    return Operators(
        **s.fields({"kuberay": ("kuberay", _check_bool), "trainer": ("trainer", _check_bool)})
    )


def _parse_gpu_model(path: str, raw: Any) -> GpuModel:
    s = _Section(path, raw, ("model", "migProfiles"))
    model = _check_choice(s.key("model"), s.require("model"), tuple(KNOWN_GPU_MODELS))
    profiles = KNOWN_GPU_MODELS[model][1]
    return GpuModel(
        model=model,
        **s.fields(
            {
                "migProfiles": (
                    "mig_profiles",
                    _list_of(lambda p, v: _check_choice(p, v, profiles)),
                ),
            }
        ),
    )


def _parse_gpu(path: str, raw: Any) -> Gpu:
    s = _Section(
        path,
        raw,
        (
            "models",
            "sharing",
            "timeSlicingReplicas",
            "migStrategy",
            "driverPreinstalled",
            "dcgmExporterTag",
            "allocation",
        ),
    )
    models = _list_of(_parse_gpu_model)(s.key("models"), s.require("models"))
    _unique(s.key("models[].model"), [m.model for m in models])
    return Gpu(
        models=models,
        **s.fields(
            {
                "sharing": ("sharing", lambda p, v: _check_choice(p, v, GPU_SHARING_MODES)),
                "timeSlicingReplicas": (
                    "time_slicing_replicas",
                    lambda p, v: _check_int(p, v, 2, 64),
                ),
                "migStrategy": ("mig_strategy", lambda p, v: _check_choice(p, v, MIG_STRATEGIES)),
                "driverPreinstalled": ("driver_preinstalled", _check_bool),
                "dcgmExporterTag": ("dcgm_exporter_tag", _check_text),
                "allocation": ("allocation", lambda p, v: _check_choice(p, v, GPU_ALLOCATION_MODES)),
            }
        ),
    )


def _parse_offload(path: str, raw: Any) -> Offload:
    s = _Section(path, raw, ("nodeLabels", "taintKey", "quota", "teams"))
    return Offload(
        quota=Quota.parse(s.key("quota"), s.require("quota")),
        **s.fields(
            {
                "nodeLabels": ("node_labels", _map_of(_check_text)),
                "taintKey": ("taint_key", _check_text),
                "teams": ("teams", _list_of(check_dns_label)),
            }
        ),
    )


def _parse_defaults(path: str, raw: Any) -> dict[str, str]:
    s = _Section(path, raw, ("cpuRequest", "memoryRequest", "cpuLimit", "memoryLimit"))
    return s.fields(
        {
            "cpuRequest": ("default_cpu_request", _check_quantity),
            "memoryRequest": ("default_memory_request", _check_quantity),
            "cpuLimit": ("default_cpu_limit", _check_quantity),
            "memoryLimit": ("default_memory_limit", _check_quantity),
        }
    )


def _parse_compute(s: _Section) -> ComputeConfig:
    names = _list_of(check_dns_label)
    return ComputeConfig(
        teams=_list_of(_parse_team)(s.key("teams"), s.require("teams")),
        **s.fields(
            {
                "cohort": ("cohort", lambda p, v: check_dns_label(p, v, 253)),
                "gangScheduler": (
                    "gang_scheduler",
                    lambda p, v: _check_choice(p, v, GANG_SCHEDULERS),
                ),
                "priorities": ("priorities", _list_of(_parse_priority)),
                "preemption": ("preemption", _parse_preemption),
                "fairSharing": ("fair_sharing", _check_bool),
                "operators": ("operators", _parse_operators),
                "gpu": ("gpu", _parse_gpu),
                "offload": ("offload", _parse_offload),
                "platformNamespaces": ("platform_namespaces", names),
                "sharedQueueNamespaces": ("shared_queue_namespaces", names),
                "monitoringNamespace": ("monitoring_namespace", check_dns_label),
            }
        ),
        **_parse_defaults(s.key("defaults"), s.get("defaults") or {}),
    )
