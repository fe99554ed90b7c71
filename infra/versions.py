"""The one table of every version ai4s-kit pins on a cluster.

Each row names what is deployed, where it comes from and why this version. Rows are
plain data so that part 2 of the platform (storage, tracking, observability, serving,
notebooks) can append its own; `infra/VERSIONS.md` is generated from this table
(`python -m infra.versions --write`) and a test keeps the two in step.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

KUBERNETES_VALIDATION_TARGET = "1.36.0"
"""Kubernetes version whose OpenAPI schemas built-in objects are validated against."""

_KINDS = ("helm-chart", "image", "crd-api")


@dataclass(kw_only=True, frozen=True, slots=True)
class Pin:
    """One pinned artefact."""

    key: str
    """Stable lookup key used by components, e.g. `kueue`."""
    kind: str
    """`helm-chart`, `image` or `crd-api`."""
    name: str
    """Chart name, image repository, or API group/version."""
    version: str
    """Exact chart version, image tag or API version; never `latest`."""
    repository: str
    """Helm repository URL or OCI prefix; registry for images; source repo for APIs."""
    app_version: str = ""
    """Upstream application version the chart deploys, when it differs."""
    note: str = ""
    """Why this version (one line)."""

    def __post_init__(self) -> None:
        if self.kind not in _KINDS:
            raise ValueError(f"Pin.kind: expected one of {_KINDS}, got {self.kind!r}")
        if not self.version or self.version == "latest":
            raise ValueError(f"Pin.version for {self.key!r}: an exact version is required")

    @property
    def image(self) -> str:
        """`repository/name:version` for image rows."""
        if self.kind != "image":
            raise ValueError(f"Pin {self.key!r} is a {self.kind}, not an image")
        return f"{self.repository}/{self.name}:{self.version}"


PINS: tuple[Pin, ...] = (
    # --- part 1: compute, scheduling, tenancy ---
    Pin(
        key="kueue",
        kind="helm-chart",
        name="kueue",
        version="0.19.2",
        repository="oci://registry.k8s.io/kueue/charts",
        app_version="v0.19.2",
        note="latest v0.19 patch (2026-08-20); serves and stores kueue.x-k8s.io/v1beta2",
    ),
    Pin(
        key="kueue-image",
        kind="image",
        name="kueue/kueue",
        version="v0.19.2",
        repository="registry.k8s.io",
        note="set explicitly: the chart's source values point at a staging image",
    ),
    Pin(
        key="kueue-api",
        kind="crd-api",
        name="kueue.x-k8s.io",
        version="v1beta2",
        repository="github.com/kubernetes-sigs/kueue",
        note="storage version in v0.19; ClusterQueue uses spec.cohortName",
    ),
    Pin(
        key="volcano",
        kind="helm-chart",
        name="volcano",
        version="1.15.1",
        repository="https://volcano-sh.github.io/helm-charts",
        app_version="v1.15.1",
        note="latest stable Volcano release in 2026-08",
    ),
    Pin(
        key="volcano-api",
        kind="crd-api",
        name="scheduling.volcano.sh",
        version="v1beta1",
        repository="github.com/volcano-sh/volcano",
        note="Queue API",
    ),
    Pin(
        key="kuberay",
        kind="helm-chart",
        name="kuberay-operator",
        version="1.5.1",
        repository="https://ray-project.github.io/kuberay-helm/",
        app_version="v1.5.1",
        note="same as AWS ai-on-eks",
    ),
    Pin(
        key="trainer",
        kind="helm-chart",
        name="kubeflow-trainer",
        version="2.2.1",
        repository="oci://ghcr.io/kubeflow/charts",
        app_version="v2.2.1",
        note="Kubeflow Trainer v2.2 patch; chart installs JobSet 0.11.0 as a dependency",
    ),
    Pin(
        key="trainer-api",
        kind="crd-api",
        name="trainer.kubeflow.org",
        version="v1alpha1",
        repository="github.com/kubeflow/trainer",
        note="ClusterTrainingRuntime API",
    ),
    Pin(
        key="jobset",
        kind="helm-chart",
        name="jobset",
        version="0.11.0",
        repository="oci://registry.k8s.io/jobset/charts",
        note="dependency of the Trainer chart (jobset.install=true), listed for the record",
    ),
    Pin(
        key="torch-runtime-image",
        kind="image",
        name="pytorch/pytorch",
        version="2.10.0-cuda12.8-cudnn9-runtime",
        repository="docker.io",
        note="image of upstream torch-distributed runtime in Trainer v2.2.1",
    ),
    Pin(
        key="mpi-runtime-image",
        kind="image",
        name="kubeflow/trainer/deepspeed-runtime",
        version="v2.2.1",
        repository="ghcr.io",
        note="OpenMPI + sshd runtime image tagged with the Trainer chart version",
    ),
    Pin(
        key="gpu-operator",
        kind="helm-chart",
        name="gpu-operator",
        version="v26.3.0",
        repository="https://helm.ngc.nvidia.com/nvidia",
        app_version="v26.3.0",
        note="device plugin, GFD, MIG manager and DCGM exporter in one operator",
    ),
    Pin(
        key="nvidia-dra-driver-gpu",
        kind="helm-chart",
        name="nvidia-dra-driver-gpu",
        version="25.12.0",
        repository="https://helm.ngc.nvidia.com/nvidia",
        note="NVIDIA DRA Driver for GPUs, only where compute.gpu.allocation is dra; publishes DeviceClass gpu.nvidia.com",
    ),
    Pin(
        key="dcgm-exporter",
        kind="image",
        name="nvidia/k8s/dcgm-exporter",
        version="4.8.1",
        repository="nvcr.io",
        note="exporter release seen in peers; operator default is used unless config overrides",
    ),
    # --- part 2: platform services (storage, tracking, observability, serving, notebooks) ---
    Pin(
        key="minio",
        kind="helm-chart",
        name="minio",
        version="5.4.0",
        repository="https://charts.min.io/",
        app_version="RELEASE.2024-12-18T13-15-44Z",
        note="last release of the community MinIO chart; upstream went source-only in 2025, so pinned, not tracked",
    ),
    Pin(
        key="minio-image",
        kind="image",
        name="minio/minio",
        version="RELEASE.2024-12-18T13-15-44Z",
        repository="quay.io",
        note="the chart 5.4.0 default server image, set explicitly",
    ),
    Pin(
        key="minio-mc-image",
        kind="image",
        name="minio/mc",
        version="RELEASE.2024-11-21T17-21-54Z",
        repository="quay.io",
        note="client for the chart's bucket/user/policy job (chart 5.4.0 default)",
    ),
    Pin(
        key="cloudnative-pg",
        kind="helm-chart",
        name="cloudnative-pg",
        version="0.26.0",
        repository="https://cloudnative-pg.github.io/charts",
        app_version="1.27.0",
        note="PostgreSQL operator for MLflow's backend store; chart installs the Cluster CRD",
    ),
    Pin(
        key="cnpg-api",
        kind="crd-api",
        name="postgresql.cnpg.io",
        version="v1",
        repository="github.com/cloudnative-pg/cloudnative-pg",
        note="Cluster API",
    ),
    Pin(
        key="postgres-image",
        kind="image",
        name="cloudnative-pg/postgresql",
        version="17.5",
        repository="ghcr.io",
        note="CloudNativePG operand image, PostgreSQL 17",
    ),
    Pin(
        key="mlflow-image",
        kind="image",
        name="burakince/mlflow",
        version="3.17.2",
        repository="docker.io",
        note="same MLflow as the kit's client; ghcr.io/mlflow/mlflow lacks psycopg2 and boto3 (mlflow#9513)",
    ),
    Pin(
        key="otel-collector",
        kind="helm-chart",
        name="opentelemetry-collector",
        version="0.127.2",
        repository="https://open-telemetry.github.io/opentelemetry-helm-charts",
        note="collector in deployment mode; config fully set by infra/components/observability.py",
    ),
    Pin(
        key="otel-collector-image",
        kind="image",
        name="otel/opentelemetry-collector-contrib",
        version="0.129.1",
        repository="docker.io",
        note="contrib distribution: spanmetrics connector and prometheus exporter",
    ),
    Pin(
        key="kube-prometheus-stack",
        kind="helm-chart",
        name="kube-prometheus-stack",
        version="82.8.0",
        repository="https://prometheus-community.github.io/helm-charts",
        note="82.x as in peers; installs Prometheus Operator, its CRDs, Grafana, kube-state-metrics",
    ),
    Pin(
        key="prometheus-operator-api",
        kind="crd-api",
        name="monitoring.coreos.com",
        version="v1",
        repository="github.com/prometheus-operator/prometheus-operator",
        note="PrometheusRule API",
    ),
    Pin(
        key="cert-manager",
        kind="helm-chart",
        name="cert-manager",
        version="v1.19.1",
        repository="https://charts.jetstack.io",
        app_version="v1.19.1",
        note="1.19 as in peers; KServe's webhook certificates",
    ),
    Pin(
        key="kserve-crd",
        kind="helm-chart",
        name="kserve-crd",
        version="v0.16.0",
        repository="oci://ghcr.io/kserve/charts",
        note="KServe CRDs, released with the controller chart",
    ),
    Pin(
        key="kserve",
        kind="helm-chart",
        name="kserve",
        version="v0.16.0",
        repository="oci://ghcr.io/kserve/charts",
        app_version="v0.16.0",
        note="cluster side at 0.16 as in Kubeflow 1.11; the kit's Python kserve==0.21.0 is the model-server SDK, whose v1/v2 protocols 0.16 serves",
    ),
    Pin(
        key="jupyterhub",
        kind="helm-chart",
        name="jupyterhub",
        version="4.2.0",
        repository="https://hub.jupyter.org/helm-chart/",
        app_version="5.3.0",
        note="Zero to JupyterHub with KubeSpawner profiles",
    ),
    Pin(
        key="notebook-image",
        kind="image",
        name="jupyter/scipy-notebook",
        version="2025-06-30",
        repository="quay.io",
        note="Jupyter Docker Stacks, date-tagged (never latest)",
    ),
)

_BY_KEY = {p.key: p for p in PINS}
if len(_BY_KEY) != len(PINS):  # a duplicated key would silently shadow a row
    raise ValueError("infra.versions.PINS: duplicate key")


def pin(key: str) -> Pin:
    """The row for `key`; ValueError naming the known keys otherwise."""
    try:
        return _BY_KEY[key]
    except KeyError:
        raise ValueError(f"unknown version key {key!r}; known: {sorted(_BY_KEY)}") from None


def helm_chart(key: str) -> dict:
    """Keyword arguments naming a pinned chart for `kubernetes.helm.v3.Release`.

    OCI charts are addressed by full reference; classic repositories via repository_opts.
    """
    p = pin(key)
    if p.kind != "helm-chart":
        raise ValueError(f"Pin {key!r} is a {p.kind}, not a helm-chart")
    if p.repository.startswith("oci://"):
        return {"chart": f"{p.repository}/{p.name}", "version": p.version}
    return {"chart": p.name, "version": p.version, "repository_opts": {"repo": p.repository}}


def render_markdown(pins: tuple[Pin, ...] = PINS) -> str:
    """The markdown copy of the table (infra/VERSIONS.md)."""
    lines = [
        "# Pinned versions",
        "",
        "Generated from `infra/versions.py` by `python -m infra.versions --write`; "
        "do not edit by hand (a test compares the two).",
        "",
        f"Built-in objects are validated against Kubernetes {KUBERNETES_VALIDATION_TARGET}.",
        "",
        "| key | kind | name | version | app version | repository | note |",
        "|---|---|---|---|---|---|---|",
    ]
    for p in pins:
        cells = (p.key, p.kind, p.name, p.version, p.app_version, p.repository, p.note)
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines) + "\n"


MARKDOWN_PATH = Path(__file__).with_name("VERSIONS.md")


def write_markdown(path: Path = MARKDOWN_PATH) -> None:
    """Atomically (re)write the markdown copy."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".versions", suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(render_markdown())
    os.replace(tmp, path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Print or write infra/VERSIONS.md")
    parser.add_argument("--write", action="store_true", help="rewrite infra/VERSIONS.md")
    args = parser.parse_args(argv)
    if args.write:
        write_markdown()
    else:
        sys.stdout.write(render_markdown())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
