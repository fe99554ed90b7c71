"""Wire the platform services of a stack: storage, tracking, observability, serving, notebooks.

The stack programs call :func:`build_services` once, after the compute block, with the
validated :class:`~infra.config.services.ServicesConfig` and what the compute block made
(team namespaces, ClusterQueues, the resources later ones must wait for). It returns the
stack outputs keyed by the constants of :mod:`infra.outputs`. Pinned versions come from the
one table in :mod:`infra.versions`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pulumi
from pulumi_kubernetes.core.v1 import Namespace

from infra import outputs
from infra.components.compute import Compute
from infra.components.notebooks import Notebooks, NotebooksArgs
from infra.components.observability import (
    OTLP_GRPC_PORT,
    OTLP_HTTP_PORT,
    Observability,
    ObservabilityArgs,
)
from infra.components.serving import Serving, ServingAccess, ServingAccessArgs, ServingArgs
from infra.components.storage import WORKLOAD_SECRET_NAME, ObjectStorage, ObjectStorageArgs
from infra.components.tracking import (
    BACKUP_PREFIX,
    MLFLOW_PORT,
    Tracking,
    TrackingArgs,
    artifacts_prefix,
)
from infra.config.compute import ComputeConfig
from infra.config.services import ChartPin, Resources, ServicesConfig, restricted_namespace_labels
from infra.versions import pin

BACKUP_USER = "postgres-backup"
"""The MinIO user CloudNativePG archives WAL and base backups with."""


def mlflow_user(team: str) -> str:
    """The MinIO user of a team's MLflow server."""
    return f"mlflow-{team}"


ARTIFACTS_BUCKET = "artifacts"


def chart_pin(key: str) -> ChartPin:
    """The versions-table row ``key`` as a :class:`ChartPin`."""
    row = pin(key)
    if row.kind != "helm-chart":
        raise ValueError(f"{key}: versions row is a {row.kind}, not a helm-chart")
    if row.repository.startswith("oci://"):
        return ChartPin(chart=f"{row.repository}/{row.name}", version=row.version)
    return ChartPin(chart=row.name, version=row.version, repo=row.repository)


def check_reachable(cfg: ServicesConfig, *, platform_namespaces: Sequence[str],
                    monitoring_namespace: str) -> None:
    """Team namespaces are default-deny (part 1's tenancy): they reach only the platform
    namespaces and are scraped only from the monitoring namespace. Fail before declaring
    anything if a service would be unreachable."""
    for key, ns in (("services.storage.namespace", cfg.storage.namespace),
                    ("services.tracking.namespace", cfg.tracking.namespace),
                    ("services.observability.collector_namespace", cfg.observability.collector_namespace)):
        if ns not in platform_namespaces:
            raise ValueError(f"{key}: {ns!r} is not in compute.platformNamespaces "
                             f"{sorted(platform_namespaces)}, so team workloads could not reach it")
    if cfg.observability.namespace != monitoring_namespace:
        raise ValueError(f"services.observability.namespace: {cfg.observability.namespace!r} must equal "
                         f"compute.monitoringNamespace {monitoring_namespace!r} (teams admit scrapes from it)")


def shared_namespaces(name: str, cfg: ServicesConfig,
                      opts: pulumi.ResourceOptions | None = None) -> dict[str, pulumi.Resource]:
    """The namespaces storage, tracking and observability live in (baseline enforced:
    upstream chart pods do not set every restricted field; warn/audit show what is missing)."""
    return {
        ns: Namespace(f"{name}-ns-{ns}",
                      metadata={"name": ns, "labels": restricted_namespace_labels(enforce="baseline")},
                      opts=opts)
        for ns in cfg.shared_namespaces()
    }


def serving_operators(name: str, cfg: ServicesConfig,
                      opts: pulumi.ResourceOptions | None = None) -> Serving:
    """cert-manager and KServe, declared before the team namespaces (see infra.program)."""
    return Serving(f"{name}-serving", ServingArgs(
        cert_manager_chart=chart_pin("cert-manager"), kserve_crd_chart=chart_pin("kserve-crd"),
        kserve_chart=chart_pin("kserve"), namespace=cfg.serving.namespace,
        cert_manager_namespace=cfg.serving.cert_manager_namespace,
        ingress_domain=cfg.serving.ingress_domain, ingress_class=cfg.serving.ingress_class,
    ), opts)


def build_services(
    name: str,
    cfg: ServicesConfig,
    *,
    team_namespaces: Mapping[str, str],
    team_cluster_queues: Mapping[str, str],
    team_local_queues: Mapping[str, str],
    kueue_namespace: str,
    platform_namespaces: Sequence[str],
    monitoring_namespace: str,
    gpu: bool,
    team_members: Mapping[str, tuple[str, ...]] | None = None,
    compute: Sequence[pulumi.Resource] = (),
    serving: Serving | None = None,
    opts: pulumi.ResourceOptions | None = None,
) -> dict[str, pulumi.Input]:
    """Declare every service component; return the stack outputs they provide."""
    check_reachable(cfg, platform_namespaces=platform_namespaces, monitoring_namespace=monitoring_namespace)
    namespaces = shared_namespaces(name, cfg, opts)
    storage = ObjectStorage(f"{name}-storage", ObjectStorageArgs(
        chart=chart_pin("minio"), image=pin("minio-image").image, mc_image=pin("minio-mc-image").image,
        namespace=cfg.storage.namespace, volume_size=cfg.storage.volume_size,
        storage_class=cfg.storage.storage_class, buckets=cfg.storage.buckets,
        resources=cfg.storage.resources, team_namespaces=dict(team_namespaces),
        service_users={mlflow_user(t): (cfg.tracking.namespace, ARTIFACTS_BUCKET, artifacts_prefix(t))
                       for t in team_namespaces}
                      | {BACKUP_USER: (cfg.tracking.namespace, ARTIFACTS_BUCKET, BACKUP_PREFIX)},
        namespace_ready=(namespaces[cfg.storage.namespace],), namespace_resources=tuple(compute),
        protect=cfg.protect_data,
    ), opts)

    clients = (*team_namespaces.values(), cfg.notebooks.namespace, cfg.observability.namespace)
    tracking = Tracking(f"{name}-tracking", TrackingArgs(
        operator_chart=chart_pin("cloudnative-pg"), operator_namespace="cnpg-system",
        postgres_image=pin("postgres-image").image, mlflow_image=pin("mlflow-image").image,
        namespace=cfg.tracking.namespace, postgres_instances=cfg.tracking.postgres_instances,
        postgres_volume_size=cfg.tracking.postgres_volume_size, replicas=cfg.tracking.replicas,
        resources=cfg.tracking.resources, s3_endpoint=storage.endpoint,
        artifacts_bucket=ARTIFACTS_BUCKET, team_namespaces=dict(team_namespaces),
        team_s3_credentials={t: storage.service_credentials[mlflow_user(t)] for t in team_namespaces},
        notebooks_namespace=cfg.notebooks.namespace if cfg.notebooks.enabled else "",
        monitoring_namespace=cfg.observability.namespace, depends_on=(storage.release,),
        backup_s3_credentials=storage.service_credentials[BACKUP_USER],
        namespace_ready=(namespaces[cfg.tracking.namespace],), protect=cfg.protect_data,
    ), opts)

    obs_cfg = cfg.observability
    observability = Observability(f"{name}-obs", ObservabilityArgs(
        collector_chart=chart_pin("otel-collector"), collector_image=pin("otel-collector-image").image,
        prometheus_chart=chart_pin("kube-prometheus-stack"), namespace=obs_cfg.namespace,
        collector_namespace=obs_cfg.collector_namespace,
        namespace_ready=(namespaces[obs_cfg.namespace], namespaces[obs_cfg.collector_namespace]),
        scrape_interval=obs_cfg.scrape_interval, retention=obs_cfg.retention,
        prometheus_volume_size=obs_cfg.prometheus_volume_size, gpu_metrics=gpu,
        dcgm_namespace=obs_cfg.dcgm_namespace, kueue_namespace=kueue_namespace,
        client_namespaces=tuple(sorted(set(clients))), protect=cfg.protect_data,
        alert_webhook_secret=obs_cfg.alert_webhook_secret,
        collector_resources=Resources(cpu_request="100m", memory_request="256Mi",
                                      cpu_limit="1", memory_limit="1Gi"),
    ), opts)

    serving = serving or serving_operators(name, cfg)
    ServingAccess(f"{name}-serving-access", ServingAccessArgs(
        ingress_namespace=cfg.serving.ingress_namespace, team_members=dict(team_members or {}),
        namespace_resources=(*compute, serving.role),
    ), opts)

    result: dict[str, pulumi.Input] = {
        outputs.TRACKING_URI: tracking.tracking_uri,
        outputs.TRACKING_URIS: tracking.tracking_uris,
        outputs.S3_ENDPOINT: storage.endpoint,
        outputs.S3_BUCKETS: list(storage.buckets),
        outputs.S3_CREDENTIALS_SECRET: WORKLOAD_SECRET_NAME,
        outputs.OTLP_ENDPOINT: observability.otlp_endpoint,
        outputs.GRAFANA_URL: observability.grafana_url,
        outputs.PROMETHEUS_URL: observability.prometheus_url,
        outputs.DASHBOARDS: observability.dashboard_urls,
        outputs.INFERENCE_URL_TEMPLATE: serving.url_template,
        outputs.INFERENCE_INGRESS_CLASS: serving.ingress_class,
        outputs.NOTEBOOKS_URL: "",
    }
    if cfg.notebooks.enabled:
        by_namespace = dict(team_members or {})
        team_members_by_team = {t: by_namespace.get(ns, ()) for t, ns in team_namespaces.items()}
        notebooks = Notebooks(f"{name}-notebooks", NotebooksArgs(
            chart=chart_pin("jupyterhub"), image=pin("notebook-image").image,
            namespace=cfg.notebooks.namespace, profiles=cfg.notebooks.profiles,
            team_cluster_queues=dict(team_cluster_queues), team_local_queues=dict(team_local_queues),
            team_namespaces=dict(team_namespaces),
            tracking_uris=tracking.tracking_uris, otlp_endpoint=observability.otlp_endpoint,
            kueue_resources=tuple(compute),
            team_members={t: tuple(team_members_by_team.get(t, ())) for t in team_namespaces},
            oauth=cfg.notebooks.oauth, gpu_quota=cfg.notebooks.gpu_quota,
            egress=((cfg.tracking.namespace, (MLFLOW_PORT,)),
                    (obs_cfg.collector_namespace, (OTLP_GRPC_PORT, OTLP_HTTP_PORT))),
            api_server_cidrs=cfg.notebooks.api_server_cidrs,
        ), opts)
        result[outputs.NOTEBOOKS_URL] = notebooks.hub_url
    return result


def services_for_compute(name: str, cfg: ServicesConfig, compute_config: ComputeConfig,
                         compute: Compute, *, serving: Serving | None = None,
                         opts: pulumi.ResourceOptions | None = None) -> dict[str, pulumi.Input]:
    """:func:`build_services` wired to a stack's compute block (part 1)."""
    if cfg.notebooks.enabled and cfg.notebooks.namespace not in compute_config.shared_queue_namespaces:
        # Team ClusterQueues admit only their namespace and these shared ones.
        raise ValueError(
            f"compute.sharedQueueNamespaces: must include services.notebooks.namespace "
            f"{cfg.notebooks.namespace!r}, or notebook pods could never be admitted"
        )
    return build_services(
        name, cfg,
        team_namespaces={t.name: t.namespace for t in compute_config.teams},
        # The Kueue component names each team's ClusterQueue after the team.
        team_cluster_queues={team: team for team in compute.kueue.cluster_queues},
        # ... and each team's LocalQueue (in the team namespace) after the team too.
        team_local_queues={t.name: t.name for t in compute_config.teams},
        kueue_namespace=compute.exports[outputs.KUEUE_NAMESPACE],
        platform_namespaces=compute_config.platform_namespaces,
        monitoring_namespace=compute_config.monitoring_namespace,
        gpu=compute_config.gpu is not None,
        team_members={t.namespace: tuple(t.members) for t in compute_config.teams},
        compute=[*compute.tenancy.namespaces.values(), compute.tenancy, compute.kueue],
        serving=serving, opts=opts,
    )
