"""One Kubernetes object per stage, as plain manifests.

- MPI stages (the climate simulation, the drug physics) are Kubeflow Trainer v2 TrainJobs
  on the stack's ``ai4s-mpi`` ClusterTrainingRuntime, not MPI Operator MPIJobs: the
  stacks already install Trainer (whose runtime sets up the launcher, SSH keys and
  hostfile) and Kueue admits TrainJobs natively, so a second operator would add a CRD,
  a controller and a second MPI set-up for the same job.
- Training and evaluation are TrainJobs on the ``ai4s-torch-distributed`` runtime.
- The drug physics stage has a RayJob form too (a parallel map over molecule shards on
  the installed KubeRay), and the screening model is a KServe InferenceService whose
  predictor is the kit's own server (``python -m reference_workloads.drug_discovery.serve``).

Every object carries the team's Kueue queue and priority labels, requests exactly what
the recipe's ``resources`` declares, names the kit's image by digest and gets the platform
environment (storage, tracking, telemetry, image digest). Pod security "restricted" for
TrainJobs comes from the runtimes; the pods written here set it themselves.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from ..core import platform_env as env
from ..core.recipes import StageResources
from .target import MPI_RUNTIME, TORCH_RUNTIME, PlatformTarget

QUEUE_LABEL = "kueue.x-k8s.io/queue-name"
PRIORITY_LABEL = "kueue.x-k8s.io/priority-class"
RUN_LABEL = "ai4s.dev/run"
STAGE_LABEL = "ai4s.dev/stage"
TRAINER_API = "trainer.kubeflow.org/v1alpha1"
RAY_API = "ray.io/v1"
KSERVE_API = "serving.kserve.io/v1beta1"
RUN_UID = 1000
"""The non-root uid of the kit's image (and of the Trainer runtimes)."""
SERVE_PORT = 8080
RUN_DIR = "/tmp/ai4s/run"
"""The stage's scratch run folder inside its pod; artifacts travel through AI4S_STORAGE."""


@dataclasses.dataclass(kw_only=True, frozen=True, slots=True)
class StageObject:
    """One stage's object and the stages whose results it reads."""

    stage: str
    manifest: dict[str, Any]
    after: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return self.manifest["metadata"]["name"]


def cpu_quantity(cores: float) -> str:
    return str(int(cores)) if float(cores).is_integer() else f"{round(cores * 1000)}m"


def ray_cpus(cores: float) -> str:
    """``ray start --num-cpus``: a whole number of logical CPUs, at least 1. Ray refuses a
    Kubernetes quantity such as "500m", and the physics map's actors each ask for one CPU, so
    a pod given less than a core still offers one (it runs throttled, not never)."""
    return str(max(1, math.ceil(cores)))


def memory_quantity(gib: float) -> str:
    return f"{round(gib * 1024)}Mi"


def pod_resources(size: StageResources) -> dict[str, dict[str, Any]]:
    """Requests equal to limits (what Kueue admits is what the pod may use)."""
    amounts: dict[str, Any] = {"cpu": cpu_quantity(size.cpu), "memory": memory_quantity(size.memory_gib)}
    if size.gpus:
        amounts["nvidia.com/gpu"] = str(size.gpus)
    if size.mig_profile:
        amounts[f"nvidia.com/mig-{size.mig_profile}"] = "1"
    return {"requests": dict(amounts), "limits": dict(amounts)}


def platform_env(target: PlatformTarget, *, run_id: str, image: str) -> list[dict[str, Any]]:
    """The platform environment of every stage pod: storage, credentials, tracking, telemetry.

    The variable names are the ones `core.platform_env` reads inside the pod; the keys come
    from the team's Secret by reference, so no credential is ever written into an object.
    """

    def secret(name: str, key: str) -> dict[str, Any]:
        return {"name": name, "valueFrom": {"secretKeyRef": {"name": target.credentials_secret, "key": key}}}

    return [
        {"name": env.STORAGE, "value": f"{target.storage}/{run_id}"},
        {"name": env.ENDPOINT_URL, "value": target.s3_endpoint},
        secret(env.ACCESS_KEY_ID, env.ACCESS_KEY_ID),
        secret(env.SECRET_ACCESS_KEY, env.SECRET_ACCESS_KEY),
        secret(env.REGION, env.DEFAULT_REGION),
        {"name": env.MLFLOW_TRACKING_URI, "value": target.tracking_uri},
        {"name": env.OTLP_ENDPOINT, "value": target.otlp_endpoint},
        {"name": env.IMAGE_DIGEST, "value": image_digest(image)},
    ]


def image_digest(image: str) -> str:
    """The ``sha256:...`` digest of an image reference (empty when it names none)."""
    return image.rsplit("@", 1)[1] if "@sha256:" in image else ""


def metadata(name: str, target: PlatformTarget, *, run_id: str, stage: str) -> dict[str, Any]:
    return {
        "name": name,
        "namespace": target.namespace,
        "labels": {
            QUEUE_LABEL: target.local_queue,
            PRIORITY_LABEL: target.priority_class,
            RUN_LABEL: run_id,
            STAGE_LABEL: stage,
        },
    }


def restricted_security() -> tuple[dict[str, Any], dict[str, Any]]:
    """(pod, container) security contexts that pass Pod Security "restricted"."""
    pod = {"runAsNonRoot": True, "runAsUser": RUN_UID, "seccompProfile": {"type": "RuntimeDefault"}}
    container = {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]},
                 "runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}}
    return pod, container


def train_job(name: str, target: PlatformTarget, *, stage: str, run_id: str, image: str, mpi: bool,
              command: list[str], size: StageResources, procs_per_node: int, env: list[dict]) -> dict:
    """A TrainJob on the stack's MPI or torch ClusterTrainingRuntime."""
    trainer: dict[str, Any] = {
        "image": image,
        "command": command,
        "env": env,
        "numNodes": size.ranks,
        "resourcesPerNode": pod_resources(size),
        "numProcPerNode": procs_per_node,
    }
    return {
        "apiVersion": TRAINER_API,
        "kind": "TrainJob",
        "metadata": metadata(name, target, run_id=run_id, stage=stage),
        "spec": {
            "runtimeRef": {"name": MPI_RUNTIME if mpi else TORCH_RUNTIME,
                           "apiGroup": "trainer.kubeflow.org", "kind": "ClusterTrainingRuntime"},
            "trainer": trainer,
        },
    }


def _pod(container: dict[str, Any]) -> dict[str, Any]:
    pod_sc, container_sc = restricted_security()
    return {"securityContext": pod_sc, "containers": [{**container, "securityContext": container_sc}]}


def ray_job(name: str, target: PlatformTarget, *, stage: str, run_id: str, image: str,
            entrypoint: str, size: StageResources, env: list[dict]) -> dict:
    """A RayJob: a head and ``ranks - 1`` workers of the stage's size, torn down when done."""
    resources = pod_resources(size)

    def ray_pod(role: str) -> dict[str, Any]:
        return {"spec": _pod({"name": f"ray-{role}", "image": image, "env": env, "resources": resources})}

    submitter = {"name": "submitter", "image": image, "env": env,
                 "resources": pod_resources(StageResources(cpu=0.2, memory_gib=0.25))}
    workers = max(size.ranks - 1, 0)
    return {
        "apiVersion": RAY_API,
        "kind": "RayJob",
        "metadata": metadata(name, target, run_id=run_id, stage=stage),
        "spec": {
            "entrypoint": entrypoint,
            "shutdownAfterJobFinishes": True,
            "ttlSecondsAfterFinished": 600,
            "submissionMode": "K8sJobMode",
            # KubeRay's default submitter pod sets no security context; restricted needs one
            "submitterPodTemplate": {"spec": {**_pod(submitter), "restartPolicy": "Never"}},
            "rayClusterSpec": {
                "headGroupSpec": {"rayStartParams": {"num-cpus": ray_cpus(size.cpu)},
                                  "template": ray_pod("head")},
                "workerGroupSpecs": [{
                    "groupName": "workers", "replicas": workers, "minReplicas": workers,
                    "maxReplicas": workers, "rayStartParams": {"num-cpus": ray_cpus(size.cpu)},
                    "template": ray_pod("worker"),
                }],
            },
        },
    }


def inference_service(name: str, target: PlatformTarget, *, stage: str, run_id: str, image: str,
                      model_uri: str, size: StageResources, env: list[dict], device: str) -> dict:
    """A KServe InferenceService whose predictor is the kit's own server on the kit's image.

    KServe's storage initializer fetches ``model_uri`` into /mnt/models before the server starts."""
    host = f"{name}-predictor.{target.namespace}"
    args = ["--model-dir", "/mnt/models", "--port", str(SERVE_PORT), "--host", "0.0.0.0",
            "--device", device, "--allowed-host", host, "--allowed-host", f"{host}.svc.cluster.local"]
    probe = {"httpGet": {"path": "/v2/health/ready", "port": SERVE_PORT}, "periodSeconds": 5}
    container = {
        "name": "kserve-container", "image": image,
        "command": ["python", "-m", "reference_workloads.drug_discovery.serve"], "args": args,
        "ports": [{"containerPort": SERVE_PORT, "protocol": "TCP"}],
        "env": [*env, {"name": "STORAGE_URI", "value": model_uri}],
        "resources": pod_resources(size), "readinessProbe": probe,
    }
    return {
        "apiVersion": KSERVE_API,
        "kind": "InferenceService",
        "metadata": {**metadata(name, target, run_id=run_id, stage=stage),
                     "annotations": {"serving.kserve.io/deploymentMode": "RawDeployment"}},
        "spec": {"predictor": {"minReplicas": 1, "maxReplicas": 1, **_pod(container)}},
    }
