"""`python -m conformance`: exit codes, evidence files, the live checks' skip paths."""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest
from typer.testing import CliRunner

from conformance import runner as runner_module
from conformance.__main__ import app
from conformance.registry import REPO_ROOT, failed, passed, skipped

cli = CliRunner()


@pytest.fixture
def fake_checks(monkeypatch):
    checks = {}
    monkeypatch.setattr(runner_module, "registry", lambda: checks)
    return checks


def invoke(tmp_path, *args, env=None):
    return cli.invoke(app, ["--out", str(tmp_path / "evidence"), *args], env=env)


def test_exit_zero_when_only_a_should_fails_or_checks_skip(tmp_path, fake_checks):
    fake_checks.update({"AI4S-PLAT-001": lambda _: passed("ok"),
                        "AI4S-QUAL-002": lambda _: failed("GNN below forest"),
                        "AI4S-QUAL-001": lambda _: skipped("no results")})
    result = invoke(tmp_path, "--only", "AI4S-PLAT-001,AI4S-QUAL-001", "--only", "AI4S-QUAL-002")
    assert result.exit_code == 0, result.output
    doc = json.loads((tmp_path / "evidence" / "results.json").read_text())
    assert [r["status"] for r in doc["requirements"]] == ["passed", "skipped", "failed"]
    assert doc["summary"]["must_failed"] == []


def test_exit_one_when_a_must_fails(tmp_path, fake_checks):
    fake_checks["AI4S-PLAT-001"] = lambda _: failed("does not render")
    result = invoke(tmp_path, "--only", "AI4S-PLAT-001")
    assert result.exit_code == 1
    assert "MUST failed: AI4S-PLAT-001" in result.output
    suite = ET.parse(tmp_path / "evidence" / "junit.xml").getroot().find("testsuite")
    assert suite.get("failures") == "1"


def test_unknown_from_a_crashing_must_does_not_fail_the_run(tmp_path, fake_checks):
    fake_checks["AI4S-PLAT-001"] = lambda _: 1 / 0
    result = invoke(tmp_path, "--only", "AI4S-PLAT-001")
    assert result.exit_code == 0
    assert "check raised ZeroDivisionError" in (tmp_path / "evidence" / "results.json").read_text()
    assert "Traceback" in (tmp_path / "evidence" / "e2e.log").read_text()


@pytest.mark.parametrize("args, message", [
    (["--only", "AI4S-NOPE-001"], "requirement id 'AI4S-NOPE-001' is unknown"),
    (["--only", "weather"], "category 'weather' is unknown"),
    (["--layer", "cloud"], "layer 'cloud' is unknown"),
])
def test_bad_selection_is_one_line_and_exit_two(tmp_path, args, message):
    result = invoke(tmp_path, *args)
    assert result.exit_code == 2
    assert message in result.output and "Traceback" not in result.output


def test_layer_selection(tmp_path, fake_checks):
    result = invoke(tmp_path, "--layer", "platform", "--only", "scheduling")
    assert result.exit_code == 0
    doc = json.loads((tmp_path / "evidence" / "results.json").read_text())
    assert [r["id"] for r in doc["requirements"]] == ["AI4S-SCHED-002"]


LIVE = "AI4S-SEC-002,AI4S-SCHED-002,AI4S-OBS-001,AI4S-OBS-002,AI4S-OPS-001"


def test_live_checks_skip_without_a_kubeconfig(tmp_path):
    result = invoke(tmp_path, "--only", LIVE, env={"KUBECONFIG": ""})
    assert result.exit_code == 0, result.output
    doc = json.loads((tmp_path / "evidence" / "results.json").read_text())
    assert {r["status"] for r in doc["requirements"]} == {"skipped"}
    assert all("pass --kubeconfig" in r["notes"] for r in doc["requirements"])


def test_live_checks_skip_when_the_cluster_does_not_answer(tmp_path):
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(json.dumps({
        "apiVersion": "v1", "kind": "Config", "current-context": "dead",
        "clusters": [{"name": "dead", "cluster": {"server": "https://127.0.0.1:9"}}],
        "contexts": [{"name": "dead", "context": {"cluster": "dead", "user": "u"}}],
        "users": [{"name": "u", "user": {"token": "t"}}],
    }))
    result = invoke(tmp_path, "--only", LIVE, "--kubeconfig", str(kubeconfig))
    assert result.exit_code == 0, result.output
    doc = json.loads((tmp_path / "evidence" / "results.json").read_text())
    assert {r["status"] for r in doc["requirements"]} == {"skipped"}
    assert all("cluster not reachable" in r["notes"] for r in doc["requirements"])


def test_module_entry_point_runs(tmp_path):
    done = subprocess.run([sys.executable, "-m", "conformance", "--only", "AI4S-OPS-001",
                           "--out", str(tmp_path)], cwd=REPO_ROOT, capture_output=True, text=True,
                          env={"PATH": "/usr/bin:/bin", "KUBECONFIG": ""}, timeout=120)
    assert done.returncode == 0, done.stderr
    assert {p.name for p in tmp_path.iterdir()} >= {"results.json", "junit.xml", "e2e.log"}
