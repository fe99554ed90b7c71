"""Shared harness for the platform-services tests: run the services block under mocks.

Uses part 1's recording monitor (infra.verify.render) so dependencies and parents are recorded,
with mocks that give every RandomPassword a recognisable random value, so tests can search
everything rendered for it.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
from pulumi.runtime import mocks, settings
from pulumi.runtime.sync_await import _sync_await

from infra.components.services import build_services
from infra.config.services import ServicesConfig, services_config_from_mapping
from infra.verify.render import Registration, helm_releases, kubernetes_objects, run_under_mocks

TEAMS = {"climate": "team-climate", "drugs": "team-drugs"}
QUEUES = {"climate": "climate", "drugs": "drugs"}
PLATFORM_NAMESPACES = ("ai4s-services",)
PASSWORD_TYPE = "random:index/randomPassword:RandomPassword"
SECRET_SIG_KEY = "4dabf18193072939515e22adb298388d"  # pulumi's marker of a secret value
REDACTED = "<redacted>"


OAUTH = {"authorizeUrl": "https://idp.test/auth", "tokenUrl": "https://idp.test/token",
         "userdataUrl": "https://idp.test/userinfo", "clientId": "hub"}
NOTEBOOKS_ON = {"enabled": True, "oauth": OAUTH, "gpuQuota": 2, "apiServerCidrs": ["10.0.0.10/32"]}
"""Notebooks enabled with everything they require."""

def redacted(node: Any) -> Any:
    """``node`` with every Pulumi secret replaced by a placeholder (keys kept)."""
    if isinstance(node, Mapping):
        if SECRET_SIG_KEY in node:
            value = node.get("value")
            return {k: REDACTED for k in value} if isinstance(value, Mapping) else REDACTED
        return {k: redacted(v) for k, v in node.items()}
    if isinstance(node, list):
        return [redacted(v) for v in node]
    return node


class SecretMocks(mocks.Mocks):
    """State = inputs; RandomPassword.result = a fresh marker value, remembered."""

    def __init__(self) -> None:
        self.generated: list[str] = []

    def new_resource(self, args: mocks.MockResourceArgs):
        state = dict(args.inputs)
        if args.typ == PASSWORD_TYPE:
            value = "pw" + secrets.token_hex(16)
            self.generated.append(value)
            state["result"] = value
        return f"{args.name}-id", state

    def call(self, args: mocks.MockCallArgs):
        return {}


@dataclass(kw_only=True, frozen=True, slots=True)
class Rendered:
    registrations: list[Registration]
    objects: list[dict]
    releases: list[dict]
    outputs: dict[str, Any]
    generated_secrets: list[str]

    def by_type(self, type_: str) -> list[Registration]:
        return [r for r in self.registrations if r.type == type_]

    def reg(self, name: str) -> Registration:
        found = [r for r in self.registrations if r.name == name]
        assert len(found) == 1, f"{name}: {len(found)} registrations"
        return found[0]

    def objects_of(self, kind: str) -> list[dict]:
        return [o for o in self.objects if o["kind"] == kind]

    def release(self, name: str) -> dict:
        found = [r for r in self.releases if r["name"] == name]
        assert len(found) == 1, f"release {name}: {len(found)} found"
        return found[0]


def run_program(program: Callable[[], Any], config: Mapping[str, str] | None = None) -> Rendered:
    """Run ``program`` under the recording monitor with :class:`SecretMocks`."""
    secret_mocks = SecretMocks()
    monitor = run_under_mocks(program, config=config, resource_mocks=secret_mocks)
    # set_mocks made a root Stack; pulumi.export put the program's outputs on it.
    exports = settings.get_root_resource().outputs
    resolved = _sync_await(pulumi.Output.from_input(dict(exports)).future())
    regs = monitor.registrations
    return Rendered(registrations=regs, objects=[redacted(o) for o in kubernetes_objects(regs)], releases=helm_releases(regs),
                    outputs=dict(resolved or {}), generated_secrets=secret_mocks.generated)


def render_services(raw_config: Mapping[str, Any] | None = None, *, teams: Mapping[str, str] = TEAMS,
                    config: ServicesConfig | None = None, gpu: bool = False) -> Rendered:
    """Run the services block alone (as a stack would after its compute block)."""
    cfg = config or services_config_from_mapping(raw_config)

    def program() -> None:
        for key, value in build_services(
            "ai4s", cfg, team_namespaces=teams, team_cluster_queues={t: QUEUES.get(t, t) for t in teams},
            team_local_queues={t: QUEUES.get(t, t) for t in teams},
            kueue_namespace="kueue-system", platform_namespaces=PLATFORM_NAMESPACES,
            monitoring_namespace="monitoring", gpu=gpu,
            team_members={ns: (f"group:{team}",) for team, ns in teams.items()},
        ).items():
            pulumi.export(key, value)

    return run_program(program)


def depends_on(rendered: Rendered, dependent: str, dependency: str) -> bool:
    """Whether registration ``dependent`` lists ``dependency`` among its dependencies."""
    target = rendered.reg(dependency).urn
    return target in rendered.reg(dependent).dependencies
