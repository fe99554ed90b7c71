"""Serving: cert-manager and KServe in raw-deployment mode.

KServe 0.16 calls raw deployment "Standard" mode: InferenceServices become plain
Deployments, Services and Ingresses (no Knative, no Istio). cert-manager issues the
webhook certificates KServe's controller needs, so KServe's releases wait for it; the CRD
chart is a separate release that the controller release waits for, which also makes
``pulumi destroy`` remove the controller before the CRDs.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
from pulumi_kubernetes.core.v1 import Namespace
from pulumi_kubernetes.helm.v3 import Release

from infra.services_config import ChartPin, check_dns_label, restricted_namespace_labels

DEPLOYMENT_MODE = "Standard"
"""KServe 0.16's name for RawDeployment."""


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


def kserve_values(args: ServingArgs) -> dict:
    """Values of the KServe controller chart."""
    return {
        "kserve": {
            "controller": {
                "deploymentMode": DEPLOYMENT_MODE,
                "gateway": {
                    "domain": args.ingress_domain,
                    "ingressGateway": {"className": args.ingress_class, "enableGatewayApi": False},
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
            chart=args.cert_manager_chart.chart, version=args.cert_manager_chart.version,
            repository_opts={"repo": args.cert_manager_chart.repo},
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
            chart=args.kserve_crd_chart.chart, version=args.kserve_crd_chart.version,
            values={}, opts=pulumi.ResourceOptions(parent=self, depends_on=[ns]),
        )
        self.kserve = Release(
            f"{name}-kserve", name="kserve", namespace=args.namespace,
            chart=args.kserve_chart.chart, version=args.kserve_chart.version,
            values=kserve_values(args),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[ns, self.cert_manager, self.crds]),
        )
        self.register_outputs({"url_template": self.url_template, "ingress_class": self.ingress_class})
