"""Tracking: CloudNativePG operator and Cluster, MLflow server wired to PostgreSQL and MinIO."""

from __future__ import annotations

import copy

import pytest
from test_secrets_harness import NOTEBOOKS_ON, TEAMS, depends_on, render_services

from infra.components.tracking import allowed_hosts, mlflow_server_args
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
    assert depends_on(rendered, "ai4s-tracking-db-climate", "ai4s-tracking-db")
    assert depends_on(rendered, "ai4s-tracking-climate-server", "ai4s-tracking-db-climate")
    # MLflow also waits for MinIO, whose job creates its bucket and user.
    assert depends_on(rendered, "ai4s-tracking-climate-server", "ai4s-storage-release")
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


def test_each_team_gets_its_own_server_database_and_artifact_prefix(rendered):
    for team in TEAMS:
        server = f"ai4s-tracking-{team}"
        deployment = one(rendered, "Deployment", server)
        container = deployment["spec"]["template"]["spec"]["containers"][0]
        env = {e["name"]: e for e in container["env"]}
        assert env["MLFLOW_DB_PASSWORD"]["valueFrom"]["secretKeyRef"] == {
            "name": "ai4s-tracking-db-app", "key": "password"}
        assert env["MLFLOW_BACKEND_STORE_URI"]["value"].endswith(f"/mlflow_{team}")
        assert "$(MLFLOW_DB_PASSWORD)@" in env["MLFLOW_BACKEND_STORE_URI"]["value"]
        assert container["envFrom"] == [{"secretRef": {"name": f"{server}-s3"}}]
        args = container["args"]
        assert args[args.index("--backend-store-uri") + 1] == "$(MLFLOW_BACKEND_STORE_URI)"
        assert args[args.index("--artifacts-destination") + 1] == f"s3://artifacts/{team}/mlflow"
        assert "--serve-artifacts" in args
        assert container["image"] == "docker.io/burakince/mlflow:3.17.2"
        database = one(rendered, "Database", f"ai4s-tracking-db-{team}")
        assert database["spec"]["name"] == f"mlflow_{team}"
        assert validate_object(database) == []
    assert rendered.outputs["trackingUris"] == {
        t: f"http://ai4s-tracking-{t}.ai4s-services.svc.cluster.local:5000" for t in TEAMS}


def test_server_binds_all_interfaces_so_port_forward_reaches_it():
    args = mlflow_server_args("artifacts", ["a:5000"], "climate")
    # kubectl port-forward connects to 127.0.0.1 in the pod; $(POD_IP) would refuse it
    assert args[args.index("--host") + 1] == "0.0.0.0"


def _accepts(hosts: list[str], host_header: str, pod_ip: str = "10.244.3.17") -> bool:
    """MLflow 3.17.2's own Host-header check, on the args as the kubelet expands them."""
    from mlflow.server.security_utils import is_allowed_host_header

    expanded = [h.replace("$(POD_IP)", pod_ip) for h in hosts]
    return is_allowed_host_header(expanded, host_header)


def test_allowed_hosts_admit_prometheus_pod_ip_scrapes_services_and_port_forward():
    args = mlflow_server_args("artifacts", allowed_hosts("ai4s-tracking-climate", "ai4s-services"), "climate")
    hosts = args[args.index("--allowed-hosts") + 1].split(",")
    assert _accepts(hosts, "10.244.3.17:5000")  # Prometheus scrapes the pod IP
    assert _accepts(hosts, "ai4s-tracking-climate.ai4s-services.svc.cluster.local:5000")
    assert _accepts(hosts, "ai4s-tracking-climate:5000")
    assert _accepts(hosts, "localhost:5000")  # kubectl port-forward
    assert not _accepts(hosts, "evil.example.org")  # DNS rebinding stays refused
    assert not _accepts(hosts, "10.244.9.9:5000")  # another pod's IP


def test_the_old_allowed_hosts_refused_pod_ip_scrapes():
    # what the stack passed before: service names and localhost only -> 403 for Prometheus
    old = [f"{h}{p}" for h in ("ai4s-tracking", "ai4s-tracking.ai4s-services") for p in ("", ":5000")]
    assert not _accepts([*old, "localhost:*"], "10.244.3.17:5000")


def test_reachable_only_from_the_teams_own_namespace_notebooks_and_monitoring():
    rendered = render_services({"notebooks": NOTEBOOKS_ON}, gpu=True)
    for team, ns in TEAMS.items():
        netpol = one(rendered, "NetworkPolicy", f"ai4s-tracking-{team}-allow-clients")
        ingress = netpol["spec"]["ingress"]
        values = ingress[0]["from"][0]["namespaceSelector"]["matchExpressions"][0]["values"]
        assert sorted(values) == sorted([ns, "monitoring"])
        notebooks = ingress[1]["from"][0]
        assert notebooks["podSelector"] == {"matchLabels": {"ai4s.dev/team": team}}


def test_postgres_is_backed_up_to_its_own_prefix(rendered):
    cluster = one(rendered, "Cluster", "ai4s-tracking-db")
    store = cluster["spec"]["backup"]["barmanObjectStore"]
    assert store["destinationPath"] == "s3://artifacts/_backups/postgres"
    assert cluster["spec"]["backup"]["retentionPolicy"] == "30d"
    scheduled = one(rendered, "ScheduledBackup", "ai4s-tracking-db-daily")
    assert scheduled["spec"]["cluster"] == {"name": "ai4s-tracking-db"}
    assert validate_object(cluster) == [] and validate_object(scheduled) == []
    broken = copy.deepcopy(scheduled)
    broken["spec"]["schedule"] = "0 2 * * *"  # five fields: CloudNativePG wants six
    assert crds.lookup("postgresql.cnpg.io/v1", "ScheduledBackup").errors(broken)


def test_objects_validate_and_pass_policy(rendered):
    for team in TEAMS:
        for name, kind in ((f"ai4s-tracking-{team}", "Deployment"), (f"ai4s-tracking-{team}", "Service"),
                           (f"ai4s-tracking-{team}-allow-clients", "NetworkPolicy")):
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
    ctx = server.make_context("server", mlflow_server_args("artifacts", ["a.b:5000"], "climate")[1:])
    assert ctx.params["artifacts_destination"] == "s3://artifacts/climate/mlflow"
    assert ctx.params["serve_artifacts"] is True
    assert ctx.params["host"] == "0.0.0.0"
    with pytest.raises(click.NoSuchOption):
        server.make_context("server", ["--artifact-destination", "s3://x"])
