"""Object storage (MinIO): buckets, per-team users and policies, credentials, network access."""

from __future__ import annotations

import pytest
from test_secrets_harness import TEAMS, depends_on, render_services

from infra.components.storage import WORKLOAD_SECRET_NAME, ObjectStorageArgs, team_policy
from infra.config.services import ChartPin, Resources, StorageConfig, services_config_from_mapping
from infra.verify import policy
from infra.verify.validate import validate_object


@pytest.fixture(scope="module")
def rendered():
    return render_services()


def test_buckets_users_and_policies(rendered):
    values = rendered.release("ai4s-storage")["values"]
    assert [b["name"] for b in values["buckets"]] == ["datasets", "artifacts", "checkpoints", "results"]
    assert {b["name"]: b["versioning"] for b in values["buckets"]}["checkpoints"] is True
    assert values["mode"] == "standalone" and values["persistence"]["enabled"] is True
    users = {u["accessKey"]: u for u in values["users"]}
    assert set(users) == {"ai4s-climate", "ai4s-drugs", "ai4s-mlflow-climate", "ai4s-mlflow-drugs",
                          "ai4s-postgres-backup"}
    assert users["ai4s-climate"]["policy"] == "team-climate"
    policies = {p["name"]: p for p in values["policies"]}
    assert policies["team-climate"] == team_policy("climate", ("datasets", "artifacts", "checkpoints", "results"))
    # A team's MLflow may only touch its team's prefix of the artifacts bucket: no service
    # holds bucket-wide credentials.
    resources = {r for s in policies["svc-mlflow-climate"]["statements"] for r in s["resources"]}
    assert resources == {"arn:aws:s3:::artifacts/climate/mlflow/*", "arn:aws:s3:::artifacts"}


def test_team_policy_confines_object_access_to_the_team_prefix():
    statements = team_policy("climate", ("datasets", "results"))["statements"]
    object_rules = [s for s in statements if "s3:GetObject" in s["actions"]]
    assert object_rules[0]["resources"] == ["arn:aws:s3:::datasets/climate/*", "arn:aws:s3:::results/climate/*"]
    assert all("s3:*" not in s["actions"] for s in statements)


def test_each_team_namespace_gets_a_credentials_secret_after_its_namespace(rendered):
    secrets = [o for o in rendered.objects_of("Secret") if o["metadata"]["name"] == WORKLOAD_SECRET_NAME]
    assert sorted(s["metadata"]["namespace"] for s in secrets) == sorted(TEAMS.values())
    for s in secrets:
        assert set(s["stringData"]) == {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_ENDPOINT_URL",
                                        "MLFLOW_S3_ENDPOINT_URL", "AWS_DEFAULT_REGION"}


def test_release_waits_for_namespace_and_the_secrets_it_names(rendered):
    for secret in ("ai4s-storage-root", "ai4s-storage-climate-user", "ai4s-storage-mlflow-climate-user"):
        assert depends_on(rendered, "ai4s-storage-release", secret)
    assert depends_on(rendered, "ai4s-storage-release", "ai4s-ns-ai4s-services")


def test_s3_reachable_only_from_teams_and_services(rendered):
    (netpol,) = [o for o in rendered.objects_of("NetworkPolicy") if o["metadata"]["name"] == "ai4s-storage-allow-s3"]
    selector = netpol["spec"]["ingress"][0]["from"][0]["namespaceSelector"]["matchExpressions"][0]
    assert selector["values"] == sorted({"ai4s-services", *TEAMS.values()})
    assert netpol["spec"]["ingress"][0]["ports"] == [{"protocol": "TCP", "port": 9000}]
    # The minio chart labels its pods app=minio, release=<release name>.
    assert netpol["spec"]["podSelector"] == {"matchLabels": {"app": "minio", "release": "ai4s-storage"}}


def test_objects_validate_and_pass_policy(rendered):
    mine = [o for o in rendered.objects if o["metadata"].get("namespace") == "ai4s-services"]
    assert mine
    assert [f for o in mine for f in validate_object(o)] == []
    assert policy.check(rendered.objects, rendered.releases) == []


def _args(**change) -> ObjectStorageArgs:
    base = dict(chart=ChartPin(chart="minio", version="5.4.0", repo="https://charts.min.io/"),
                image="quay.io/minio/minio:RELEASE.2024-12-18T13-15-44Z",
                mc_image="quay.io/minio/mc:RELEASE.2024-11-21T17-21-54Z", namespace="ai4s-services",
                volume_size="10Gi", storage_class="", buckets=("artifacts",), resources=Resources(),
                team_namespaces={"climate": "team-climate"}, service_users={})
    return ObjectStorageArgs(**{**base, **change})


@pytest.mark.parametrize(("change", "message"), [
    ({"image": "quay.io/minio/minio:latest"}, "storage.image"),
    ({"mc_image": "quay.io/minio/mc"}, "storage.mc_image"),
    ({"team_namespaces": {"Climate": "team-climate"}}, "storage.team_namespaces"),
    ({"service_users": {"mlflow": ("ai4s-services", "models", "x")}}, "bucket 'models'"),
    ({"service_users": {"climate": ("ai4s-services", "artifacts", "x")}}, "clash with team names"),
    ({"service_users": {"mlflow": ("ai4s-services", "artifacts", "/")}}, "a prefix is required"),
])
def test_bad_args_are_rejected(change, message):
    with pytest.raises(ValueError, match=message):
        _args(**change)


@pytest.mark.parametrize(("raw", "message"), [
    ({"storage": {"volumeSize": "-5Gi"}}, "services.storage.volumeSize"),
    ({"storage": {"buckets": ["datasets"]}}, "must include 'artifacts'"),
    ({"storage": {"buckets": ["artifacts", "artifacts"]}}, "duplicate"),
    ({"storage": {"buckets": ["Artifacts_1"]}}, "services.storage.buckets"),
    ({"storage": {"size": "5Gi"}}, "services.storage.size: unknown key"),
    ({"storage": {"resources": {"cpuRequest": "lots"}}}, "cpuRequest"),
    ({"storage": "big"}, "services.storage: expected a mapping"),
])
def test_bad_storage_config_names_the_key(raw, message):
    with pytest.raises(ValueError, match=message):
        services_config_from_mapping(raw)


def test_defaults_and_camel_case_keys():
    cfg = services_config_from_mapping({"storage": {"volumeSize": "50Gi", "storageClass": "fast"}})
    assert cfg.storage == StorageConfig(volume_size="50Gi", storage_class="fast")


def test_chart_pin_names_a_classic_or_an_oci_chart_for_helm():
    from infra.config.services import ChartPin

    classic = ChartPin(chart="minio", version="5.4.0", repo="https://charts.min.io/")
    assert classic.release_args() == {
        "chart": "minio", "version": "5.4.0", "repository_opts": {"repo": "https://charts.min.io/"},
    }
    oci = ChartPin(chart="oci://ghcr.io/kserve/charts/kserve", version="v0.16.0")
    assert oci.release_args() == {"chart": "oci://ghcr.io/kserve/charts/kserve", "version": "v0.16.0"}
