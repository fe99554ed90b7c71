"""Tenancy: one namespace per team, locked down by default.

Each team namespace enforces Pod Security Standard "restricted", carries a ResourceQuota
(the hard ceiling even for pods Kueue does not manage) and a LimitRange (defaults for
containers that set no resources), a Role for team members, and NetworkPolicies that
deny everything except: traffic inside the namespace (distributed training, MPI),
DNS, egress to platform namespaces (tracking, storage, telemetry) and scraping by the
monitoring namespace.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

import pulumi
import pulumi_kubernetes as k8s
from kubernetes.utils import parse_quantity

from infra.config.compute import Offload, Quota, Team
from infra.verify.policy import PSS_ENFORCE, TENANT_LABEL

GPU_CLAIM_TEMPLATE = "gpu"
"""Under DRA, pods ask for a GPU with `resourceClaims: [{name: gpu, resourceClaimTemplateName: gpu}]`."""
VOLCANO_QUEUE_ANNOTATION = "scheduling.volcano.sh/queue-name"
"""On a namespace: Volcano's PodGroup mutating webhook moves PodGroups created there
from the `default` queue to this one (Trainer creates them without a queue)."""

# What team members may do in their namespace: run batch work through the operators the
# platform installs, read what runs, never touch quotas, policies or RBAC.
READ = ["get", "list", "watch"]
WRITE = [*READ, "create", "update", "patch", "delete"]
MEMBER_RULES = tuple(
    {"apiGroups": [group], "resources": resources, "verbs": verbs}
    for group, resources, verbs in (
        ("", ["pods", "pods/log", "services", "events"], READ),
        ("", ["configmaps", "persistentvolumeclaims", "secrets"], WRITE),
        ("batch", ["jobs"], WRITE),
        ("jobset.x-k8s.io", ["jobsets"], WRITE),
        ("trainer.kubeflow.org", ["trainjobs"], WRITE),
        ("kubeflow.org", ["mpijobs"], WRITE),
        ("ray.io", ["rayjobs", "rayclusters"], WRITE),
        ("kueue.x-k8s.io", ["localqueues", "workloads"], READ),
        ("resource.k8s.io", ["resourceclaims", "resourceclaimtemplates"], READ),
    )
)


@dataclass(kw_only=True, frozen=True, slots=True)
class TenancyArgs:
    """Inputs of the Tenancy component."""

    teams: tuple[Team, ...]
    """Teams; one namespace each."""
    platform_namespaces: tuple[str, ...] = ()
    """Namespaces tenant pods may send traffic to."""
    monitoring_namespace: str = "monitoring"
    """Namespace allowed to scrape tenant pods."""
    default_request: Mapping[str, str]
    """LimitRange default requests (cpu, memory)."""
    default_limit: Mapping[str, str]
    """LimitRange default limits (cpu, memory)."""
    gpu_resources: tuple[str, ...] = ()
    """Extended resources on the cluster (nvidia.com/gpu, MIG slices); each is capped by
    the ResourceQuota, at zero for a team without quota for it."""
    offload: Offload | None = None
    """The offload queue: what it may admit in a team's namespace adds to that team's quota."""
    volcano_queues: bool = False
    """Annotate each namespace with its team's Volcano queue (PodGroups default to it)."""
    gpu_claim_device_class: str = ""
    """With DRA: a ResourceClaimTemplate `gpu` (one GPU of this DeviceClass) per namespace."""


def _totals(q: Quota, resources: tuple[str, ...]) -> dict[str, Decimal]:
    totals = {"cpu": parse_quantity(q.cpu), "memory": parse_quantity(q.memory)}
    totals.update({r: Decimal(0) for r in resources})
    for n in q.gpus.values():
        totals["nvidia.com/gpu"] = totals.get("nvidia.com/gpu", Decimal(0)) + n
    for profiles in q.mig.values():
        for p, n in profiles.items():
            key = f"nvidia.com/mig-{p}"
            totals[key] = totals.get(key, Decimal(0)) + n
    return totals


def _format(resource: str, value: Decimal) -> str:
    if resource == "cpu" and value != value.to_integral_value():
        return f"{int(value * 1000)}m"
    return str(int(value))


def team_ceiling(
    team: Team, teams: tuple[Team, ...], resources: tuple[str, ...] = ()
) -> dict[str, str]:
    """The most Kueue can ever admit for `team`, per resource: nominal quota plus the
    borrowing limit, or the whole cohort when borrowing is unlimited."""
    own = _totals(team.quota, resources)
    if team.borrowing_limit is not None:
        borrow = _totals(team.borrowing_limit, resources)
        ceiling = {r: own[r] + borrow.get(r, Decimal(0)) for r in own}
    else:
        ceiling = {}
        for t in teams:
            for r, v in _totals(t.quota, resources).items():
                ceiling[r] = ceiling.get(r, Decimal(0)) + v
    return {r: _format(r, v) for r, v in sorted(ceiling.items())}


def quota_hard(team: Team, args: TenancyArgs) -> dict[str, str]:
    """ResourceQuota: everything Kueue may admit in the namespace (the team ceiling, plus
    the offload queue where the team may offload). It is the backstop for pods that bypass
    Kueue, not a second scheduler, so it never admits less than Kueue would: Kueue admits
    on requests, so only requests are capped (a cap on limits would reject pods of
    admitted jobs, which Kueue then requeues in a loop)."""
    ceiling = {r: parse_quantity(v) for r, v in
               team_ceiling(team, args.teams, args.gpu_resources).items()}
    if args.offload is not None and (not args.offload.teams or team.name in args.offload.teams):
        for r in ("cpu", "memory"):
            ceiling[r] += parse_quantity(getattr(args.offload.quota, r))
    return {f"requests.{r}": _format(r, v) for r, v in sorted(ceiling.items())}


def network_policies(team: Team, args: TenancyArgs) -> dict[str, dict]:
    """NetworkPolicy name -> spec for one team namespace."""
    ns_selector = "kubernetes.io/metadata.name"
    policies = {
        "default-deny": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]},
        "allow-same-namespace": {
            "podSelector": {},
            "policyTypes": ["Ingress", "Egress"],
            "ingress": [{"from": [{"podSelector": {}}]}],
            "egress": [{"to": [{"podSelector": {}}]}],
        },
        "allow-dns": {
            "podSelector": {},
            "policyTypes": ["Egress"],
            "egress": [
                {
                    "to": [
                        {
                            "namespaceSelector": {"matchLabels": {ns_selector: "kube-system"}},
                            "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
                        }
                    ],
                    "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
                }
            ],
        },
        "allow-monitoring-scrape": {
            "podSelector": {},
            "policyTypes": ["Ingress"],
            "ingress": [
                {
                    "from": [
                        {
                            "namespaceSelector": {
                                "matchLabels": {ns_selector: args.monitoring_namespace}
                            }
                        }
                    ]
                }
            ],
        },
    }
    if args.platform_namespaces:
        policies["allow-platform-egress"] = {
            "podSelector": {},
            "policyTypes": ["Egress"],
            "egress": [
                {
                    "to": [
                        {
                            "namespaceSelector": {
                                "matchExpressions": [
                                    {
                                        "key": ns_selector,
                                        "operator": "In",
                                        "values": sorted(args.platform_namespaces),
                                    }
                                ]
                            }
                        }
                    ]
                }
            ],
        }
    return policies


class Tenancy(pulumi.ComponentResource):
    """Team namespaces with quota, defaults, RBAC and default-deny networking."""

    def __init__(self, name: str, args: TenancyArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("ai4s:tenancy:Tenancy", name, None, opts)
        # what the caller makes the namespaces wait for (the operators, see infra.components.compute)
        after = pulumi.ResourceOptions(parent=self, depends_on=(opts.depends_on if opts else None))
        self.namespaces: dict[str, k8s.core.v1.Namespace] = {}
        for team in args.teams:
            prefix = f"{name}-{team.name}"
            ns = k8s.core.v1.Namespace(
                f"{prefix}-ns",
                metadata={
                    "name": team.namespace,
                    "labels": {
                        TENANT_LABEL: "true",
                        "ai4s.dev/team": team.name,
                        PSS_ENFORCE: "restricted",
                        "pod-security.kubernetes.io/enforce-version": "latest",
                        "pod-security.kubernetes.io/warn": "restricted",
                        "pod-security.kubernetes.io/audit": "restricted",
                    },
                    **({"annotations": {VOLCANO_QUEUE_ANNOTATION: team.name}}
                       if args.volcano_queues else {}),
                },
                opts=after,
            )
            self.namespaces[team.name] = ns
            in_ns = pulumi.ResourceOptions(parent=self, depends_on=[ns])
            k8s.core.v1.ResourceQuota(
                f"{prefix}-quota",
                metadata={"name": "team-quota", "namespace": team.namespace},
                spec={"hard": quota_hard(team, args)},
                opts=in_ns,
            )
            k8s.core.v1.LimitRange(
                f"{prefix}-limits",
                metadata={"name": "container-defaults", "namespace": team.namespace},
                spec={
                    "limits": [
                        {
                            "type": "Container",
                            "defaultRequest": dict(args.default_request),
                            "default": dict(args.default_limit),
                        }
                    ]
                },
                opts=in_ns,
            )
            for pname, spec in network_policies(team, args).items():
                k8s.networking.v1.NetworkPolicy(
                    f"{prefix}-netpol-{pname}",
                    metadata={"name": pname, "namespace": team.namespace},
                    spec=spec,
                    opts=in_ns,
                )
            if args.gpu_claim_device_class:
                k8s.resource.v1.ResourceClaimTemplate(
                    f"{prefix}-gpu-claim",
                    metadata={"name": GPU_CLAIM_TEMPLATE, "namespace": team.namespace},
                    spec={"spec": {"devices": {"requests": [{"name": "gpu", "exactly": {
                        "deviceClassName": args.gpu_claim_device_class,
                        "allocationMode": "ExactCount", "count": 1}}]}}},
                    opts=in_ns,
                )
            role = k8s.rbac.v1.Role(
                f"{prefix}-member-role",
                metadata={"name": "team-member", "namespace": team.namespace},
                rules=[dict(r) for r in MEMBER_RULES],
                opts=in_ns,
            )
            if team.members:
                k8s.rbac.v1.RoleBinding(
                    f"{prefix}-member-binding",
                    metadata={"name": "team-members", "namespace": team.namespace},
                    role_ref={
                        "apiGroup": "rbac.authorization.k8s.io",
                        "kind": "Role",
                        "name": "team-member",
                    },
                    subjects=[_subject(m) for m in team.members],
                    opts=pulumi.ResourceOptions(parent=self, depends_on=[ns, role]),
                )
        self.register_outputs({"namespaces": [t.namespace for t in args.teams]})


def _subject(member: str) -> dict[str, str]:
    kind, _, who = member.partition(":")
    return {"apiGroup": "rbac.authorization.k8s.io", "kind": kind.capitalize(), "name": who}
