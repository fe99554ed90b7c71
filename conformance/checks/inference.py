"""Inference networking, live (CNCF ai_inference and the networking SHOULDs).

The MUST observes the serving path the kit builds: KServe writes an HTTPRoute for each
InferenceService onto the Gateway the stack names, so a ready InferenceService whose route
a programmed Gateway of an accepted GatewayClass has accepted is reachable through the
Gateway API. The SHOULDs look for the API or objects of each mechanism. Without a cluster
every check is `unknown`; their decisions are tested against an API test double only.
"""

from __future__ import annotations

from ..registry import Context, Result, check, failed, not_applicable, unknown, verdict
from . import kube

GATEWAY = ("gateway.networking.k8s.io", "v1")
KSERVE = ("serving.kserve.io", "v1beta1")
INFERENCE_EXTENSION = ("inference.networking.k8s.io", "v1")
NETWORK_ATTACHMENTS = ("k8s.cni.cncf.io", "v1")
DISAGGREGATED_ROLE_LABEL = "llm-d.ai/role"


def _name(obj: dict) -> str:
    return (obj.get("metadata") or {}).get("name", "")


def _namespace(obj: dict) -> str:
    return (obj.get("metadata") or {}).get("namespace", "")


def inference_verdict(classes: list[dict] | None, gateways: list[dict] | None, routes: list[dict] | None,
                      services: list[dict] | None) -> Result:
    """Decision of ai_inference over what the cluster lists (None: that API is not served)."""
    if classes is None or gateways is None or routes is None:
        return failed("the Gateway API (gateway.networking.k8s.io/v1) is not served")
    if services is None:
        return failed("KServe's InferenceService API (serving.kserve.io/v1beta1) is not served")
    accepted = {_name(c) for c in classes if kube.conditions_true(c, "Accepted")}
    programmed = {(_namespace(g), _name(g)) for g in gateways
                  if kube.conditions_true(g, "Programmed") and (g.get("spec") or {}).get("gatewayClassName") in accepted}
    evidence = {"accepted_gateway_classes": sorted(accepted), "programmed_gateways": sorted("/".join(g) for g in programmed)}
    if not programmed:
        return failed("no programmed Gateway of an accepted GatewayClass", **evidence)
    ready = {(_namespace(s), _name(s)) for s in services if kube.conditions_true(s, "Ready")}
    if not ready:
        return unknown("not assessed: no ready InferenceService to route to; serve a model first "
                       "(the climate or drug `serve` stage)", **evidence)
    routed = []
    for route in routes:
        parents = (route.get("status") or {}).get("parents") or []
        attached = any((p.get("parentRef") or {}).get("name") in {g for _, g in programmed}
                       and any(c.get("type") == "Accepted" and c.get("status") == "True"
                               for c in p.get("conditions") or [])
                       for p in parents)
        backends = {b.get("name", "") for rule in (route.get("spec") or {}).get("rules") or []
                    for b in rule.get("backendRefs") or []}
        for ns, isvc in ready:
            if attached and _namespace(route) == ns and any(b.startswith(isvc) for b in backends):
                routed.append(f"{ns}/{isvc} via {_name(route)}")
    return verdict(bool(routed), f"{len(routed)} ready InferenceServices routed through the Gateway API",
                   f"no accepted HTTPRoute on a programmed Gateway reaches the ready InferenceServices "
                   f"{sorted('/'.join(s) for s in ready)}", routed=routed, **evidence)


@check("AI4S-NET-001")
def ai_inference(context: Context) -> Result:
    return kube.live(context, lambda api: inference_verdict(
        kube.list_custom(api, *GATEWAY, "gatewayclasses"), kube.list_custom(api, *GATEWAY, "gateways"),
        kube.list_custom(api, *GATEWAY, "httproutes"), kube.list_custom(api, *KSERVE, "inferenceservices")))


def inference_extension_verdict(pools: list[dict] | None) -> Result:
    if pools is None:
        return failed("the Gateway API Inference Extension (InferencePool, inference.networking.k8s.io/v1) "
                      "is not served")
    return verdict(True, f"InferencePool is served ({len(pools)} pools)", "", pools=len(pools))


@check("AI4S-NET-002")
def advanced_inference_ingress(context: Context) -> Result:
    return kube.live(context, lambda api: inference_extension_verdict(
        kube.list_custom(api, *INFERENCE_EXTENSION, "inferencepools")))


def network_verdict(slices: list[dict] | None, attachments: list[dict] | None) -> Result:
    """DRA network devices (a ResourceSlice of a driver named for networking) or Multus-style
    network attachments; neither means no high-performance network is published."""
    network_drivers = sorted({(s.get("spec") or {}).get("driver", "") for s in slices or []
                              if "net" in (s.get("spec") or {}).get("driver", "")})
    if network_drivers or attachments:
        return verdict(True, f"network devices published: drivers {network_drivers}, "
                       f"{len(attachments or [])} network attachments", "",
                       dra_network_drivers=network_drivers, network_attachments=len(attachments or []))
    return not_applicable("no high-performance network is published (no DRA network driver, no network "
                          "attachment definitions); it applies only where workloads need one")


@check("AI4S-NET-003")
def high_performance_networking(context: Context) -> Result:
    def probe(api: kube.Api) -> Result:
        slices = (api.raw.get("/apis/resource.k8s.io/v1/resourceslices") or {}).get("items")
        return network_verdict(slices, kube.list_custom(api, *NETWORK_ATTACHMENTS, "network-attachment-definitions"))
    return kube.live(context, probe)


def disaggregated_verdict(roles: list[str]) -> Result:
    found = sorted(set(roles))
    return verdict({"prefill", "decode"} <= set(found),
                   "separate prefill and decode instances run", "no disaggregated inference deployment "
                   f"(pods labelled {DISAGGREGATED_ROLE_LABEL}=prefill and =decode); the kit does not deploy one",
                   roles=found)


@check("AI4S-NET-004")
def disaggregated_inference(context: Context) -> Result:
    def probe(api: kube.Api) -> Result:
        pods = api.core.list_pod_for_all_namespaces(label_selector=DISAGGREGATED_ROLE_LABEL).items
        return disaggregated_verdict([(p.metadata.labels or {}).get(DISAGGREGATED_ROLE_LABEL, "") for p in pods])
    return kube.live(context, probe)
