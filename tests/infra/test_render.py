"""infra.verify.render under mocks: what a program exports, and random values as rendered."""

from __future__ import annotations

import json

import pulumi
import pulumi_random as random
from pulumi_kubernetes.core.v1 import ConfigMap, Secret

from infra.verify.render import (
    REDACTED,
    fake_random_result,
    kubernetes_objects,
    run_under_mocks,
    stack_exports,
)


class _Box(pulumi.ComponentResource):
    """A top-level component with outputs of its own, which are not stack exports."""

    def __init__(self, name: str) -> None:
        super().__init__("ai4s:test:Box", name)
        self.register_outputs({"internal": "component-only", "url": "http://box"})


def test_exports_are_the_root_stacks_not_the_components():
    def program() -> None:
        _Box("box")
        pulumi.export("url", "http://exported")
        pulumi.export("count", 3)
        pulumi.export("names", ["a", "b"])

    run_under_mocks(program)
    assert stack_exports() == {"url": "http://exported", "count": 3, "names": ["a", "b"]}


def test_secret_exports_are_redacted_even_when_nested():
    def program() -> None:
        password = random.RandomPassword("pw", length=16, special=False)
        pulumi.export("password", password.result)
        pulumi.export("login", {"user": "admin", "password": pulumi.Output.secret("s3cret")})
        pulumi.export("plain", "visible")

    run_under_mocks(program)
    assert stack_exports() == {"password": REDACTED, "login": REDACTED, "plain": "visible"}


def _password_program(leak: bool):
    def program() -> None:
        password = random.RandomPassword("db", length=24, special=False)
        Secret(
            "creds",
            metadata={"name": "creds", "namespace": "x"},
            string_data={"user": "app", "password": password.result},
        )
        if leak:
            ConfigMap("oops", metadata={"name": "oops", "namespace": "x"},
                      data={"pw": password.result})

    return program


def test_a_random_password_renders_redacted_in_its_secret_not_missing():
    objects = kubernetes_objects(run_under_mocks(_password_program(leak=False)).registrations)
    (secret,) = [o for o in objects if o["kind"] == "Secret"]
    assert secret["stringData"] == {"user": REDACTED, "password": REDACTED}


def test_a_leaked_password_is_findable_and_still_not_written_in_clear():
    """The render mocks' stand-in is a real, findable value (a null password would leak
    nothing and prove nothing), and it is a secret, so even a leaked one renders redacted."""
    regs = run_under_mocks(_password_program(leak=True)).registrations
    (leaky,) = [r for r in regs if r.name == "oops"]
    assert fake_random_result("db") in json.dumps(leaky.inputs, default=str)
    (configmap,) = [o for o in kubernetes_objects(regs) if o["kind"] == "ConfigMap"]
    assert configmap["data"] == {"pw": REDACTED}
