"""Experiment tracking: MLflow tracking server and model registry on PostgreSQL and MinIO.

PostgreSQL is a CloudNativePG ``Cluster`` (the operator is installed here from its pinned
chart, and the Cluster waits for that release, which also brings the CRD). MLflow stores
runs and the registry in PostgreSQL and proxies artifacts to the MinIO ``artifacts`` bucket
(``--serve-artifacts``), so clients need only the tracking URI, never S3 credentials.

The database password is generated here; the backend URI that contains it is assembled
inside a Secret and reaches MLflow through ``secretKeyRef``, never through args or config.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_random as random
from pulumi_kubernetes.apiextensions import CustomResource
from pulumi_kubernetes.apps.v1 import Deployment
from pulumi_kubernetes.core.v1 import Namespace, Secret, Service
from pulumi_kubernetes.helm.v3 import Release
from pulumi_kubernetes.networking.v1 import NetworkPolicy

from infra.components.storage import s3_credentials
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
    """Bucket MLflow proxies artifacts to."""
    s3_access_key: str
    """MinIO access key of the MLflow service user."""
    s3_secret_key: pulumi.Input[str]
    """MinIO secret key of the MLflow service user (a Pulumi secret)."""
    client_namespaces: tuple[str, ...]
    """Namespaces allowed to reach the tracking server (teams, notebooks, monitoring)."""
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
        for ns in self.client_namespaces:
            check_dns_label("tracking.client_namespaces", ns)


def mlflow_server_args(artifacts_bucket: str, allowed_hosts: list[str]) -> list[str]:
    """The ``mlflow server`` arguments; $(VAR) references are expanded by the kubelet."""
    return [
        "server",
        # Bind the pod's own address rather than 0.0.0.0 (kubelet probes and the Service use it).
        "--host", "$(POD_IP)",
        "--port", str(MLFLOW_PORT),
        "--backend-store-uri", "$(MLFLOW_BACKEND_STORE_URI)",
        "--artifacts-destination", f"s3://{artifacts_bucket}/mlflow",
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
        host = f"{name}.{ns}.svc.cluster.local"
        self.tracking_uri = pulumi.Output.from_input(f"http://{host}:{MLFLOW_PORT}")

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
        backend_uri = pulumi.Output.secret(db_password.result).apply(
            lambda pw: f"postgresql://{DB_USER}:{pw}@{db_cluster_name}-rw.{ns}.svc.cluster.local:5432/{DB_NAME}"
        )
        backend_secret = Secret(
            f"{name}-backend",
            metadata={"name": f"{name}-backend", "namespace": ns},
            string_data={"uri": backend_uri},
            opts=in_ns,
        )
        s3_secret = Secret(
            f"{name}-s3",
            metadata={"name": f"{name}-s3", "namespace": ns},
            string_data=s3_credentials(args.s3_access_key, args.s3_secret_key, args.s3_endpoint),
            opts=in_ns,
        )
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
            },
            # The CRD comes with the operator chart: create after it, delete before it.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.operator, *args.namespace_ready, db_secret],
                                        protect=args.protect, retain_on_delete=args.protect),
        )

        labels = {"app.kubernetes.io/name": "mlflow", "app.kubernetes.io/instance": name}
        allowed_hosts = [f"{h}{port}" for h in (name, f"{name}.{ns}", f"{name}.{ns}.svc", host)
                         for port in ("", f":{MLFLOW_PORT}")] + ["localhost:*"]
        Deployment(
            f"{name}-server",
            metadata={"name": name, "namespace": ns, "labels": labels},
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
                            "args": mlflow_server_args(args.artifacts_bucket, allowed_hosts),
                            "env": [
                                {"name": "POD_IP", "value_from": {"field_ref": {"field_path": "status.podIP"}}},
                                {"name": "MLFLOW_BACKEND_STORE_URI", "value_from": {
                                    "secret_key_ref": {"name": f"{name}-backend", "key": "uri"}}},
                            ],
                            "env_from": [{"secret_ref": {"name": f"{name}-s3"}}],
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
                depends_on=[self.database, backend_secret, s3_secret, *args.depends_on],
            ),
        )
        Service(
            f"{name}-service",
            metadata={"name": name, "namespace": ns, "labels": labels},
            spec={"selector": labels,
                  "ports": [{"name": "http", "port": MLFLOW_PORT, "target_port": "http"}]},
            opts=in_ns,
        )
        NetworkPolicy(
            f"{name}-allow-clients",
            metadata={"name": f"{name}-allow-clients", "namespace": ns},
            spec={
                "pod_selector": {"match_labels": labels},
                "policy_types": ["Ingress"],
                "ingress": [ingress_from_namespaces([ns, *args.client_namespaces], [MLFLOW_PORT])],
            },
            opts=in_ns,
        )
        self.register_outputs({"tracking_uri": self.tracking_uri})

