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


# --- part 2: platform services (storage, tracking, observability, serving, notebooks) ---
TRACKING_URI = "trackingUri"
"""Template of the MLflow URI, `{team}` to fill in: one tracking server per team (in-cluster);
artifacts are proxied by the server."""
TRACKING_URIS = "trackingUris"
"""Team -> that team's MLflow tracking and registry URI."""
S3_ENDPOINT = "s3Endpoint"
"""MinIO S3 endpoint (in-cluster)."""
S3_BUCKETS = "s3Buckets"
"""Bucket names; each team may use the prefix `<team>/` in each."""
S3_CREDENTIALS_SECRET = "s3CredentialsSecret"
"""Name of the Secret with AWS_* variables in every team namespace."""
OTLP_ENDPOINT = "otlpEndpoint"
"""OTLP/HTTP endpoint of the collector, for OTEL_EXPORTER_OTLP_ENDPOINT."""
GRAFANA_URL = "grafanaUrl"
PROMETHEUS_URL = "prometheusUrl"
DASHBOARDS = "dashboards"
"""Dashboard uid -> URL."""
INFERENCE_URL_TEMPLATE = "inferenceUrlTemplate"
"""URL of an InferenceService `{name}` in `{namespace}` (KServe raw deployment)."""
INFERENCE_INGRESS_CLASS = "inferenceIngressClass"
NOTEBOOKS_URL = "notebooksUrl"
"""JupyterHub URL, or empty where the stack has no notebooks."""

SERVICES_KEYS = (
    TRACKING_URI,
    TRACKING_URIS,
    S3_ENDPOINT,
    S3_BUCKETS,
    S3_CREDENTIALS_SECRET,
    OTLP_ENDPOINT,
    GRAFANA_URL,
    PROMETHEUS_URL,
    DASHBOARDS,
    INFERENCE_URL_TEMPLATE,
    INFERENCE_INGRESS_CLASS,
    NOTEBOOKS_URL,
)
"""Every key the services block of a stack exports."""
