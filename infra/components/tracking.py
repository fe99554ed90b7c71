"""Experiment tracking: MLflow tracking server and model registry on PostgreSQL and MinIO.

PostgreSQL is a CloudNativePG ``Cluster`` (the operator is installed here from its pinned
chart, and the Cluster waits for that release, which also brings the CRD). MLflow stores
runs and the registry in PostgreSQL and proxies artifacts to the MinIO ``artifacts`` bucket
(``--serve-artifacts``), so clients need only the tracking URI, never S3 credentials.

The database password is generated here; the backend URI that contains it is assembled
inside a Secret and reaches MLflow through ``secretKeyRef``, never through args or config.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_random as random
from pulumi_kubernetes.apiextensions import CustomResource
from pulumi_kubernetes.apps.v1 import Deployment
from pulumi_kubernetes.core.v1 import Namespace, Secret, Service
from pulumi_kubernetes.helm.v3 import Release
from pulumi_kubernetes.networking.v1 import NetworkPolicy

from infra.components.storage import ACCESS_KEY_ANNOTATION, s3_credentials
from infra.config.services import (
    ChartPin,
    Resources,
    check_dns_label,
    check_pinned_image,
    ingress_from_namespaces,
    restricted_namespace_labels,
)

MLFLOW_PORT = 5000
DB_NAME = "mlflow"
DB_USER = "mlflow"
CNPG_API_VERSION = "postgresql.cnpg.io/v1"
BACKUP_PREFIX = "_backups/postgres"
"""Prefix of the artifacts bucket holding PostgreSQL base backups and WAL (no team can be
named `_backups`, so no team policy reaches it)."""
BACKUP_RETENTION = "30d"


@dataclass(kw_only=True, frozen=True, slots=True)
class TrackingArgs:
    """Inputs of :class:`Tracking`."""

    operator_chart: ChartPin
    """The CloudNativePG operator chart (installs the ``Cluster`` CRD)."""
    operator_namespace: str
    """Namespace of the CloudNativePG operator (created here)."""
    postgres_image: str
    """PostgreSQL operand image, ``repository:tag``."""
    mlflow_image: str
    """MLflow server image, ``repository:tag``; must contain psycopg2 and boto3."""
    namespace: str
    """Namespace for MLflow and its database (created by the caller, see ``namespace_ready``)."""
    postgres_instances: int
    """PostgreSQL instances."""
    postgres_volume_size: str
    """Volume size per PostgreSQL instance."""
    replicas: int
    """MLflow server replicas."""
    resources: Resources
    """MLflow container resources."""
    s3_endpoint: pulumi.Input[str]
    """MinIO endpoint URL (from :class:`infra.components.storage.ObjectStorage`)."""
    artifacts_bucket: str
    """Bucket MLflow proxies artifacts to, each team's server under ``<team>/mlflow``."""
    team_namespaces: Mapping[str, str]
    """Team -> its namespace: one tracking server, database and MinIO user per team."""
    team_s3_credentials: Mapping[str, tuple[str, pulumi.Input[str]]]
    """Team -> (access key, secret key) of that team's MLflow MinIO user (prefix-confined)."""
    notebooks_namespace: str = ""
    """Hub namespace whose pods labelled ``ai4s.dev/team: <team>`` may reach that team's server."""
    monitoring_namespace: str = "monitoring"
    """Namespace whose Prometheus scrapes every server's /metrics."""
    backup_s3_credentials: tuple[str, pulumi.Input[str]] | None = None
    """(access key, secret key) of the MinIO user confined to BACKUP_PREFIX; None: no backups."""
    backup_schedule: str = "0 0 2 * * *"
    """When CloudNativePG takes a base backup (six-field cron, seconds first); WAL is archived continuously."""
    namespace_ready: tuple[pulumi.Resource, ...] = ()
    """Resources creating ``namespace``; everything in it waits for them."""
    depends_on: tuple[pulumi.Resource, ...] = ()
    """Resources MLflow needs first (the MinIO release that creates its bucket and user)."""
    protect: bool = False
    """Pulumi `protect` and `retain_on_delete` on the data it holds (see services.protectData)."""

    def __post_init__(self) -> None:
        for key in ("operator_namespace", "namespace"):
            check_dns_label(f"tracking.{key}", getattr(self, key))
        for key in ("postgres_image", "mlflow_image"):
            check_pinned_image(f"tracking.{key}", getattr(self, key))
        for team, ns in self.team_namespaces.items():
            check_dns_label("tracking.team_namespaces", team)
            check_dns_label(f"tracking.team_namespaces[{team}]", ns)
        if set(self.team_s3_credentials) != set(self.team_namespaces):
            raise ValueError("tracking.team_s3_credentials: need one MinIO user per team")


TEAM_LABEL = "ai4s.dev/team"


def artifacts_prefix(team: str) -> str:
    """Where a team's MLflow keeps artifacts: inside the team's own prefix of the bucket."""
    return f"{team}/mlflow"


def database_name(team: str) -> str:
    """One PostgreSQL database per team's MLflow (SQL identifiers take no dashes)."""
    return f"mlflow_{team.replace('-', '_')}"


def backend_uri(db_cluster: str, namespace: str, team: str) -> str:
    """A team server's database URI; $(MLFLOW_DB_PASSWORD) is expanded by the kubelet."""
    return (f"postgresql://{DB_USER}:$(MLFLOW_DB_PASSWORD)@{db_cluster}-rw.{namespace}.svc.cluster.local"
            f":5432/{database_name(team)}")


def server_name(name: str, team: str) -> str:
    return f"{name}-{team}"


def allowed_hosts(name: str, namespace: str) -> list[str]:
    """Host headers a server accepts: its Service names (with and without the port), the
    pod's own IP (Prometheus scrapes pod IPs; MLflow answers 403 to any other Host), and
    localhost (``kubectl port-forward``)."""
    host = f"{name}.{namespace}.svc.cluster.local"
    names = [f"{h}{port}" for h in (name, f"{name}.{namespace}", f"{name}.{namespace}.svc", host)
             for port in ("", f":{MLFLOW_PORT}")]
    return [*names, "$(POD_IP)", f"$(POD_IP):{MLFLOW_PORT}", "localhost:*"]


def mlflow_server_args(artifacts_bucket: str, allowed_hosts: list[str], team: str = "") -> list[str]:
    """The ``mlflow server`` arguments; $(VAR) references are expanded by the kubelet."""
    destination = f"s3://{artifacts_bucket}/{artifacts_prefix(team)}" if team else f"s3://{artifacts_bucket}/mlflow"
    return [
        "server",
        # All interfaces: the kubelet's probes and the Service use the pod IP, and
        # `kubectl port-forward` connects to 127.0.0.1 inside the pod.
        "--host", "0.0.0.0",
        "--port", str(MLFLOW_PORT),
        "--backend-store-uri", "$(MLFLOW_BACKEND_STORE_URI)",
        "--artifacts-destination", destination,
        "--serve-artifacts",
        "--allowed-hosts", ",".join(allowed_hosts),
        "--expose-prometheus", "/tmp/mlflow-metrics",
    ]


class Tracking(pulumi.ComponentResource):
    """CloudNativePG operator + PostgreSQL Cluster + MLflow server, Service and NetworkPolicy."""

    tracking_uri: pulumi.Output[str]

    def __init__(self, name: str, args: TrackingArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("ai4s:tracking:Tracking", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        ns = args.namespace

        operator_ns = Namespace(
            f"{name}-operator-ns",
            metadata={"name": args.operator_namespace, "labels": restricted_namespace_labels(enforce="baseline")},
            opts=child,
        )
        self.operator = Release(
            f"{name}-cnpg",
            name="cnpg",
            namespace=args.operator_namespace,
            **args.operator_chart.release_args(),
            values={"crds": {"create": True}, "monitoring": {"podMonitorEnabled": False}},
            opts=pulumi.ResourceOptions(parent=self, depends_on=[operator_ns]),
        )
        in_ns = pulumi.ResourceOptions(parent=self, depends_on=list(args.namespace_ready))

        db_password = random.RandomPassword(f"{name}-db-password", length=40, special=False, opts=child)
        db_secret = Secret(
            f"{name}-db-app",
            metadata={"name": f"{name}-db-app", "namespace": ns},
            type="kubernetes.io/basic-auth",
            string_data={"username": DB_USER, "password": db_password.result},
            opts=in_ns,
        )
        db_cluster_name = f"{name}-db"
        self.database = CustomResource(
            f"{name}-db",
            api_version=CNPG_API_VERSION,
            kind="Cluster",
            metadata={"name": db_cluster_name, "namespace": ns},
            spec={
                "instances": args.postgres_instances,
                "imageName": args.postgres_image,
                "storage": {"size": args.postgres_volume_size},
                "bootstrap": {"initdb": {"database": DB_NAME, "owner": DB_USER,
                                         "secret": {"name": f"{name}-db-app"}}},
                "resources": Resources(cpu_request="100m", memory_request="256Mi",
                                       cpu_limit="1", memory_limit="1Gi").to_k8s(),
                **self._backup_spec(name, args, in_ns),
            },
            # The CRD comes with the operator chart: create after it, delete before it.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.operator, *args.namespace_ready, db_secret],
                                        protect=args.protect, retain_on_delete=args.protect),
        )

        if args.backup_s3_credentials is not None:
            CustomResource(
                f"{name}-db-backup",
                api_version=CNPG_API_VERSION,
                kind="ScheduledBackup",
                metadata={"name": f"{db_cluster_name}-daily", "namespace": ns},
                spec={"schedule": args.backup_schedule, "cluster": {"name": db_cluster_name},
                      "backupOwnerReference": "self", "method": "barmanObjectStore"},
                opts=pulumi.ResourceOptions(parent=self, depends_on=[self.database]),
            )
        # One tracking server per team (see stacks/README.md, "MLflow: one server per team"):
        # its own database, its own MinIO user confined to `<team>/mlflow` of the artifacts
        # bucket, reachable only from that team's namespace and notebooks.
        self.tracking_uris: dict[str, pulumi.Output[str]] = {}
        for team, team_ns in sorted(args.team_namespaces.items()):
            self.tracking_uris[team] = self._team_server(name, team, team_ns, args, in_ns)
        self.tracking_uri = pulumi.Output.from_input(
            f"http://{server_name(name, '{team}')}.{ns}.svc.cluster.local:{MLFLOW_PORT}")
        self.register_outputs({"tracking_uri": self.tracking_uri, "tracking_uris": self.tracking_uris})

    def _backup_spec(self, name: str, args: TrackingArgs, in_ns: pulumi.ResourceOptions) -> dict:
        """Cluster.spec.backup: WAL archiving and base backups to MinIO (barman object store)."""
        if args.backup_s3_credentials is None:
            return {}
        access_key, secret_key = args.backup_s3_credentials
        secret = f"{name}-db-backup-s3"
        Secret(secret, metadata={"name": secret, "namespace": args.namespace},
               string_data={"ACCESS_KEY_ID": access_key, "ACCESS_SECRET_KEY": secret_key},
               opts=in_ns)
        return {"backup": {
            "retentionPolicy": BACKUP_RETENTION,
            "barmanObjectStore": {
                "destinationPath": f"s3://{args.artifacts_bucket}/{BACKUP_PREFIX}",
                "endpointURL": args.s3_endpoint,
                "s3Credentials": {"accessKeyId": {"name": secret, "key": "ACCESS_KEY_ID"},
                                  "secretAccessKey": {"name": secret, "key": "ACCESS_SECRET_KEY"}},
                "wal": {"compression": "gzip"}, "data": {"compression": "gzip"},
            },
        }}

    def _team_server(self, name: str, team: str, team_ns: str, args: TrackingArgs,
                     in_ns: pulumi.ResourceOptions) -> pulumi.Output[str]:
        ns, server = args.namespace, server_name(name, team)
        db_cluster_name = f"{name}-db"
        database = CustomResource(
            f"{name}-db-{team}",
            api_version=CNPG_API_VERSION,
            kind="Database",
            metadata={"name": f"{db_cluster_name}-{team}", "namespace": ns},
            spec={"name": database_name(team), "owner": DB_USER, "cluster": {"name": db_cluster_name},
                  "ensure": "present", "databaseReclaimPolicy": "retain"},
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.database]),
        )
        access_key, secret_key = args.team_s3_credentials[team]
        s3_secret = Secret(
            f"{server}-s3",
            metadata={"name": f"{server}-s3", "namespace": ns,
                      "annotations": {ACCESS_KEY_ANNOTATION: access_key}},
            string_data=s3_credentials(access_key, secret_key, args.s3_endpoint),
            opts=in_ns,
        )
        labels = {"app.kubernetes.io/name": "mlflow", "app.kubernetes.io/instance": server,
                  TEAM_LABEL: team}
        Deployment(
            f"{server}-server",
            metadata={"name": server, "namespace": ns, "labels": labels},
            spec={
                "replicas": args.replicas,
                "selector": {"match_labels": labels},
                "template": {
                    "metadata": {"labels": labels, "annotations": {
                        "prometheus.io/scrape": "true", "prometheus.io/port": str(MLFLOW_PORT),
                        "prometheus.io/path": "/metrics"}},
                    "spec": {
                        "automount_service_account_token": False,
                        "security_context": {"run_as_non_root": True, "run_as_user": 1000,
                                             "run_as_group": 1000,
                                             "seccomp_profile": {"type": "RuntimeDefault"}},
                        "containers": [{
                            "name": "mlflow",
                            "image": args.mlflow_image,
                            "command": ["mlflow"],
                            "args": mlflow_server_args(args.artifacts_bucket, allowed_hosts(server, ns), team),
                            # The password comes from the database Secret; the kubelet expands it
                            # into the URI, whose database (one per team) stays visible.
                            "env": [
                                {"name": "POD_IP", "value_from": {"field_ref": {"field_path": "status.podIP"}}},
                                {"name": "MLFLOW_DB_PASSWORD", "value_from": {
                                    "secret_key_ref": {"name": f"{db_cluster_name}-app", "key": "password"}}},
                                {"name": "MLFLOW_BACKEND_STORE_URI",
                                 "value": backend_uri(db_cluster_name, ns, team)},
                            ],
                            "env_from": [{"secret_ref": {"name": f"{server}-s3"}}],
                            "ports": [{"name": "http", "container_port": MLFLOW_PORT}],
                            "readiness_probe": {"http_get": {"path": "/health", "port": "http"},
                                                "period_seconds": 10},
                            "liveness_probe": {"http_get": {"path": "/health", "port": "http"},
                                               "initial_delay_seconds": 30, "period_seconds": 20},
                            "resources": args.resources.to_k8s(),
                            "security_context": {"allow_privilege_escalation": False,
                                                 "read_only_root_filesystem": True,
                                                 "capabilities": {"drop": ["ALL"]}},
                            "volume_mounts": [{"name": "tmp", "mount_path": "/tmp"}],
                        }],
                        "volumes": [{"name": "tmp", "empty_dir": {"size_limit": "1Gi"}}],
                    },
                },
            },
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=[database, s3_secret, *args.depends_on],
            ),
        )
        Service(
            f"{server}-service",
            metadata={"name": server, "namespace": ns, "labels": labels},
            spec={"selector": labels,
                  "ports": [{"name": "http", "port": MLFLOW_PORT, "target_port": "http"}]},
            opts=in_ns,
        )
        port = [{"protocol": "TCP", "port": MLFLOW_PORT}]
        ingress = [ingress_from_namespaces([team_ns, args.monitoring_namespace], [MLFLOW_PORT])]
        if args.notebooks_namespace:
            ingress.append({"from": [{
                "namespace_selector": {"match_labels": {"kubernetes.io/metadata.name": args.notebooks_namespace}},
                "pod_selector": {"match_labels": {TEAM_LABEL: team}}}], "ports": port})
        NetworkPolicy(
            f"{server}-allow-clients",
            metadata={"name": f"{server}-allow-clients", "namespace": ns},
            spec={"pod_selector": {"match_labels": labels}, "policy_types": ["Ingress"], "ingress": ingress},
            opts=in_ns,
        )
        return pulumi.Output.from_input(f"http://{server}.{ns}.svc.cluster.local:{MLFLOW_PORT}")

