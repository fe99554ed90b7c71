"""Run machinery shared by every reference workload.

Recipes, determinism, atomic outputs, content hashes, event logs, tracing, resumable
stages, launchers for ``mpiexec`` and ``torchrun``, DDP checkpoints, run manifests and
MLflow tracking. Nothing here knows about a particular science domain.
"""
