"""No generated secret value appears anywhere but inside a Kubernetes Secret.

Under the mocks every RandomPassword gets a fresh recognisable value; the test searches
every registered resource's inputs (Helm values, ConfigMaps, Deployments, custom resources,
component outputs) and the stack outputs for each value.
"""

from __future__ import annotations

import json
import runpy
import sys

import pulumi
import pytest
from pulumi_kubernetes.core.v1 import ConfigMap
from test_secrets_harness import NOTEBOOKS_ON, PASSWORD_TYPE, render_services, run_program

from infra import outputs
from infra.verify.render import STACKS_DIR, load_stack_config

SECRET_TYPE = "kubernetes:core/v1:Secret"


def leaks(rendered) -> list[str]:
    """Where a generated value shows up outside a Secret object."""
    found = []
    for reg in rendered.registrations:
        if reg.type in (SECRET_TYPE, PASSWORD_TYPE):
            continue
        text = json.dumps(reg.inputs, default=str)
        found += [f"{reg.type} {reg.name}" for v in rendered.generated_secrets if v in text]
    text = json.dumps(rendered.outputs, default=str)
    found += [f"stack output ({v[:6]}...)" for v in rendered.generated_secrets if v in text]
    return found


@pytest.fixture(scope="module")
def rendered():
    return render_services({"notebooks": NOTEBOOKS_ON}, gpu=True)


def test_every_password_is_used_and_only_inside_secrets(rendered):
    # root, grafana admin, database, the backup user's S3 key; per team its S3 key and its
    # MLflow server's S3 key
    assert len(rendered.generated_secrets) == 4 + 2 * 2
    assert leaks(rendered) == []
    secret_text = json.dumps([r.inputs for r in rendered.by_type(SECRET_TYPE)], default=str)
    for value in rendered.generated_secrets:
        assert value in secret_text  # each one does reach the Secret that carries it


def test_stack_outputs_give_endpoints_not_credentials(rendered):
    assert set(rendered.outputs) == set(outputs.SERVICES_KEYS)
    assert rendered.outputs[outputs.S3_CREDENTIALS_SECRET] == "ai4s-object-storage"
    assert rendered.outputs[outputs.TRACKING_URI].startswith("http://ai4s-tracking-{team}.ai4s-services.svc")
    assert rendered.outputs[outputs.TRACKING_URIS]["climate"].startswith("http://ai4s-tracking-climate.")


def test_helm_values_refer_to_secrets_by_name(rendered):
    minio = rendered.release("ai4s-storage")["values"]
    assert minio["existingSecret"] == "ai4s-storage-root"
    assert "rootPassword" not in minio and "rootUser" not in minio
    assert all("secretKey" not in u and u["existingSecret"] for u in minio["users"])
    grafana = rendered.release("ai4s-obs")["values"]["grafana"]["admin"]
    assert grafana["existingSecret"] == "ai4s-obs-grafana-admin"


def test_the_leak_check_catches_a_password_in_a_configmap():
    import pulumi_random as random

    def leaky() -> None:
        password = random.RandomPassword("pw", length=16, special=False)
        ConfigMap("oops", metadata={"name": "oops", "namespace": "x"}, data={"pw": password.result})
        pulumi.export("fine", "nothing here")

    assert leaks(run_program(leaky)) == ["kubernetes:core/v1:ConfigMap oops"]


def test_the_leak_check_catches_a_password_in_a_stack_output():
    import pulumi_random as random

    def leaky() -> None:
        password = random.RandomPassword("pw", length=16, special=False)
        pulumi.export("oops", password.result)

    assert len(leaks(run_program(leaky))) == 1


@pytest.mark.parametrize("stack", ["local", "gpu"])
def test_whole_stack_programs_keep_secrets_in_secrets(stack):
    folder = STACKS_DIR / stack
    config = load_stack_config(folder / f"Pulumi.{stack}.yaml")
    sys.path.insert(0, str(folder))
    try:
        rendered = run_program(lambda: runpy.run_path(str(folder / "__main__.py"), run_name="__main__"),
                               config=config)
    finally:
        sys.path.remove(str(folder))
    assert len(rendered.generated_secrets) >= 4
    assert leaks(rendered) == []
    assert set(outputs.SERVICES_KEYS) <= set(rendered.outputs)
    assert rendered.outputs[outputs.S3_BUCKETS] == ["datasets", "artifacts", "checkpoints", "results"]
