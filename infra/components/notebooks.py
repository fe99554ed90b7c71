"""Notebooks: JupyterHub whose profiles submit the notebook pods through each team's queue.

Kueue resolves a ``kueue.x-k8s.io/queue-name`` label against LocalQueues of the pod's own
namespace, and KubeSpawner starts every notebook in the hub's namespace. So this component
adds, in the hub namespace, one LocalQueue per team pointing at that team's ClusterQueue
(part 1's Kueue), and each profile labels its pods with its team's queue: notebook capacity
then counts against the team's quota exactly like its batch jobs. (Kueue admits plain pods
when its ``pod`` integration is enabled for the hub namespace.)

Profiles also let a notebook submit batch work to the team's own LocalQueue: each team's
notebooks run as a ServiceAccount bound (in the team namespace) to the tenancy's
``team-member`` Role, and get the tracking URI, the OTLP endpoint, the team namespace and
the LocalQueue name as environment variables.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
from pulumi_kubernetes.apiextensions import CustomResource
from pulumi_kubernetes.core.v1 import Namespace, ServiceAccount
from pulumi_kubernetes.helm.v3 import Release
from pulumi_kubernetes.rbac.v1 import RoleBinding

from infra.config.services import (
    ChartPin,
    NotebookProfile,
    check_dns_label,
    check_pinned_image,
    restricted_namespace_labels,
    split_image,
)
from infra.versions import pin

QUEUE_LABEL = "kueue.x-k8s.io/queue-name"
TEAM_MEMBER_ROLE = "team-member"
"""The Role part 1's tenancy creates in every team namespace (jobs, Kueue workloads, ...)."""
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


def profile_list(args: NotebooksArgs, env: Mapping[str, str],
                 tracking_uris: Mapping[str, str]) -> list[dict]:
    """KubeSpawner profiles: every size for every team, labelled with the team's queue."""
    profiles = []
    for team in sorted(args.team_cluster_queues):
        for size in args.profiles:
            r = size.resources
            override: dict = {
                "extra_labels": {QUEUE_LABEL: local_queue_name(team), "ai4s.dev/team": team},
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
        accounts = []
        for team, team_ns in sorted(args.team_namespaces.items()):
            account = ServiceAccount(
                f"{name}-sa-{team}",
                metadata={"name": service_account_name(team), "namespace": ns},
                automount_service_account_token=False,  # mounted only into that team's notebooks
                opts=pulumi.ResourceOptions(parent=self, depends_on=[namespace]),
            )
            RoleBinding(
                f"{name}-submit-{team}",
                metadata={"name": f"notebooks-{team}", "namespace": team_ns},
                role_ref={"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": TEAM_MEMBER_ROLE},
                subjects=[{"kind": "ServiceAccount", "name": service_account_name(team), "namespace": ns}],
                opts=pulumi.ResourceOptions(parent=self, depends_on=[account, *args.kueue_resources]),
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
                },
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
