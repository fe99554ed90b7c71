"""Serving: cert-manager and KServe in raw-deployment mode.

KServe 0.16 calls raw deployment "Standard" mode: InferenceServices become plain
Deployments, Services and Ingresses (no Knative, no Istio). cert-manager issues the
webhook certificates KServe's controller needs, so KServe's releases wait for it; the CRD
chart is a separate release that the controller release waits for, which also makes
``pulumi destroy`` remove the controller before the CRDs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi
from pulumi_kubernetes.core.v1 import Namespace
from pulumi_kubernetes.helm.v3 import Release
from pulumi_kubernetes.networking.v1 import NetworkPolicy
from pulumi_kubernetes.rbac.v1 import ClusterRole, RoleBinding

from infra.config.services import ChartPin, check_dns_label, restricted_namespace_labels

DEPLOYMENT_MODE = "Standard"
"""KServe 0.16's name for RawDeployment."""
INFERENCE_ROLE = "ai4s-inference-user"
INFERENCE_RULES = (
    {"apiGroups": ["serving.kserve.io"], "resources": ["inferenceservices"],
     "verbs": ["get", "list", "watch", "create", "update", "patch", "delete"]},
    {"apiGroups": ["serving.kserve.io"], "resources": ["inferenceservices/status",
                                                       "servingruntimes", "clusterservingruntimes"],
     "verbs": ["get", "list", "watch"]},
)
"""What a team member needs to serve a model (the tenancy Role covers jobs, not serving)."""
ISVC_LABEL = "serving.kserve.io/inferenceservice"
PREDICTOR_PORT = 8080
GATEWAY_NAME = "kserve-ingress-gateway"
"""The Gateway (in the KServe namespace) KServe attaches HTTPRoutes to; the cluster's
Gateway API controller provides it (stacks/README.md, live prerequisites)."""


@dataclass(kw_only=True, frozen=True, slots=True)
class ServingArgs:
    """Inputs of :class:`Serving`."""

    cert_manager_chart: ChartPin
    """jetstack/cert-manager chart."""
    kserve_crd_chart: ChartPin
    """oci://ghcr.io/kserve/charts/kserve-crd chart."""
    kserve_chart: ChartPin
    """oci://ghcr.io/kserve/charts/kserve chart (controller, webhook, serving runtimes)."""
    namespace: str
    """KServe controller namespace (created here)."""
    cert_manager_namespace: str
    """cert-manager namespace (created here)."""
    ingress_domain: str
    """Domain for InferenceService hostnames."""
    ingress_class: str
    """IngressClass used for InferenceService Ingresses."""

    def __post_init__(self) -> None:
        check_dns_label("serving.namespace", self.namespace)
        check_dns_label("serving.cert_manager_namespace", self.cert_manager_namespace)
        check_dns_label("serving.ingress_class", self.ingress_class)
        if self.kserve_crd_chart.version != self.kserve_chart.version:
            raise ValueError(
                f"serving.kserve_crd_chart: version {self.kserve_crd_chart.version!r} must equal the "
                f"controller chart's {self.kserve_chart.version!r}"
            )


def rbac_subjects(team_members: Mapping[str, tuple[str, ...]]) -> dict[str, list[dict[str, str]]]:
    """Namespace -> RBAC subjects of its members (namespaces without members skipped)."""
    return {
        ns: [{"apiGroup": "rbac.authorization.k8s.io", "kind": m.partition(":")[0].capitalize(),
              "name": m.partition(":")[2]} for m in members]
        for ns, members in team_members.items() if members
    }


def kserve_values(args: ServingArgs) -> dict:
    """Values of the KServe controller chart."""
    return {
        "kserve": {
            "controller": {
                "deploymentMode": DEPLOYMENT_MODE,
                "gateway": {
                    "domain": args.ingress_domain,
                    # The Gateway API: ingress-nginx, which plain Ingresses assume, is retired
                    # upstream; KServe also writes HTTPRoutes for a Gateway of this class.
                    "ingressGateway": {"className": args.ingress_class, "enableGatewayApi": True,
                                       "kserveGateway": f"{args.namespace}/{GATEWAY_NAME}"},
                },
            },
            # Predictor pods get prometheus.io/* annotations, so the platform's
            # annotated-pods scrape job collects request latency from every model.
            "metricsaggregator": {"enablePrometheusScraping": "true"},
        },
    }


class Serving(pulumi.ComponentResource):
    """cert-manager, then the KServe CRDs, then the KServe controller."""

    url_template: pulumi.Output[str]
    ingress_class: pulumi.Output[str]

    def __init__(self, name: str, args: ServingArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("ai4s:serving:Serving", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.url_template = pulumi.Output.from_input(f"http://{{name}}-{{namespace}}.{args.ingress_domain}")
        self.ingress_class = pulumi.Output.from_input(args.ingress_class)

        cm_ns = Namespace(
            f"{name}-cert-manager-ns",
            metadata={"name": args.cert_manager_namespace,
                      "labels": restricted_namespace_labels(enforce="baseline")},
            opts=child,
        )
        self.cert_manager = Release(
            f"{name}-cert-manager", name="cert-manager", namespace=args.cert_manager_namespace,
            **args.cert_manager_chart.release_args(),
            values={"crds": {"enabled": True}, "prometheus": {"enabled": True}},
            opts=pulumi.ResourceOptions(parent=self, depends_on=[cm_ns]),
        )
        ns = Namespace(
            f"{name}-ns",
            metadata={"name": args.namespace, "labels": restricted_namespace_labels(enforce="baseline")},
            opts=child,
        )
        self.crds = Release(
            f"{name}-kserve-crd", name="kserve-crd", namespace=args.namespace,
            **args.kserve_crd_chart.release_args(),
            values={}, opts=pulumi.ResourceOptions(parent=self, depends_on=[ns]),
        )
        self.kserve = Release(
            f"{name}-kserve", name="kserve", namespace=args.namespace,
            **args.kserve_chart.release_args(),
            values=kserve_values(args),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[ns, self.cert_manager, self.crds]),
        )
        self.role = ClusterRole(
            f"{name}-inference-role", metadata={"name": INFERENCE_ROLE},
            rules=[dict(r) for r in INFERENCE_RULES], opts=child,
        )
        self.register_outputs({"url_template": self.url_template, "ingress_class": self.ingress_class})


@dataclass(kw_only=True, frozen=True, slots=True)
class ServingAccessArgs:
    """Inputs of :class:`ServingAccess`."""

    ingress_namespace: str = "ingress-nginx"
    """Namespace of the ingress controller, admitted to model pods in team namespaces."""
    team_members: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Team namespace -> members (``user:<name>`` or ``group:<name>``) who may serve models."""
    namespace_resources: tuple[pulumi.Resource, ...] = ()
    """Resources creating the team namespaces (and the serving ClusterRole); all wait for them."""

    def __post_init__(self) -> None:
        check_dns_label("serving.ingress_namespace", self.ingress_namespace)
        for ns, members in self.team_members.items():
            check_dns_label("serving.team_members", ns)
            for member in members:
                kind, _, who = member.partition(":")
                if kind not in ("user", "group") or not who:
                    raise ValueError(f"serving.team_members[{ns}]: {member!r} is not user:<name> or group:<name>")


class ServingAccess(pulumi.ComponentResource):
    """The team side of serving: members may manage InferenceServices, the ingress
    controller may reach model pods. Separate from :class:`Serving` because team
    namespaces are created after KServe (so destroy removes InferenceServices while the
    controller still runs) and these objects live in those namespaces."""

    def __init__(self, name: str, args: ServingAccessArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("ai4s:serving:ServingAccess", name, None, opts)
        for ns in sorted(args.team_members):
            # Team namespaces are default-deny: let the ingress controller reach model pods only.
            NetworkPolicy(
                f"{name}-allow-ingress-{ns}",
                metadata={"name": "allow-inference-ingress", "namespace": ns},
                spec={
                    "pod_selector": {"match_expressions": [{"key": ISVC_LABEL, "operator": "Exists"}]},
                    "policy_types": ["Ingress"],
                    "ingress": [{
                        "from": [{"namespace_selector": {"match_labels": {
                            "kubernetes.io/metadata.name": args.ingress_namespace}}}],
                        "ports": [{"protocol": "TCP", "port": PREDICTOR_PORT}],
                    }],
                },
                opts=pulumi.ResourceOptions(parent=self, depends_on=list(args.namespace_resources)),
            )
        for ns, members in sorted(rbac_subjects(args.team_members).items()):
            RoleBinding(
                f"{name}-inference-{ns}",
                metadata={"name": INFERENCE_ROLE, "namespace": ns},
                role_ref={"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                          "name": INFERENCE_ROLE},
                subjects=members,
                opts=pulumi.ResourceOptions(parent=self, depends_on=list(args.namespace_resources)),
            )
        self.register_outputs({})
