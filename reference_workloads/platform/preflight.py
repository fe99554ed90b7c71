"""Pre-flight: everything ``ai4s submit`` needs from a cluster, checked before anything is
created. Each failure is one Finding whose message is one line saying what to fix.

Checks, in order (the first stops the rest, since nothing else can be asked then):
`api-reachable`; `crds-present` (Kueue and every kind the run creates); `runtimes-present`
(the ClusterTrainingRuntimes the TrainJobs name); `local-queue` (the team's LocalQueue);
`priority-class`; `fits-quota` (each object against its ClusterQueue's nominal quota plus
borrowing); `image-digest`. The conformance suite calls ``preflight(kubeconfig)`` alone
for the platform part (API, CRDs, the kit's runtimes).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from .checks import Finding, images
from .kube import ApiUnreachable, KubeApi
from .objects import PRIORITY_LABEL, QUEUE_LABEL, StageObject
from .quota import fit_problems, object_requests
from .target import MPI_RUNTIME, TORCH_RUNTIME

KUEUE_API = "kueue.x-k8s.io/v1beta2"
CRD_API = "apiextensions.k8s.io/v1"
TRAINER_API = "trainer.kubeflow.org/v1alpha1"
KUEUE_CRDS = ("localqueues.kueue.x-k8s.io", "clusterqueues.kueue.x-k8s.io",
              "workloadpriorityclasses.kueue.x-k8s.io")
CRD_OF_KIND = {
    "TrainJob": ("trainjobs.trainer.kubeflow.org", "clustertrainingruntimes.trainer.kubeflow.org"),
    "RayJob": ("rayjobs.ray.io",),
    "InferenceService": ("inferenceservices.serving.kserve.io",),
}
INSTALLED_BY = {"kueue": "Kueue", "trainer": "Kubeflow Trainer", "ray": "KubeRay", "kserve": "KServe"}


def _installer(crd: str) -> str:
    return next((v for k, v in INSTALLED_BY.items() if k in crd), "its operator")


def preflight(kubeconfig: str | Path | None = None, stages: Sequence[StageObject] = (), *,
              api: KubeApi | None = None) -> list[Finding]:
    """Every reason the run could not start or never be admitted (empty: go ahead)."""
    if api is None:
        if kubeconfig is None:
            return [Finding(rule="api-reachable", object="cluster",
                            message="no kubeconfig given; pass --kubeconfig PATH")]
        try:
            api = KubeApi(kubeconfig)
        except ApiUnreachable as error:
            return [Finding(rule="api-reachable", object="cluster", message=f"{error}; pass a valid --kubeconfig")]
    try:
        api.version()
    except ApiUnreachable as error:
        return [Finding(rule="api-reachable", object=f"cluster {api.host}", message=(
            f"the API server does not answer ({error}); check that the cluster is up and the kubeconfig's "
            "current context points at it"))]
    manifests = [s.manifest for s in stages]
    needed = list(KUEUE_CRDS)
    for kind in sorted({m["kind"] for m in manifests} or set(CRD_OF_KIND)):
        needed += CRD_OF_KIND.get(kind, ())
    missing = [c for c in needed if api.get(CRD_API, "CustomResourceDefinition", c) is None]
    found = [Finding(rule="crds-present", object=f"CustomResourceDefinition {c}", message=(
                 f"not installed; install {_installer(c)} (`pulumi up` on an ai4s stack)")) for c in missing]
    if missing:
        return found
    runtimes = sorted({m["spec"]["runtimeRef"]["name"] for m in manifests if m["kind"] == "TrainJob"}
                      or {MPI_RUNTIME, TORCH_RUNTIME})
    found += [Finding(rule="runtimes-present", object=f"ClusterTrainingRuntime {r}", message=(
                  "does not exist; the ai4s stacks create it with Kubeflow Trainer (`pulumi up`)"))
              for r in runtimes if api.get(TRAINER_API, "ClusterTrainingRuntime", r) is None]
    return found + _queue_findings(api, manifests)


def _queue_findings(api: KubeApi, manifests: list[dict]) -> list[Finding]:
    found: list[Finding] = []
    cluster_queues = {(q.get("metadata") or {}).get("name"): q for q in api.list(KUEUE_API, "ClusterQueue")}
    priorities = {(p.get("metadata") or {}).get("name") for p in api.list(KUEUE_API, "WorkloadPriorityClass")}
    for m in manifests:
        meta = m["metadata"]
        where = f"{m['kind']} {meta['namespace']}/{meta['name']}"
        queue, ns = (meta.get("labels") or {}).get(QUEUE_LABEL), meta["namespace"]
        lq = api.get(KUEUE_API, "LocalQueue", queue, ns) if queue else None
        if lq is None:
            found.append(Finding(rule="local-queue", object=where, message=(
                f"LocalQueue {ns}/{queue} does not exist; pass the --team whose namespace has one, "
                "or create the team with the stack's tenancy config")))
        priority = (meta.get("labels") or {}).get(PRIORITY_LABEL)
        if priority not in priorities:
            found.append(Finding(rule="priority-class", object=where, message=(
                f"WorkloadPriorityClass {priority!r} does not exist; use one of {sorted(priorities)}")))
        cq = cluster_queues.get(((lq or {}).get("spec") or {}).get("clusterQueue"))
        if lq is not None and cq is None:
            found.append(Finding(rule="local-queue", object=where, message=(
                f"LocalQueue {ns}/{queue} points at ClusterQueue {lq['spec'].get('clusterQueue')!r}, which does "
                "not exist; fix the stack's queue config")))
        if cq is not None:
            cohort = [c for c in cluster_queues.values()
                      if (c.get("spec") or {}).get("cohortName") == (cq.get("spec") or {}).get("cohortName")]
            found += [Finding(rule="fits-quota", object=where, message=p)
                      for p in fit_problems(object_requests(m), cq, cohort)]
        found += [Finding(rule="image-digest", object=where, message=(
                      f"image {image!r} is not named by digest; pass --image REPO@sha256:<digest> "
                      "(`podman inspect --format '{{.Digest}}'`)")) for image in images(m) if "@sha256:" not in image]
    return found
