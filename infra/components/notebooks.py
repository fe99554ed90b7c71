"""Notebooks: JupyterHub whose profiles submit the notebook pods through each team's queue.

Kueue resolves a ``kueue.x-k8s.io/queue-name`` label against LocalQueues of the pod's own
namespace, and KubeSpawner starts every notebook in the hub's namespace. So this component
adds, in the hub namespace, one LocalQueue per team pointing at that team's ClusterQueue
(part 1's Kueue), and each profile labels its pods with its team's queue: notebook capacity
then counts against the team's quota exactly like its batch jobs. (Kueue admits plain pods
when its ``pod`` integration is enabled for the hub namespace.)

Profiles also let a notebook submit batch work to the team's own LocalQueue: each team's
notebooks run as a ServiceAccount bound (in the team namespace) to a ``notebook-submitter``
Role (the tenancy's member rules without Secrets), and get the team's tracking URI, the
OTLP endpoint, the team namespace and the LocalQueue name as environment variables. Users
log in through OAuth; a hub extraConfig hands each user only the profiles of the teams
whose members include them or one of their groups. A ResourceQuota caps the GPUs all
notebooks may request, and the chart's notebook NetworkPolicy is opened to MLflow, the
collector and the API server.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
from pulumi_kubernetes.apiextensions import CustomResource
from pulumi_kubernetes.core.v1 import Namespace, ResourceQuota, ServiceAccount
from pulumi_kubernetes.helm.v3 import Release
from pulumi_kubernetes.rbac.v1 import Role, RoleBinding

from infra.components.tenancy import MEMBER_RULES
from infra.config.services import (
    ChartPin,
    NotebookProfile,
    NotebooksAuth,
    check_dns_label,
    check_pinned_image,
    restricted_namespace_labels,
    split_image,
)
from infra.versions import pin

QUEUE_LABEL = "kueue.x-k8s.io/queue-name"
SUBMITTER_ROLE = "notebook-submitter"
"""What a notebook's ServiceAccount may do in its team's namespace: the tenancy's member
rules without Secrets (a notebook is a shared, long-lived process; it must not hand the
team's credentials to whoever runs code in it)."""
SUBMITTER_RULES = tuple(
    {**rule, "resources": [r for r in rule["resources"] if r != "secrets"]}
    for rule in MEMBER_RULES
    if [r for r in rule["resources"] if r != "secrets"]
)
TEAM_LABEL = "ai4s.dev/team"
PROFILE_FILTER_KEY = "ai4s-team-profiles"
"""hub.extraConfig entry that narrows the profile list to the user's own teams."""
PROFILE_FILTER = """
import json
_AI4S_TEAM_ACCESS = json.loads({access!r})
_AI4S_PROFILES = list(c.KubeSpawner.profile_list)


def ai4s_team_profiles(spawner):
    # only the profiles of teams whose members include the user or one of their groups
    user = spawner.user
    groups = {{g.name for g in user.groups}}
    teams = {{t for t, who in _AI4S_TEAM_ACCESS.items()
             if user.name in who["users"] or groups & set(who["groups"])}}
    return [p for p in _AI4S_PROFILES
            if p["kubespawner_override"]["extra_labels"]["ai4s.dev/team"] in teams]


c.KubeSpawner.profile_list = ai4s_team_profiles
"""
KUEUE_API_VERSION = "kueue.x-k8s.io/" + pin("kueue-api").version
_CPU = re.compile(r"^([0-9]+(?:\.[0-9]+)?)(m?)$")
_MEMORY = re.compile(r"^([0-9]+)(Mi|Gi)$")


@dataclass(kw_only=True, frozen=True, slots=True)
class NotebooksArgs:
    """Inputs of :class:`Notebooks`."""

    chart: ChartPin
    """jupyterhub/jupyterhub (Zero to JupyterHub) chart."""
    image: str
    """Single-user notebook image, ``repository:tag``."""
    namespace: str
    """Hub namespace (created here); notebooks run here too."""
    profiles: tuple[NotebookProfile, ...]
    """Sizes offered; each team gets every size."""
    team_cluster_queues: Mapping[str, str]
    """Team -> its ClusterQueue (from the Kueue component)."""
    team_local_queues: Mapping[str, str]
    """Team -> the name of its LocalQueue in its own namespace (for submitted jobs)."""
    team_namespaces: Mapping[str, str]
    """Team -> its namespace (for jobs submitted from a notebook)."""
    tracking_uris: pulumi.Input[Mapping[str, str]]
    """Team -> its MLflow tracking URI, set in that team's notebooks."""
    otlp_endpoint: pulumi.Input[str]
    """OTLP/HTTP endpoint set in every notebook."""
    kueue_resources: tuple[pulumi.Resource, ...] = ()
    """Resources that install Kueue and the ClusterQueues; LocalQueues wait for them."""
    team_members: Mapping[str, tuple[str, ...]]
    """Team -> its members (``user:<name>``, ``group:<name>``): who may pick its profiles."""
    oauth: NotebooksAuth
    """How users log in (their name and groups decide their profiles)."""
    gpu_quota: int = 0
    """ResourceQuota of the hub namespace on ``requests.nvidia.com/gpu``."""
    egress: tuple[tuple[str, tuple[int, ...]], ...] = ()
    """(namespace, ports) notebooks may reach besides DNS (tracking, collector)."""
    api_server_cidrs: tuple[str, ...] = ()
    """Kubernetes API server endpoints notebooks may reach on 443/6443."""

    def __post_init__(self) -> None:
        check_dns_label("notebooks.namespace", self.namespace)
        check_pinned_image("notebooks.image", self.image)
        if not self.profiles:
            raise ValueError("notebooks.profiles: at least one profile is required")
        if not set(self.team_cluster_queues) == set(self.team_local_queues) == set(self.team_namespaces):
            raise ValueError("notebooks.team_cluster_queues: need one ClusterQueue and LocalQueue per team")
        for team, queue in self.team_cluster_queues.items():
            check_dns_label("notebooks.team_cluster_queues", team)
            check_dns_label(f"notebooks.team_cluster_queues[{team}]", queue)


def cpu_cores(quantity: str) -> float:
    """Kubernetes CPU quantity -> cores as KubeSpawner wants them (``500m`` -> 0.5)."""
    match = _CPU.match(quantity)
    if not match:
        raise ValueError(f"cpu: {quantity!r} is not accepted; expected cores or millicores like 500m")
    value = float(match.group(1))
    return value / 1000 if match.group(2) else value


def kubespawner_memory(quantity: str) -> str:
    """Kubernetes memory quantity -> KubeSpawner ByteSpecification (binary ``M``/``G``)."""
    match = _MEMORY.match(quantity)
    if not match:
        raise ValueError(f"memory: {quantity!r} is not accepted; expected Mi or Gi, like 4Gi")
    return f"{match.group(1)}{match.group(2)[0]}"


def local_queue_name(team: str) -> str:
    """The LocalQueue, in the hub namespace, that notebook pods of ``team`` wait in."""
    return f"notebooks-{team}"


def service_account_name(team: str) -> str:
    return f"notebook-{team}"


def team_access(team_members: Mapping[str, tuple[str, ...]]) -> dict[str, dict[str, list[str]]]:
    """Team -> the users and groups who may start its notebooks."""
    return {team: {"users": sorted(m.partition(":")[2] for m in members if m.startswith("user:")),
                   "groups": sorted(m.partition(":")[2] for m in members if m.startswith("group:"))}
            for team, members in sorted(team_members.items())}


def hub_values(args: NotebooksArgs) -> dict:
    """hub.*: OAuth login with groups, and the per-team profile filter."""
    auth = args.oauth
    access = team_access(args.team_members)
    return {
        "config": {
            "JupyterHub": {"authenticator_class": "generic-oauth"},
            "GenericOAuthenticator": {
                "client_id": auth.client_id,
                "authorize_url": auth.authorize_url, "token_url": auth.token_url,
                "userdata_url": auth.userdata_url,
                "username_claim": auth.username_claim,
                "scope": ["openid", "profile", "email"],
                # groups from the IdP become JupyterHub groups (user.groups in the filter)
                "manage_groups": True,
                "auth_state_groups_key": f"oauth_user.{auth.groups_claim}",
                "allowed_users": sorted({u for a in access.values() for u in a["users"]}),
                "allowed_groups": sorted({g for a in access.values() for g in a["groups"]}),
            },
        },
        # OAuthenticator reads the client secret from OAUTH_CLIENT_SECRET. Optional, so the
        # hub starts (and the release becomes ready) before the admin adds the Secret; until
        # then logins fail, nothing else does.
        "extraEnv": {"OAUTH_CLIENT_SECRET": {"valueFrom": {"secretKeyRef": {
            "name": auth.client_secret_name, "key": "client-secret", "optional": True}}}},
        "extraConfig": {PROFILE_FILTER_KEY: PROFILE_FILTER.format(access=json.dumps(access, sort_keys=True))},
    }


def singleuser_network_policy(args: NotebooksArgs) -> dict:
    """The chart's notebook NetworkPolicy, opened to what notebooks need: its default
    blocks private addresses, so MLflow, the collector and the API server were unreachable."""
    egress = [{"to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": ns}}}],
               "ports": [{"protocol": "TCP", "port": port} for port in ports]}
              for ns, ports in args.egress]
    if args.api_server_cidrs:
        egress.append({"to": [{"ipBlock": {"cidr": cidr}} for cidr in args.api_server_cidrs],
                       "ports": [{"protocol": "TCP", "port": 443}, {"protocol": "TCP", "port": 6443}]})
    return {"enabled": True, "egress": egress,
            "egressAllowRules": {"privateIPs": False, "nonPrivateIPs": True,
                                 "dnsPortsPrivateIPs": True, "dnsPortsKubeSystemNamespace": True}}


def profile_list(args: NotebooksArgs, env: Mapping[str, str],
                 tracking_uris: Mapping[str, str]) -> list[dict]:
    """KubeSpawner profiles: every size for every team, labelled with the team's queue."""
    profiles = []
    for team in sorted(args.team_cluster_queues):
        for size in args.profiles:
            r = size.resources
            override: dict = {
                "extra_labels": {QUEUE_LABEL: local_queue_name(team), TEAM_LABEL: team},
                "cpu_guarantee": cpu_cores(r.cpu_request), "cpu_limit": cpu_cores(r.cpu_limit),
                "mem_guarantee": kubespawner_memory(r.memory_request),
                "mem_limit": kubespawner_memory(r.memory_limit),
                "service_account": service_account_name(team),
                "automount_service_account_token": True,
                "environment": {**env, "MLFLOW_TRACKING_URI": tracking_uris[team], "AI4S_TEAM": team,
                                "AI4S_TEAM_NAMESPACE": args.team_namespaces[team],
                                "AI4S_LOCAL_QUEUE": args.team_local_queues[team]},
            }
            if size.gpus:
                override["extra_resource_limits"] = {"nvidia.com/gpu": str(size.gpus)}
            profiles.append({
                "display_name": f"{team}: {size.display_name}",
                "slug": f"{team}-{size.slug}",
                "description": f"Counts against team {team}'s quota (queue {local_queue_name(team)}).",
                "kubespawner_override": override,
            })
    return profiles


class Notebooks(pulumi.ComponentResource):
    """JupyterHub with per-team profiles and the LocalQueues they submit to."""

    hub_url: pulumi.Output[str]

    def __init__(self, name: str, args: NotebooksArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("ai4s:notebooks:Notebooks", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        ns = args.namespace
        self.hub_url = pulumi.Output.from_input(f"http://proxy-public.{ns}.svc.cluster.local")
        namespace = Namespace(
            f"{name}-ns",
            metadata={"name": ns, "labels": {**restricted_namespace_labels(enforce="baseline"),
                                             # Opt this namespace in to Kueue's pod integration.
                                             "ai4s.dev/kueue-managed": "true"}},
            opts=child,
        )
        queues = [
            CustomResource(
                f"{name}-queue-{team}",
                api_version=KUEUE_API_VERSION, kind="LocalQueue",
                metadata={"name": local_queue_name(team), "namespace": ns},
                spec={"clusterQueue": cluster_queue},
                opts=pulumi.ResourceOptions(parent=self, depends_on=[namespace, *args.kueue_resources]),
            )
            for team, cluster_queue in sorted(args.team_cluster_queues.items())
        ]
        ResourceQuota(
            f"{name}-quota",
            metadata={"name": "notebook-quota", "namespace": ns},
            # Notebook pods exist (gated) before Kueue admits them, so this cap refuses a
            # GPU notebook up front rather than after admission.
            spec={"hard": {"requests.nvidia.com/gpu": str(args.gpu_quota)}},
            opts=pulumi.ResourceOptions(parent=self, depends_on=[namespace]),
        )
        accounts = []
        for team, team_ns in sorted(args.team_namespaces.items()):
            account = ServiceAccount(
                f"{name}-sa-{team}",
                metadata={"name": service_account_name(team), "namespace": ns},
                automount_service_account_token=False,  # mounted only into that team's notebooks
                opts=pulumi.ResourceOptions(parent=self, depends_on=[namespace]),
            )
            role = Role(
                f"{name}-submitter-{team}",
                metadata={"name": SUBMITTER_ROLE, "namespace": team_ns},
                rules=[dict(r) for r in SUBMITTER_RULES],
                opts=pulumi.ResourceOptions(parent=self, depends_on=list(args.kueue_resources)),
            )
            RoleBinding(
                f"{name}-submit-{team}",
                metadata={"name": f"notebooks-{team}", "namespace": team_ns},
                role_ref={"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": SUBMITTER_ROLE},
                subjects=[{"kind": "ServiceAccount", "name": service_account_name(team), "namespace": ns}],
                opts=pulumi.ResourceOptions(parent=self, depends_on=[account, role, *args.kueue_resources]),
            )
            accounts.append(account)
        image = split_image(args.image)

        def values(resolved: tuple[dict, dict]) -> dict:
            env, tracking_uris = resolved
            return {
                "singleuser": {
                    "image": {"name": image["repository"], "tag": image["tag"]},
                    "profileList": profile_list(args, env, tracking_uris),
                    "storage": {"type": "dynamic", "capacity": "5Gi"},
                    "uid": 1000, "fsGid": 100,
                    "allowPrivilegeEscalation": False,
                    "networkPolicy": singleuser_network_policy(args),
                },
                "hub": hub_values(args),
                # Kueue decides placement; the chart's user scheduler and image pullers
                # (a privileged DaemonSet) are not needed.
                "scheduling": {"userScheduler": {"enabled": False}},
                "prePuller": {"hook": {"enabled": False}, "continuous": {"enabled": False}},
                "proxy": {"service": {"type": "ClusterIP"}},
            }

        env = pulumi.Output.all(args.tracking_uris, args.otlp_endpoint).apply(
            lambda v: ({"OTEL_EXPORTER_OTLP_ENDPOINT": v[1]}, v[0]))
        self.release = Release(
            f"{name}-hub", name="jupyterhub", namespace=ns,
            **args.chart.release_args(),
            values=env.apply(values),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[namespace, *queues, *accounts]),
        )
        self.register_outputs({"hub_url": self.hub_url})
