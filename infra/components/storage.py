"""Object storage: a standalone MinIO with buckets, per-team users and access policies.

Every credential is generated here (``RandomPassword``), kept as a Pulumi secret and handed
to MinIO and to workloads only through Kubernetes Secrets: the Helm values name those
Secrets (``existingSecret``) and never carry a key, so no secret value reaches Helm values,
config or stack outputs.

Each team gets a MinIO user whose policy confines it to the ``<team>/`` prefix of every
bucket, and a Secret ``ai4s-object-storage`` in its namespace with the ``AWS_*`` variables a
workload (boto3, MLflow, fsspec) needs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_random as random
from pulumi_kubernetes.core.v1 import Secret
from pulumi_kubernetes.helm.v3 import Release
from pulumi_kubernetes.networking.v1 import NetworkPolicy

from infra.config.services import (
    ChartPin,
    Resources,
    check_dns_label,
    check_pinned_image,
    ingress_from_namespaces,
    split_image,
)

ACCESS_KEY_ANNOTATION = "ai4s.dev/s3-access-key"
"""On a credentials Secret: which MinIO user it holds (the Secret's data is secret, this is
not), so who holds which user can be read from a render (infra.verify.isolation)."""
WORKLOAD_SECRET_NAME = "ai4s-object-storage"
"""Name of the credentials Secret written into every team and service namespace."""
S3_PORT = 9000
POD_RESTRICTED = {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}}
CONTAINER_RESTRICTED = {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]},
                        "runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}}
_ROOT_USER = "ai4s-root"


@dataclass(kw_only=True, frozen=True, slots=True)
class ObjectStorageArgs:
    """Inputs of :class:`ObjectStorage`."""

    chart: ChartPin
    """The MinIO chart (minio/minio)."""
    image: str
    """MinIO server image, ``repository:tag``."""
    mc_image: str
    """MinIO client image used by the chart's bucket/user/policy job, ``repository:tag``."""
    namespace: str
    """Namespace MinIO runs in (created by the caller, see ``namespace_ready``)."""
    volume_size: str
    """Persistent volume size."""
    storage_class: str
    """StorageClass; empty for the cluster default."""
    buckets: tuple[str, ...]
    """Buckets to create."""
    resources: Resources
    """MinIO server container resources."""
    team_namespaces: Mapping[str, str]
    """Team name -> the team's namespace; each team gets a user, a policy and a Secret."""
    service_users: Mapping[str, tuple[str, str, str]]
    """Service user -> (its namespace, the bucket, the prefix in it it may read and write),
    e.g. each team's MLflow server: `artifacts`, `<team>/mlflow`. Never a whole bucket, so
    no service holds credentials that cross teams."""
    namespace_ready: tuple[pulumi.Resource, ...] = ()
    """Resources creating MinIO's namespace; everything in it waits for them."""
    namespace_resources: tuple[pulumi.Resource, ...] = ()
    """Resources creating the team namespaces; Secrets written there wait for them."""
    protect: bool = False
    """Pulumi `protect` and `retain_on_delete` on the data it holds (see services.protectData)."""

    def __post_init__(self) -> None:
        check_dns_label("storage.namespace", self.namespace)
        check_pinned_image("storage.image", self.image)
        check_pinned_image("storage.mc_image", self.mc_image)
        for team, ns in self.team_namespaces.items():
            check_dns_label("storage.team_namespaces", team)
            check_dns_label(f"storage.team_namespaces[{team}]", ns)
        for user, (ns, bucket, prefix) in self.service_users.items():
            check_dns_label("storage.service_users", user)
            check_dns_label(f"storage.service_users[{user}]", ns)
            if bucket not in self.buckets:
                raise ValueError(f"storage.service_users[{user}]: bucket {bucket!r} not in {list(self.buckets)}")
            if not prefix.strip("/"):
                raise ValueError(f"storage.service_users[{user}]: a prefix is required (no bucket-wide service users)")
        clash = set(self.team_namespaces) & set(self.service_users)
        if clash:
            raise ValueError(f"storage.service_users: {sorted(clash)} clash with team names")


def team_policy(team: str, buckets: tuple[str, ...]) -> dict:
    """MinIO policy confining ``team`` to its own prefix in every bucket."""
    return {
        "name": f"team-{team}",
        "statements": [
            {
                "effect": "Allow",
                "resources": [f"arn:aws:s3:::{b}/{team}/*" for b in buckets],
                "actions": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject",
                            "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"],
            },
            {
                # Listing is per bucket in S3; object names of other teams become visible,
                # their contents do not (documented trade-off of prefix-per-team).
                "effect": "Allow",
                "resources": [f"arn:aws:s3:::{b}" for b in buckets],
                "actions": ["s3:ListBucket", "s3:GetBucketLocation"],
            },
        ],
    }


def service_policy(user: str, bucket: str, prefix: str) -> dict:
    """MinIO policy for a platform service owning one prefix of a bucket (a team's MLflow
    artifact store); listing is per bucket, as for team users."""
    return {
        "name": f"svc-{user}",
        "statements": [
            {"effect": "Allow", "resources": [f"arn:aws:s3:::{bucket}/{prefix.strip('/')}/*"],
             "actions": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject",
                         "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"]},
            {"effect": "Allow", "resources": [f"arn:aws:s3:::{bucket}"],
             "actions": ["s3:ListBucket", "s3:GetBucketLocation"]},
        ],
    }


def s3_credentials(access_key: str, secret_key: pulumi.Input[str], endpoint: pulumi.Input[str]) -> dict:
    """The environment a workload needs to reach MinIO (boto3, s3fs and MLflow all read it)."""
    return {
        "AWS_ACCESS_KEY_ID": access_key,
        "AWS_SECRET_ACCESS_KEY": secret_key,
        "AWS_ENDPOINT_URL": endpoint,
        "MLFLOW_S3_ENDPOINT_URL": endpoint,
        "AWS_DEFAULT_REGION": "us-east-1",
    }


class ObjectStorage(pulumi.ComponentResource):
    """MinIO (standalone, persistent) with buckets and per-team access."""

    endpoint: pulumi.Output[str]
    buckets: list[str]

    def __init__(self, name: str, args: ObjectStorageArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("ai4s:storage:ObjectStorage", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        ns = args.namespace
        self.endpoint = pulumi.Output.from_input(f"http://{name}.{ns}.svc.cluster.local:{S3_PORT}")
        self.buckets = list(args.buckets)

        in_ns = pulumi.ResourceOptions(parent=self, depends_on=list(args.namespace_ready))

        root_password = random.RandomPassword(f"{name}-root-password", length=40, special=False, opts=child)
        root_secret = Secret(
            f"{name}-root",
            metadata={"name": f"{name}-root", "namespace": ns},
            string_data={"rootUser": _ROOT_USER, "rootPassword": root_password.result},
            opts=in_ns,
        )

        users: list[dict] = []
        policies: list[dict] = []
        user_secrets: list[pulumi.Resource] = [root_secret]
        grants = [(team, team_ns, team_policy(team, args.buckets)) for team, team_ns in sorted(args.team_namespaces.items())]
        grants += [(user, user_ns, service_policy(user, bucket, prefix))
                   for user, (user_ns, bucket, prefix) in sorted(args.service_users.items())]
        self.service_credentials: dict[str, tuple[str, pulumi.Output[str]]] = {}
        for user, user_ns, policy in grants:
            access_key = f"ai4s-{user}"
            password = random.RandomPassword(f"{name}-{user}-secret-key", length=40, special=False, opts=child)
            # The chart's provisioning job reads the key from MinIO's own namespace.
            user_secrets.append(Secret(
                f"{name}-{user}-user",
                metadata={"name": f"{name}-user-{user}", "namespace": ns},
                string_data={"secretKey": password.result},
                opts=in_ns,
            ))
            if user in args.team_namespaces:
                # Workloads read it from their own namespace.
                Secret(
                    f"{name}-{user}-credentials",
                    metadata={"name": WORKLOAD_SECRET_NAME, "namespace": user_ns,
                              "labels": {"app.kubernetes.io/part-of": "ai4s-kit"},
                              "annotations": {ACCESS_KEY_ANNOTATION: access_key}},
                    string_data=s3_credentials(access_key, password.result, self.endpoint),
                    opts=pulumi.ResourceOptions(parent=self, depends_on=list(args.namespace_resources)),
                )
            else:
                # Services write their own Secret once their namespace exists (see tracking.py).
                self.service_credentials[user] = (access_key, password.result)
            policies.append(policy)
            users.append({"accessKey": access_key, "existingSecret": f"{name}-user-{user}",
                          "existingSecretKey": "secretKey", "policy": policy["name"]})

        values = {
            "fullnameOverride": name,
            "mode": "standalone",
            "image": split_image(args.image),
            "mcImage": split_image(args.mc_image),
            "existingSecret": f"{name}-root",
            "persistence": {"enabled": True, "size": args.volume_size,
                            **({"storageClass": args.storage_class} if args.storage_class else {})},
            "resources": args.resources.to_k8s(),
            # Every pod the chart renders runs restricted (infra/verify/charts/minio.yaml):
            # the server and the post-install Job whose mc containers create buckets,
            # policies and users. The chart renders none of this unless `enabled`.
            "securityContext": {"enabled": True, "runAsUser": 1000, "runAsGroup": 1000, "fsGroup": 1000,
                                **POD_RESTRICTED},
            "containerSecurityContext": CONTAINER_RESTRICTED,
            "postJob": {"securityContext": {"enabled": True, "runAsUser": 1000, "runAsGroup": 1000,
                                            **POD_RESTRICTED}},
            **{job: {"securityContext": {"enabled": True, "runAsUser": 1000, "runAsGroup": 1000},
                     "containerSecurityContext": CONTAINER_RESTRICTED}
               for job in ("makePolicyJob", "makeUserJob", "makeBucketJob")},
            "buckets": [{"name": b, "policy": "none", "purge": False, "versioning": b == "checkpoints"}
                        for b in args.buckets],
            "policies": policies,
            "users": users,
            "metrics": {"serviceMonitor": {"enabled": False}},
        }
        self.release = Release(
            f"{name}-release",
            name=name,
            namespace=ns,
            **args.chart.release_args(),
            values=values,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[*args.namespace_ready, *user_secrets],
                                        protect=args.protect, retain_on_delete=args.protect),
        )

        allowed = sorted({*args.team_namespaces.values(), *(ns_ for ns_, _, _ in args.service_users.values())})
        NetworkPolicy(
            f"{name}-allow-s3",
            metadata={"name": f"{name}-allow-s3", "namespace": ns},
            spec={
                # The chart labels its pods app=<chart name>, release=<release name>.
                "pod_selector": {"match_labels": {"app": "minio", "release": name}},
                "policy_types": ["Ingress"],
                "ingress": [ingress_from_namespaces([ns, *allowed], [S3_PORT])],
            },
            opts=in_ns,
        )
        self.register_outputs({"endpoint": self.endpoint, "buckets": self.buckets})
