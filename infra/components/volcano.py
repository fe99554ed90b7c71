"""Volcano: the gang scheduler for MPI jobs where a stack selects it.

Kueue still decides admission against team quotas; Volcano then places every pod of an
admitted MPI job at once (PodGroup), which avoids half-started launchers holding GPUs.
One Volcano Queue per team mirrors the team's share of the cluster.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from infra.components.operator_release import operator_namespace, pinned_release
from infra.config.compute import Team
from infra.versions import pin

API_VERSION = "scheduling.volcano.sh/" + pin("volcano-api").version
SCHEDULER_NAME = "volcano"
ADMISSIONS = (
    "/jobs/mutate", "/jobs/validate", "/podgroups/mutate", "/podgroups/validate",
    "/queues/mutate", "/queues/validate", "/hypernodes/validate", "/cronjobs/validate",
)
"""Volcano 1.15.1's webhook list (values.yaml custom.enabled_admissions) plus
/podgroups/mutate."""


@dataclass(kw_only=True, frozen=True, slots=True)
class VolcanoArgs:
    """Inputs of the Volcano component."""

    namespace: str = "volcano-system"
    """Namespace of the Volcano scheduler, controller and admission webhook."""
    teams: tuple[Team, ...]
    """One Queue per team; capability is the team's nominal quota plus borrowing limit."""
    capabilities: Sequence[dict]
    """Per team (same order), the resource list capping its Queue."""


class Volcano(pulumi.ComponentResource):
    """Volcano release and one Queue per team."""

    def __init__(self, name: str, args: VolcanoArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("ai4s:volcano:Volcano", name, None, opts)
        if len(args.capabilities) != len(args.teams):
            raise ValueError("VolcanoArgs.capabilities: one entry per team is required")
        # the admission webhook and scheduler run unprivileged; baseline is enough
        self.namespace = operator_namespace(self, name, args.namespace, "baseline")
        self.release = pinned_release(
            self,
            name,
            key="volcano",
            release_name="volcano",
            namespace=args.namespace,
            values={
                "basic": {
                    "image_tag_version": pin("volcano").app_version,
                    "image_pull_policy": "IfNotPresent",
                },
                "custom": {
                    "metrics_enable": True,
                    "leader_elect_enable": False,
                    # The chart's default list without /podgroups/mutate, which is what
                    # puts a PodGroup into the queue its namespace names (the MPI runtime's
                    # PodGroups would otherwise all land in `default`).
                    "enabled_admissions": ",".join(ADMISSIONS),
                },
            },
            depends_on=[self.namespace],
        )
        self.queues = {
            team.name: k8s.apiextensions.CustomResource(
                f"{name}-queue-{team.name}",
                api_version=API_VERSION,
                kind="Queue",
                metadata={"name": team.name},
                spec={"weight": 1, "reclaimable": True, "capability": dict(cap)},
                opts=pulumi.ResourceOptions(parent=self, depends_on=[self.release]),
            )
            for team, cap in zip(args.teams, args.capabilities, strict=True)
        }
        self.register_outputs({"queues": sorted(self.queues)})
