"""Tracking: CloudNativePG operator and Cluster, MLflow server wired to PostgreSQL and MinIO."""

from __future__ import annotations

import copy

import pytest
from test_secrets_harness import TEAMS, depends_on, render_services

from infra.components.tracking import mlflow_server_args
from infra.config.services import services_config_from_mapping
from infra.verify import crds, policy
from infra.verify.validate import validate_object


@pytest.fixture(scope="module")
def rendered():
    return render_services()


def one(rendered, kind, name):
    (obj,) = [o for o in rendered.objects_of(kind) if o["metadata"]["name"] == name]
    return obj


def test_cluster_waits_for_the_operator_release_that_installs_its_crd(rendered):
    assert depends_on(rendered, "ai4s-tracking-db", "ai4s-tracking-cnpg")
    assert depends_on(rendered, "ai4s-tracking-server", "ai4s-tracking-db")
    # MLflow also waits for MinIO, whose job creates its bucket and user.
    assert depends_on(rendered, "ai4s-tracking-server", "ai4s-storage-release")
    operator = rendered.release("cnpg")
    assert operator["namespace"] == "cnpg-system" and operator["values"]["crds"]["create"] is True


def test_cluster_validates_against_its_schema_and_a_broken_one_is_rejected(rendered):
    cluster = one(rendered, "Cluster", "ai4s-tracking-db")
    assert validate_object(cluster) == []
    assert cluster["spec"]["bootstrap"]["initdb"] == {
        "database": "mlflow", "owner": "mlflow", "secret": {"name": "ai4s-tracking-db-app"}}
    schema = crds.lookup("postgresql.cnpg.io/v1", "Cluster")
    for mutate in (lambda c: c["spec"].update(instances=0),
                   lambda c: c["spec"].pop("instances"),
                   lambda c: c["spec"]["storage"].update(size="lots"),
                   lambda c: c["spec"].update(imageName="postgres"),
                   lambda c: c["spec"]["bootstrap"]["initdb"].update(pasword="x")):
        broken = copy.deepcopy(cluster)
        mutate(broken)
        assert schema.errors(broken), broken["spec"]


def test_mlflow_gets_database_uri_and_s3_credentials_only_from_secrets(rendered):
    deployment = one(rendered, "Deployment", "ai4s-tracking")
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    env = {e["name"]: e for e in container["env"]}
    assert env["MLFLOW_BACKEND_STORE_URI"]["valueFrom"]["secretKeyRef"] == {"name": "ai4s-tracking-backend", "key": "uri"}
    assert container["envFrom"] == [{"secretRef": {"name": "ai4s-tracking-s3"}}]
    args = container["args"]
    assert args[args.index("--backend-store-uri") + 1] == "$(MLFLOW_BACKEND_STORE_URI)"
    assert args[args.index("--artifacts-destination") + 1] == "s3://artifacts/mlflow"
    assert args[args.index("--host") + 1] == "$(POD_IP)"  # never 0.0.0.0
    assert "--serve-artifacts" in args
    assert container["image"] == "docker.io/burakince/mlflow:3.17.2"
    backend = one(rendered, "Secret", "ai4s-tracking-backend")
    assert set(backend["stringData"]) == {"uri"}


def test_allowed_hosts_cover_the_service_names():
    args = mlflow_server_args("artifacts", ["mlflow.ns.svc.cluster.local:5000", "localhost:*"])
    assert args[args.index("--allowed-hosts") + 1] == "mlflow.ns.svc.cluster.local:5000,localhost:*"


def test_reachable_from_team_namespaces(rendered):
    netpol = one(rendered, "NetworkPolicy", "ai4s-tracking-allow-clients")
    values = netpol["spec"]["ingress"][0]["from"][0]["namespaceSelector"]["matchExpressions"][0]["values"]
    assert set(TEAMS.values()) <= set(values) and "monitoring" in values
    assert rendered.outputs["trackingUri"] == "http://ai4s-tracking.ai4s-services.svc.cluster.local:5000"


def test_objects_validate_and_pass_policy(rendered):
    for name, kind in (("ai4s-tracking", "Deployment"), ("ai4s-tracking", "Service"),
                       ("ai4s-tracking-allow-clients", "NetworkPolicy")):
        assert validate_object(one(rendered, kind, name)) == []
    assert policy.check(rendered.objects, rendered.releases) == []


@pytest.mark.parametrize(("raw", "message"), [
    ({"tracking": {"postgresInstances": 0}}, "services.tracking.postgresInstances"),
    ({"tracking": {"replicas": 11}}, "services.tracking.replicas"),
    ({"tracking": {"postgresVolumeSize": "5GB"}}, "services.tracking.postgresVolumeSize"),
    ({"tracking": {"namespace": "Tracking"}}, "services.tracking.namespace"),
])
def test_bad_tracking_config_names_the_key(raw, message):
    with pytest.raises(ValueError, match=message):
        services_config_from_mapping(raw)


def test_server_args_parse_with_the_pinned_mlflow_cli():
    # The image runs the same MLflow as the kit's client (3.17.2); its CLI must accept every
    # flag we pass (an unknown or misspelt option raises NoSuchOption).
    import click
    from mlflow.cli import cli

    from infra.versions import pin

    assert pin("mlflow-image").version == __import__("mlflow").__version__
    server = cli.commands["server"]
    ctx = server.make_context("server", mlflow_server_args("artifacts", ["a.b:5000"])[1:])
    assert ctx.params["artifacts_destination"] == "s3://artifacts/mlflow"
    assert ctx.params["serve_artifacts"] is True
    assert ctx.params["host"] == "$(POD_IP)"
    with pytest.raises(click.NoSuchOption):
        server.make_context("server", ["--artifact-destination", "s3://x"])
