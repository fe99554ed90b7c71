"""Platform settings for a run, from a pod's environment or from a stack's outputs plus the
team's Secret; each missing or malformed value is one line naming it."""

from __future__ import annotations

import base64

import pytest

from infra import outputs
from infra.components.storage import WORKLOAD_SECRET_NAME, s3_credentials
from reference_workloads.core import platform_env
from reference_workloads.core.platform_env import (
    PlatformEnv,
    PlatformEnvError,
    S3Location,
    from_environ,
    from_stack,
    parse_storage,
    secret_data,
    storage_setting,
)
from reference_workloads.core.tracking import tracking_uri

ENDPOINT = "http://services-storage.ai4s-services.svc.cluster.local:9000"
DIGEST = "sha256:" + "ab" * 32


def stack_outputs(**changes: object) -> dict[str, object]:
    """The services block's exports as `pulumi stack output --json` gives them (the local stack)."""
    return {
        outputs.S3_ENDPOINT: ENDPOINT,
        outputs.S3_BUCKETS: ["datasets", "artifacts", "checkpoints", "results"],
        outputs.S3_CREDENTIALS_SECRET: WORKLOAD_SECRET_NAME,
        outputs.TRACKING_URI: "http://services-tracking-{team}.ai4s-services.svc.cluster.local:5000",
        outputs.TRACKING_URIS: {"climate": "http://services-tracking-climate.ai4s-services.svc.cluster.local:5000"},
        outputs.OTLP_ENDPOINT: "http://services-obs-otel-collector.ai4s-services.svc.cluster.local:4318",
        **changes,
    }


def team_secret() -> dict[str, str]:
    """The team's Secret as the stack writes it, read back as the API returns it (base64 data)."""
    written = s3_credentials("climate", "the-secret-key", ENDPOINT)
    return secret_data({"data": {k: base64.b64encode(v.encode()).decode() for k, v in written.items()}})


def test_the_output_keys_read_here_are_the_ones_the_stacks_export():
    assert (platform_env.OUT_S3_ENDPOINT, platform_env.OUT_S3_BUCKETS, platform_env.OUT_S3_CREDENTIALS_SECRET,
            platform_env.OUT_TRACKING_URI, platform_env.OUT_TRACKING_URIS, platform_env.OUT_OTLP_ENDPOINT) == \
        (outputs.S3_ENDPOINT, outputs.S3_BUCKETS, outputs.S3_CREDENTIALS_SECRET, outputs.TRACKING_URI,
         outputs.TRACKING_URIS, outputs.OTLP_ENDPOINT)
    assert platform_env.RUNS_BUCKET in stack_outputs()[outputs.S3_BUCKETS]


def test_a_stack_and_the_teams_secret_give_the_pods_environment_and_it_reads_back_the_same():
    settings = from_stack(stack_outputs(), team_secret(), team="climate", run="climate/ci_tiny", image_digest=DIGEST)
    assert settings.storage == S3Location("artifacts", "climate/runs/climate/ci_tiny")
    assert settings.s3.endpoint_url == ENDPOINT and settings.s3.region == "us-east-1"  # AWS_DEFAULT_REGION
    assert settings.credentials_secret == WORKLOAD_SECRET_NAME
    env = settings.as_environ()
    assert env["AI4S_STORAGE"] == "s3://artifacts/climate/runs/climate/ci_tiny"
    assert env["MLFLOW_TRACKING_URI"].startswith("http://services-tracking-climate.")
    assert env["OTEL_EXPORTER_OTLP_ENDPOINT"].endswith(":4318") and env["AI4S_IMAGE_DIGEST"] == DIGEST
    assert from_environ(env) == PlatformEnv(**{**{f: getattr(settings, f) for f in settings.__slots__},
                                               "credentials_secret": None})
    # in a pod the keys come from the Secret (envFrom): the object itself never carries them
    assert not {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"} & set(settings.as_environ(with_credentials=False))
    assert "the-secret-key" not in repr(settings)


def test_a_team_without_its_own_uri_gets_the_template_filled_in():
    settings = from_stack(stack_outputs(), team_secret(), team="drug-discovery", run="drug-discovery/ci_tiny")
    assert settings.mlflow_tracking_uri == "http://services-tracking-drug-discovery.ai4s-services.svc.cluster.local:5000"


@pytest.mark.parametrize(("changes", "secret_drops", "message"), [
    ({outputs.S3_ENDPOINT: ""}, (), "stack output 's3Endpoint' is missing"),
    ({outputs.OTLP_ENDPOINT: None}, (), "stack output 'otlpEndpoint' is missing"),
    ({outputs.S3_BUCKETS: ["datasets"]}, (), "lacks the 'artifacts' bucket"),
    ({}, ("AWS_SECRET_ACCESS_KEY",), "AWS_SECRET_ACCESS_KEY missing from the Secret 'ai4s-object-storage'"),
])
def test_each_missing_stack_value_is_named_in_one_line(changes, secret_drops, message):
    secret = {k: v for k, v in team_secret().items() if k not in secret_drops}
    with pytest.raises(PlatformEnvError) as error:
        from_stack(stack_outputs(**changes), secret, team="climate", run="climate/ci_tiny")
    assert message in str(error.value) and "\n" not in str(error.value)


@pytest.mark.parametrize(("environ", "message"), [
    ({"AI4S_STORAGE": "s3://runs/x"}, "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY missing from the environment"),
    ({"AI4S_STORAGE": "s3://runs/x", "AWS_ACCESS_KEY_ID": "k"}, "AWS_SECRET_ACCESS_KEY missing from the environment"),
    ({"AI4S_STORAGE": "gs://runs/x"}, "AI4S_STORAGE='gs://runs/x' is invalid: expected 'file' or s3://<bucket>/<prefix>"),
    ({"AI4S_STORAGE": "s3://Runs/x"}, "is invalid"),
    ({"AI4S_STORAGE": "s3://runs/a//b"}, "the prefix may not hold empty, '.' or '..' parts"),
    ({"AI4S_IMAGE_DIGEST": "latest"}, "AI4S_IMAGE_DIGEST='latest' is invalid: expected sha256:<64 hex digits>"),
])
def test_each_bad_environment_value_is_named_in_one_line(environ, message):
    with pytest.raises(PlatformEnvError) as error:
        from_environ(environ)
    assert message in str(error.value) and "\n" not in str(error.value)


def test_the_filesystem_is_the_default_and_needs_no_credentials():
    assert parse_storage(None) is None and parse_storage("file") is None
    assert from_environ({}).storage is None and from_environ({"AI4S_STORAGE": "file"}).s3 is None
    assert parse_storage("s3://runs/a/b/").key("x.json") == "a/b/x.json"
    assert parse_storage("s3://runs").key("x.json") == "x.json"


def test_the_storage_flag_is_set_for_the_run_only(monkeypatch):
    monkeypatch.setenv("AI4S_STORAGE", "file")
    with storage_setting("s3://runs/team/x"):
        assert from_environ({"AI4S_STORAGE": platform_env.os.environ["AI4S_STORAGE"], "AWS_ACCESS_KEY_ID": "k",
                             "AWS_SECRET_ACCESS_KEY": "s"}).storage == S3Location("runs", "team/x")
    assert platform_env.os.environ["AI4S_STORAGE"] == "file"
    with pytest.raises(PlatformEnvError), storage_setting("s3:/x"):
        pass


def test_tracking_goes_to_the_platforms_mlflow_when_the_environment_names_it(tmp_path, monkeypatch):
    settings = from_stack(stack_outputs(), team_secret(), team="climate", run="climate/ci_tiny")
    for name, value in settings.as_environ().items():
        monkeypatch.setenv(name, value)
    assert tracking_uri(tmp_path) == settings.mlflow_tracking_uri
    monkeypatch.delenv("MLFLOW_TRACKING_URI")
    assert tracking_uri(tmp_path).startswith("sqlite:///")
