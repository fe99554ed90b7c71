"""Kueue: quota, fair sharing and all-or-nothing admission for every batch workload.

One ResourceFlavor for CPU capacity and one per GPU model, one ClusterQueue per team in a
shared cohort (nominal quota, borrowing limit, preemption), WorkloadPriorityClasses, and
optionally an `interlink` flavor plus an `offloading` queue for virtual-kubelet nodes that
burst to an HPC site (`Kueue`); a LocalQueue in each team namespace (`LocalQueues`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_kubernetes as k8s
import yaml

from infra.components.operator_release import operator_namespace, pinned_release
from infra.config.compute import GpuModel, Offload, Preemption, Priority, Quota, Team
from infra.versions import pin

API_VERSION = "kueue.x-k8s.io/" + pin("kueue-api").version
CPU_FLAVOR = "cpu"
INTERLINK_FLAVOR = "interlink"
OFFLOAD_QUEUE = "offloading"
GPU_RESOURCE = "nvidia.com/gpu"
PARTITIONING_LABEL = "ai4s.dev/gpu-partitioning"
"""Node label telling whole-GPU nodes (`whole`) from MIG-partitioned ones (`mig`) of a
MIG-capable model, so that the two flavors never select the same node (set by the admin
with the MIG layout, see stacks/README.md)."""
RELEASE_NAME = "kueue"
# Kueue's metrics endpoint: the controller serves /metrics over HTTPS on METRICS_PORT behind
# controller-runtime's authn/authz filter (a bearer token allowed `get` on the non-resource
# URL /metrics), through the Service the chart always creates. The stack pins the Service's
# port here rather than relying on the chart default, so the scrape job can select it.
METRICS_PORT = 8443
METRICS_PORT_NAME = "https"
METRICS_SERVICE = f"{RELEASE_NAME}-controller-manager-metrics-service"
"""The chart's `<fullname>-controller-manager-metrics-service`; fullname is the release name
when that contains the chart name."""
# Job frameworks Kueue manages; names from Kueue's Configuration API (integrations.frameworks).
# Kueue defers a framework whose CRD is not served yet (jobframework.WaitForAPI), so MPIJob
# can stay enabled on stacks without the MPI Operator: MPI runs through Trainer's runtime.
INTEGRATIONS = (
    "batch/job",
    "jobset.x-k8s.io/jobset",
    "kubeflow.org/mpijob",
    "ray.io/rayjob",
    "ray.io/raycluster",
    "trainer.kubeflow.org/trainjob",
)
POD_INTEGRATION = "pod"
"""Plain pods (notebook servers); enabled only for the shared queue namespaces."""
FAIR_SHARING_STRATEGIES = ("LessThanOrEqualToFinalShare", "LessThanInitialShare")


@dataclass(kw_only=True, frozen=True, slots=True)
class KueueArgs:
    """Inputs of the Kueue component."""

    namespace: str = "kueue-system"
    """Namespace of the Kueue controller."""
    cohort: str
    """Cohort shared by every team ClusterQueue."""
    teams: tuple[Team, ...]
    """Teams: one ClusterQueue and one LocalQueue each."""
    priorities: tuple[Priority, ...] = ()
    """WorkloadPriorityClasses."""
    preemption: Preemption = field(default_factory=Preemption)
    """Preemption policy of every team ClusterQueue."""
    gpu_models: tuple[GpuModel, ...] = ()
    """GPU models: a ResourceFlavor each (and MIG resources where profiles are set)."""
    shared_namespaces: tuple[str, ...] = ()
    """Namespaces besides the team's own whose LocalQueues may use every team queue
    (e.g. the notebooks namespace, where each user's server runs on their team's quota)."""
    offload: Offload | None = None
    """Offload flavor and queue, or None."""
    fair_sharing: bool = True
    """Fair sharing across the cohort (Kueue's fairSharing preemption strategies)."""
    dra_device_class: str = ""
    """With DRA: the GPU DeviceClass whose claims count as nvidia.com/gpu in every quota."""
    wait_for_pods_ready_timeout: str = "5m"
    """Evict and requeue a workload whose pods are not all ready by then (gang semantics)."""


def manager_config(args: KueueArgs) -> str:
    """Kueue's controller Configuration (config.kueue.x-k8s.io/v1beta2) as YAML."""
    config = {
        "apiVersion": "config.kueue.x-k8s.io/v1beta2",
        "kind": "Configuration",
        "health": {"healthProbeBindAddress": ":8081"},
        "metrics": {"bindAddress": f":{METRICS_PORT}"},
        "webhook": {"port": 9443},
        "leaderElection": {"leaderElect": True, "resourceName": "c1f6bfd2.kueue.x-k8s.io"},
        # Presence of waitForPodsReady turns on all-or-nothing admission: a workload whose
        # pods do not all start in time releases its quota instead of holding it half-run.
        # blockAdmission stays off: it would hold every ClusterQueue in the cluster until
        # the last admitted workload's pods are ready, serialising all teams' admission.
        "waitForPodsReady": {
            "timeout": args.wait_for_pods_ready_timeout,
            "blockAdmission": False,
            "requeuingStrategy": {"timestamp": "Eviction", "backoffLimitCount": 5},
        },
        "integrations": {"frameworks": list(INTEGRATIONS)},
    }
    if args.shared_namespaces:
        # Notebook servers are plain pods: without the pod integration their queue label is
        # ignored and they bypass quota. Pod-based integrations manage only the namespaces
        # this selector matches, so team namespaces are untouched.
        config["integrations"]["frameworks"].append(POD_INTEGRATION)
        config["managedJobsNamespaceSelector"] = {"matchExpressions": [{
            "key": "kubernetes.io/metadata.name", "operator": "In",
            "values": sorted(args.shared_namespaces)}]}
    if args.dra_device_class:
        # Kueue's DRA integration (alpha in v0.19) counts ResourceClaims of this class as
        # nvidia.com/gpu, so ClusterQueue quotas on GPUs hold under DRA too.
        config["featureGates"] = {"KueueDRAIntegration": True}
        config["resources"] = {"deviceClassMappings": [
            {"name": GPU_RESOURCE, "deviceClassNames": [args.dra_device_class]}]}
    if args.fair_sharing:
        config["fairSharing"] = {"preemptionStrategies": list(FAIR_SHARING_STRATEGIES)}
    return yaml.safe_dump(config, sort_keys=False)


def flavor_specs(args: KueueArgs) -> dict[str, dict]:
    """ResourceFlavor name -> spec. The CPU flavor carries no node labels so that it can
    combine with a GPU flavor in one pod's node selector."""
    flavors: dict[str, dict] = {CPU_FLAVOR: {}}
    for m in args.gpu_models:
        spec = {
            "nodeLabels": {"nvidia.com/gpu.product": m.product},
            "tolerations": [{"key": GPU_RESOURCE, "operator": "Exists", "effect": "NoSchedule"}],
        }
        flavors[gpu_flavor(m)] = spec
        if m.mig_profiles:
            # A node of this model is either whole or MIG-partitioned: the two flavors select
            # disjoint nodes, or Kueue would count one GPU's capacity twice.
            flavors[gpu_flavor(m)] = _with_label(spec, PARTITIONING_LABEL, "whole")
            flavors[mig_flavor(m)] = _with_label(spec, PARTITIONING_LABEL, "mig")
    if args.offload is not None:
        flavors[INTERLINK_FLAVOR] = {
            "nodeLabels": dict(args.offload.node_labels),
            "tolerations": [
                {"key": args.offload.taint_key, "operator": "Exists", "effect": "NoSchedule"}
            ],
        }
    return flavors


def _with_label(spec: dict, key: str, value: str) -> dict:
    return {**spec, "nodeLabels": {**spec["nodeLabels"], key: value}}


def gpu_flavor(model: GpuModel) -> str:
    return f"gpu-{model.model}"


def mig_flavor(model: GpuModel) -> str:
    return f"gpu-{model.model}-mig"


def resource_groups(
    quota: Quota, borrow: Quota | None, gpu_models: tuple[GpuModel, ...]
) -> list[dict]:
    """Kueue resourceGroups for one queue: CPU/memory, whole GPUs, and MIG slices."""

    def entry(resource: str, nominal: str | int, limit: str | int | None) -> dict:
        item = {"name": resource, "nominalQuota": nominal}
        if limit is not None:
            item["borrowingLimit"] = limit
        return item

    groups = [
        {
            "coveredResources": ["cpu", "memory"],
            "flavors": [
                {
                    "name": CPU_FLAVOR,
                    "resources": [
                        entry("cpu", quota.cpu, borrow.cpu if borrow else None),
                        entry("memory", quota.memory, borrow.memory if borrow else None),
                    ],
                }
            ],
        }
    ]
    if gpu_models:
        groups.append(
            {
                "coveredResources": [GPU_RESOURCE],
                "flavors": [
                    {
                        "name": gpu_flavor(m),
                        "resources": [
                            entry(
                                GPU_RESOURCE,
                                quota.gpus.get(m.model, 0),
                                borrow.gpus.get(m.model, 0) if borrow else None,
                            )
                        ],
                    }
                    for m in gpu_models
                ],
            }
        )
    mig_models = [m for m in gpu_models if m.mig_profiles]
    # Kueue needs every flavor of a group to list every covered resource; a model
    # without a profile gets a zero quota for it.
    profiles = sorted({p for m in mig_models for p in m.mig_profiles})
    if mig_models:
        groups.append(
            {
                "coveredResources": [f"nvidia.com/mig-{p}" for p in profiles],
                "flavors": [
                    {
                        "name": mig_flavor(m),
                        "resources": [
                            entry(
                                f"nvidia.com/mig-{p}",
                                quota.mig.get(m.model, {}).get(p, 0),
                                borrow.mig.get(m.model, {}).get(p, 0) if borrow else None,
                            )
                            for p in profiles
                        ],
                    }
                    for m in mig_models
                ],
            }
        )
    return groups


def cluster_queue_spec(args: KueueArgs, team: Team) -> dict:
    p = args.preemption
    return {
        "cohortName": args.cohort,
        "namespaceSelector": {
            "matchExpressions": [
                {
                    "key": "kubernetes.io/metadata.name",
                    "operator": "In",
                    "values": [team.namespace, *sorted(args.shared_namespaces)],
                }
            ]
        },
        "queueingStrategy": "BestEffortFIFO",
        "resourceGroups": resource_groups(team.quota, team.borrowing_limit, args.gpu_models),
        "preemption": {
            "withinClusterQueue": p.within_cluster_queue,
            "reclaimWithinCohort": p.reclaim_within_cohort,
            "borrowWithinCohort": {"policy": p.borrow_within_cohort},
        },
    }


class TopLevelCustomResource(k8s.apiextensions.CustomResource):
    """A custom resource whose fields sit beside metadata instead of under `spec`
    (WorkloadPriorityClass has top-level `value`); `CustomResource` only accepts `spec`."""

    def __init__(self, name: str, obj: dict, opts: pulumi.ResourceOptions):
        opts = pulumi.ResourceOptions.merge(
            opts, pulumi.ResourceOptions(version=k8s._utilities.get_version())
        )  # same provider plugin as CustomResource
        pulumi.CustomResource.__init__(
            self, f"kubernetes:{obj['apiVersion']}:{obj['kind']}", name, dict(obj), opts
        )


class Kueue(pulumi.ComponentResource):
    """Kueue controller (Helm) and the queueing objects of every team."""

    def __init__(self, name: str, args: KueueArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("ai4s:kueue:Kueue", name, None, opts)
        self.namespace_name = args.namespace
        self.namespace = operator_namespace(self, name, args.namespace, "restricted")
        image = pin("kueue-image")
        self.release = pinned_release(
            self,
            name,
            key="kueue",
            release_name=RELEASE_NAME,
            namespace=args.namespace,
            values={
                "controllerManager": {
                    "manager": {
                        "image": {
                            "repository": f"{image.repository}/{image.name}",
                            "tag": image.version,
                            "pullPolicy": "IfNotPresent",
                        },
                        "resources": {
                            "requests": {"cpu": "100m", "memory": "256Mi"},
                            "limits": {"cpu": "1", "memory": "1Gi"},
                        },
                    }
                },
                "managerConfig": {"controllerManagerConfigYaml": manager_config(args)},
                "metricsService": {
                    "type": "ClusterIP",
                    "ports": [{"name": METRICS_PORT_NAME, "port": METRICS_PORT,
                               "protocol": "TCP", "targetPort": METRICS_PORT}],
                },
                # The platform's Prometheus scrapes METRICS_SERVICE with its own job (see
                # infra.components.observability.scrape_configs). The chart's enablePrometheus would add
                # a ServiceMonitor, which needs kube-prometheus-stack's CRDs (installed by the
                # services block, after this release) and which that Prometheus, selecting
                # every ServiceMonitor, would scrape a second time; its Role binds
                # kube-prometheus's `prometheus-k8s` account, which this stack does not have.
                "enablePrometheus": False,
            },
            depends_on=[self.namespace],
        )
        # Every custom resource waits for the release that installs its CRD and webhook;
        # Pulumi destroys in reverse, so CRs go before the controller that finalizes them.
        after_crds = pulumi.ResourceOptions(parent=self, depends_on=[self.release])

        self.flavors = {
            fname: k8s.apiextensions.CustomResource(
                f"{name}-flavor-{fname}",
                api_version=API_VERSION,
                kind="ResourceFlavor",
                metadata={"name": fname},
                spec=spec,
                opts=after_crds,
            )
            for fname, spec in flavor_specs(args).items()
        }
        self.priorities = [
            TopLevelCustomResource(
                f"{name}-priority-{p.name}",
                {
                    "apiVersion": API_VERSION,
                    "kind": "WorkloadPriorityClass",
                    "metadata": {"name": p.name},
                    "value": p.value,
                    "description": p.description,
                },
                opts=after_crds,
            )
            for p in args.priorities
        ]
        flavors_ready = pulumi.ResourceOptions(
            parent=self, depends_on=[self.release, *self.flavors.values()]
        )
        self.cluster_queues = {
            t.name: k8s.apiextensions.CustomResource(
                f"{name}-cq-{t.name}",
                api_version=API_VERSION,
                kind="ClusterQueue",
                metadata={"name": t.name},
                spec=cluster_queue_spec(args, t),
                opts=flavors_ready,
            )
            for t in args.teams
        }
        self.offload_queue = self._offload(name, args, flavors_ready)
        self.register_outputs(
            {
                "namespace": args.namespace,
                "cluster_queues": sorted(self.cluster_queues),
                "flavors": sorted(self.flavors),
            }
        )

    def _offload(self, name: str, args: KueueArgs, flavors_ready: pulumi.ResourceOptions):
        if args.offload is None:
            return None
        return k8s.apiextensions.CustomResource(
            f"{name}-cq-{OFFLOAD_QUEUE}",
            api_version=API_VERSION,
            kind="ClusterQueue",
            metadata={"name": OFFLOAD_QUEUE},
            spec={
                # Not in the cohort: remote capacity is never lent to on-site queues.
                "namespaceSelector": {
                    "matchExpressions": [
                        {
                            "key": "kubernetes.io/metadata.name",
                            "operator": "In",
                            "values": sorted(
                                t.namespace for t in offload_teams(args.teams, args.offload)
                            ),
                        }
                    ]
                },
                "queueingStrategy": "BestEffortFIFO",
                "resourceGroups": [
                    {
                        "coveredResources": ["cpu", "memory"],
                        "flavors": [
                            {
                                "name": INTERLINK_FLAVOR,
                                "resources": [
                                    {"name": "cpu", "nominalQuota": args.offload.quota.cpu},
                                    {"name": "memory", "nominalQuota": args.offload.quota.memory},
                                ],
                            }
                        ],
                    }
                ],
            },
            opts=flavors_ready,
        )


def offload_teams(teams: tuple[Team, ...], offload: Offload) -> list[Team]:
    """Teams allowed to offload (all when the offload config names none)."""
    return [t for t in teams if not offload.teams or t.name in offload.teams]


@dataclass(kw_only=True, frozen=True, slots=True)
class LocalQueuesArgs:
    """Inputs of the LocalQueues component."""

    teams: tuple[Team, ...]
    """One LocalQueue named after the team in each team namespace."""
    offload: Offload | None = None
    """When set, an `offloading` LocalQueue in each namespace allowed to offload."""


class LocalQueues(pulumi.ComponentResource):
    """The team-side half of Kueue: a LocalQueue per team namespace.

    Separate from `Kueue` so that it can be created after the team namespaces, which in
    turn are created after every operator: `pulumi destroy` then removes namespaces (and
    the jobs, RayClusters and TrainJobs in them) while the controllers that clear their
    finalizers still run. The caller passes the namespaces and ClusterQueues in
    `opts.depends_on`.
    """

    def __init__(
        self, name: str, args: LocalQueuesArgs, opts: pulumi.ResourceOptions | None = None
    ):
        super().__init__("ai4s:kueue:LocalQueues", name, None, opts)
        # the engine orders children after their parent's dependencies anyway; naming them
        # on each queue keeps the order visible in the rendered graph
        child = pulumi.ResourceOptions(parent=self, depends_on=(opts.depends_on if opts else None))
        queues = [(t, t.name, t.name) for t in args.teams]
        if args.offload is not None:
            queues += [
                (t, OFFLOAD_QUEUE, OFFLOAD_QUEUE) for t in offload_teams(args.teams, args.offload)
            ]
        self.queues = {
            f"{team.namespace}/{lq}": k8s.apiextensions.CustomResource(
                f"{name}-{team.name}" + ("" if lq == team.name else f"-{lq}"),
                api_version=API_VERSION,
                kind="LocalQueue",
                metadata={"name": lq, "namespace": team.namespace},
                spec={"clusterQueue": cq},
                opts=child,
            )
            for team, lq, cq in queues
        }
        self.register_outputs({"local_queues": sorted(self.queues)})
