"""The workloads on the platform: workload objects per stage, pre-flight and ``ai4s submit``.

Rooms: ``target`` (what a stack offers a team, read from its outputs), ``objects`` (one
Kubernetes object per stage: Trainer TrainJobs, a KubeRay RayJob, a KServe
InferenceService), ``render`` (a recipe's stages in order), ``quota`` (what an object
asks of Kueue and whether it can ever fit), ``checks`` (the workload rules), ``kube`` (the
seam to the Kubernetes API), ``preflight`` and ``submit``. Nothing here imports ``infra``:
stack outputs arrive as data.
"""
