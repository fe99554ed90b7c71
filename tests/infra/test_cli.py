"""The platform Typer app: render and validate through CliRunner."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from infra.cli import app

runner = CliRunner()


@pytest.fixture(scope="module")
def local_render(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("cli-local")
    result = runner.invoke(app, ["render", "--stack", "local", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "Helm releases written" in result.output
    return out


def test_render_then_validate_local(local_render: Path):
    result = runner.invoke(app, ["validate", str(local_render)])
    assert result.exit_code == 0, result.output
    assert "0 validation errors, 0 policy violations" in result.output


def test_validate_fails_on_a_tampered_render(local_render: Path, tmp_path: Path):
    tmp_path = Path(shutil.copytree(local_render, tmp_path / "copy"))
    path = next((tmp_path / "objects").glob("clusterqueue.*.yaml"))
    obj = yaml.safe_load(path.read_text())
    obj["spec"]["queueingStrategy"] = "Random"
    path.write_text(yaml.safe_dump(obj))
    ns_path = next((tmp_path / "objects").glob("namespace._cluster.team-climate.yaml"))
    ns = yaml.safe_load(ns_path.read_text())
    ns["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] = "privileged"
    ns_path.write_text(yaml.safe_dump(ns))
    result = runner.invoke(app, ["validate", str(tmp_path)])
    assert result.exit_code == 1
    assert "queueingStrategy" in result.output and "[tenant-restricted]" in result.output


def test_bad_input_is_one_line_and_exit_2(tmp_path: Path):
    result = runner.invoke(app, ["render", "--stack", "mars", "--out", str(tmp_path)])
    assert result.exit_code == 2 and "unknown stack 'mars'" in result.output
    bad = tmp_path / "bad.yaml"
    bad.write_text("config:\n  ai4s:compute:\n    teams:\n      - {name: a, quota: {cpu: '1'}}\n")
    result = runner.invoke(
        app, ["render", "--stack", "local", "--out", str(tmp_path / "o"), "--config", str(bad)]
    )
    assert result.exit_code == 2
    assert "compute.teams[0].namespace: required" in result.output
    assert "Traceback" not in result.output
    result = runner.invoke(app, ["validate", str(tmp_path / "empty")])
    assert result.exit_code == 2 and "no objects/ folder" in result.output


def test_validate_holds_releases_to_their_chart_contract(local_render: Path, tmp_path: Path):
    tmp_path = Path(shutil.copytree(local_render, tmp_path / "copy"))
    path = next((tmp_path / "objects").glob("configmap.*.services-obs-otel-collector-config.yaml"))
    obj = yaml.safe_load(path.read_text())
    relay = yaml.safe_load(obj["data"]["relay"])
    del relay["service"]["extensions"]
    obj["data"]["relay"] = yaml.safe_dump(relay)
    path.write_text(yaml.safe_dump(obj))
    result = runner.invoke(app, ["validate", str(tmp_path)])
    assert result.exit_code == 1
    assert "health_check is not enabled" in result.output


def test_validate_checks_tenancy_across_teams(local_render: Path, tmp_path: Path):
    tmp_path = Path(shutil.copytree(local_render, tmp_path / "copy"))
    leak = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
            "metadata": {"name": "guests", "namespace": "team-climate"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "team-member"},
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "dd-dev"}]}
    (tmp_path / "objects" / "rolebinding.team-climate.guests.yaml").write_text(yaml.safe_dump(leak))
    result = runner.invoke(app, ["validate", str(tmp_path)])
    assert result.exit_code == 1
    assert "[rbac] team drug-discovery -> team climate" in result.output
