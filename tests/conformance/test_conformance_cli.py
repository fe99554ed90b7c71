"""`python -m conformance`: profiles, the verdict and its exit codes, evidence files, and the
live checks without a cluster (unknown, never skipped)."""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest
import yaml
from typer.testing import CliRunner

from conformance import runner as runner_module
from conformance.__main__ import app
from conformance.registry import REPO_ROOT, failed, not_applicable, passed, skipped

cli = CliRunner()


@pytest.fixture
def fake_checks(monkeypatch):
    checks = {}
    monkeypatch.setattr(runner_module, "registry", lambda: checks)
    return checks


def invoke(tmp_path, *args, env=None):
    return cli.invoke(app, ["--out", str(tmp_path / "evidence"), *args], env=env)


def test_exit_zero_when_only_a_should_fails(tmp_path, fake_checks):
    fake_checks.update({"AI4S-PLAT-001": lambda _: passed("ok"),
                        "AI4S-QUAL-002": lambda _: failed("GNN below forest"),
                        "AI4S-QUAL-001": lambda _: passed("beats persistence")})
    result = invoke(tmp_path, "--only", "AI4S-PLAT-001,AI4S-QUAL-001", "--only", "AI4S-QUAL-002")
    assert result.exit_code == 0, result.output
    doc = json.loads((tmp_path / "evidence" / "results.json").read_text())
    assert [r["status"] for r in doc["requirements"]] == ["passed", "passed", "failed"]
    assert doc["summary"]["must_failed"] == [] and doc["summary"]["verdict"] == "conformant"


def test_a_skipped_must_makes_the_run_incomplete(tmp_path, fake_checks):
    fake_checks.update({"AI4S-PLAT-001": lambda _: passed("ok"),
                        "AI4S-QUAL-001": lambda _: skipped("no results")})
    result = invoke(tmp_path, "--only", "AI4S-PLAT-001,AI4S-QUAL-001")
    assert result.exit_code == runner_module.EXIT_CODES[runner_module.Verdict.INCOMPLETE] == 3
    doc = json.loads((tmp_path / "evidence" / "results.json").read_text())
    assert doc["summary"]["verdict"] == "incomplete"
    assert doc["summary"]["reasons"] == {"AI4S-QUAL-001": "skipped: no results"}


def test_a_must_that_does_not_apply_keeps_the_run_conformant(tmp_path, fake_checks):
    fake_checks["AI4S-SCHED-003"] = lambda _: not_applicable("no MIG")  # a SHOULD, for contrast
    fake_checks["AI4S-PLAT-001"] = lambda _: not_applicable("no stack here")
    result = invoke(tmp_path, "--only", "AI4S-PLAT-001,AI4S-SCHED-003")
    assert result.exit_code == 0, result.output


def test_exit_one_when_a_must_fails(tmp_path, fake_checks):
    fake_checks["AI4S-PLAT-001"] = lambda _: failed("does not render")
    fake_checks["AI4S-PLAT-002"] = lambda _: skipped("not run")  # a failure outranks a gap
    result = invoke(tmp_path, "--only", "AI4S-PLAT-001,AI4S-PLAT-002")
    assert result.exit_code == 1
    assert "offline profile: not conformant" in result.output
    assert "AI4S-PLAT-001: does not render" in result.output
    suite = ET.parse(tmp_path / "evidence" / "junit.xml").getroot().find("testsuite")
    assert suite.get("failures") == "1"


def test_unknown_from_a_crashing_must_leaves_the_run_incomplete(tmp_path, fake_checks):
    fake_checks["AI4S-PLAT-001"] = lambda _: 1 / 0
    result = invoke(tmp_path, "--only", "AI4S-PLAT-001")
    assert result.exit_code == 3
    assert "check raised ZeroDivisionError" in (tmp_path / "evidence" / "results.json").read_text()
    assert "Traceback" in (tmp_path / "evidence" / "e2e.log").read_text()


def test_the_offline_profile_ends_conformant_when_its_checks_pass(tmp_path, fake_checks):
    from conformance.catalogue import load

    offline = load().profile("offline").requirements
    fake_checks.update({rid: (lambda _: passed("ok")) for rid in offline})
    result = invoke(tmp_path, env={"KUBECONFIG": ""})
    assert result.exit_code == 0, result.output
    doc = json.loads((tmp_path / "evidence" / "results.json").read_text())
    assert sorted(r["id"] for r in doc["requirements"]) == sorted(offline)
    assert doc["metadata"]["profile"] == "offline" and doc["summary"]["verdict"] == "conformant"


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
    result = invoke(tmp_path, "--profile", "cluster", "--layer", "platform", "--only", "scheduling")
    assert result.exit_code == 3  # the live gang check has no cluster
    doc = json.loads((tmp_path / "evidence" / "results.json").read_text())
    assert [r["id"] for r in doc["requirements"]] == ["AI4S-SCHED-002"]


def test_an_unknown_profile_is_one_line_and_exit_two(tmp_path):
    result = invoke(tmp_path, "--profile", "laptop")
    assert result.exit_code == 2
    assert "profile 'laptop' is unknown; known: offline, cluster, gpu-cluster" in result.output


LIVE = ("AI4S-SEC-002,AI4S-SCHED-002,AI4S-OBS-001,AI4S-OBS-002,AI4S-OPS-001,AI4S-NET-001,AI4S-NET-002,"
        "AI4S-NET-003,AI4S-NET-004,AI4S-SCALE-001,AI4S-SCALE-002,AI4S-ACC-001,AI4S-ACC-002,AI4S-SEC-003")


def test_the_cluster_profile_without_a_cluster_is_incomplete_with_a_reason_each(tmp_path):
    result = invoke(tmp_path, "--profile", "gpu-cluster", "--only", LIVE, env={"KUBECONFIG": ""})
    assert result.exit_code == 3, result.output
    doc = json.loads((tmp_path / "evidence" / "results.json").read_text())
    assert {r["status"] for r in doc["requirements"]} == {"unknown"}
    assert all("pass --kubeconfig" in r["notes"] for r in doc["requirements"])
    musts = {r["id"] for r in doc["requirements"] if r["level"] == "MUST"}
    assert set(doc["summary"]["reasons"]) == musts and len(musts) == 8


def test_an_unreachable_cluster_is_unknown_never_skipped(tmp_path):
    # issue 12, row 4: every live MUST was skipped and the run exited 0
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(json.dumps({
        "apiVersion": "v1", "kind": "Config", "current-context": "dead",
        "clusters": [{"name": "dead", "cluster": {"server": "https://127.0.0.1:9"}}],
        "contexts": [{"name": "dead", "context": {"cluster": "dead", "user": "u"}}],
        "users": [{"name": "u", "user": {"token": "t"}}],
    }))
    result = invoke(tmp_path, "--only", LIVE, "--kubeconfig", str(kubeconfig))
    assert result.exit_code == 3, result.output
    doc = json.loads((tmp_path / "evidence" / "results.json").read_text())
    assert doc["metadata"]["profile"] == "cluster"  # a kubeconfig selects the cluster profile
    assert {r["status"] for r in doc["requirements"]} == {"unknown"}
    assert all("cluster not reachable" in r["notes"] for r in doc["requirements"])
    assert doc["summary"]["verdict"] == "incomplete"


def test_evidence_carries_what_a_reviewer_needs(tmp_path, fake_checks, monkeypatch):
    fake_checks["AI4S-PLAT-001"] = lambda _: passed("ok")
    monkeypatch.setattr(sys, "argv", ["/x/conformance/__main__.py", "--only", "AI4S-PLAT-001"])
    invoke(tmp_path, "--only", "AI4S-PLAT-001")
    out = tmp_path / "evidence"
    meta = json.loads((out / "results.json").read_text())["metadata"]
    assert meta["started"] <= meta["ended"] and meta["host"]["hostname"]
    assert meta["command"] == ["python", "-m", "conformance", "--only", "AI4S-PLAT-001"]
    assert "torch" in meta["packages"]
    assert meta["kubernetes_server_version"] is None and meta["profile"] == "offline"
    suite = ET.parse(out / "junit.xml").getroot().find("testsuite")
    assert suite.get("hostname") and suite.get("timestamp") == meta["started"][:19]
    report = (out / "report.html").read_text()
    assert "ai4s-kit conformance: conformant" in report and "<td>passed</td><td>1</td>" in report
    checklist = yaml.safe_load((out / "KubernetesAIConformance-1.37.yaml").read_text())
    assert checklist["metadata"]["kubernetesVersion"] == "v1.37"


def test_module_entry_point_runs(tmp_path):
    done = subprocess.run([sys.executable, "-m", "conformance", "--profile", "cluster", "--only", "AI4S-OPS-001",
                           "--out", str(tmp_path)], cwd=REPO_ROOT, capture_output=True, text=True,
                          env={"PATH": "/usr/bin:/bin", "KUBECONFIG": ""}, timeout=120)
    assert done.returncode == 3, done.stderr  # no cluster: the operator MUST is not assessed
    assert {p.name for p in tmp_path.iterdir()} >= {"results.json", "junit.xml", "e2e.log", "report.html"}


def test_a_selection_outside_the_profile_names_the_profile(tmp_path):
    result = invoke(tmp_path, "--only", "AI4S-OPS-001", env={"KUBECONFIG": ""})
    assert result.exit_code == 2
    assert "no requirement of profile 'offline'" in result.output and "--profile" in result.output
