"""Stack output keys, shared by the stack programs, the tests and conformance checks."""

KUEUE_NAMESPACE = "kueueNamespace"
COHORT = "cohort"
CLUSTER_QUEUES = "clusterQueues"
LOCAL_QUEUES = "localQueues"
RESOURCE_FLAVORS = "resourceFlavors"
PRIORITY_CLASSES = "workloadPriorityClasses"
TEAM_NAMESPACES = "teamNamespaces"
GANG_SCHEDULER = "gangScheduler"
VOLCANO_QUEUES = "volcanoQueues"
TRAINING_RUNTIMES = "trainingRuntimes"
RAY_OPERATOR_NAMESPACE = "rayOperatorNamespace"
GPU_SHARING = "gpuSharing"
OFFLOAD_QUEUE = "offloadQueue"

COMPUTE_KEYS = (
    KUEUE_NAMESPACE,
    COHORT,
    CLUSTER_QUEUES,
    LOCAL_QUEUES,
    RESOURCE_FLAVORS,
    PRIORITY_CLASSES,
    TEAM_NAMESPACES,
    GANG_SCHEDULER,
    VOLCANO_QUEUES,
    TRAINING_RUNTIMES,
    RAY_OPERATOR_NAMESPACE,
    GPU_SHARING,
    OFFLOAD_QUEUE,
)
"""Every key the compute block of a stack exports (some may be empty lists or strings)."""
