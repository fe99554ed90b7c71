"""Prometheus scrape configuration and rules, checked by promtool (Debian's prometheus package).

Rules are checked in full (`check rules`) and their behaviour unit-tested (`test rules`:
the GPU accounting recording rule and both alerts). The scrape configuration is checked
with `check config --syntax-only` (credential files exist only inside the cluster). Debian
builds promtool without Kubernetes service discovery; there the jobs' kubernetes_sd blocks
are swapped for file_sd so every other field is still checked, and the full check skips
with that reason.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from infra.components.observability import prometheus_check_config, rule_groups, scrape_configs

PROMTOOL = shutil.which("promtool")
pytestmark = pytest.mark.skipif(
    PROMTOOL is None, reason="promtool not installed (apt-get install prometheus)"
)


def promtool(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([PROMTOOL, *args], cwd=cwd, capture_output=True, text=True, timeout=60)


def jobs(gpu: bool) -> list[dict]:
    return scrape_configs(collector_target="ai4s-obs-otel-collector.ai4s-monitoring.svc:8889",
                          kueue_namespace="kueue-system",
                          dcgm_namespace="gpu-operator" if gpu else None, interval="30s")


def write_rules(tmp_path: Path, gpu: bool) -> Path:
    path = tmp_path / "ai4s-rules.yml"
    path.write_text(yaml.safe_dump({"groups": rule_groups(gpu=gpu)}, sort_keys=False))
    return path


def kubernetes_sd_supported(tmp_path: Path) -> bool:
    probe = tmp_path / "probe.yml"
    probe.write_text(yaml.safe_dump({"scrape_configs": [
        {"job_name": "p", "kubernetes_sd_configs": [{"role": "pod"}]}]}))
    return promtool("check", "config", "--syntax-only", str(probe), cwd=tmp_path).returncode == 0


def without_kubernetes_sd(job_list: list[dict], targets: Path) -> list[dict]:
    swapped = []
    for job in job_list:
        job = dict(job)
        if job.pop("kubernetes_sd_configs", None) is not None:
            job["file_sd_configs"] = [{"files": [str(targets)]}]
        swapped.append(job)
    return swapped


@pytest.mark.parametrize("gpu", [False, True], ids=["cpu-stack", "gpu-stack"])
def test_rules_pass_promtool_check(tmp_path, gpu):
    result = promtool("check", "rules", str(write_rules(tmp_path, gpu)), cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    expected = sum(len(g["rules"]) for g in rule_groups(gpu=gpu))
    assert f"SUCCESS: {expected} rules found" in result.stdout


def test_promtool_rejects_a_broken_rule(tmp_path):
    groups = rule_groups(gpu=False)
    groups[0]["rules"][0]["expr"] = "sum by (namespace (kube_pod_status_phase)"
    path = tmp_path / "broken.yml"
    path.write_text(yaml.safe_dump({"groups": groups}))
    result = promtool("check", "rules", str(path), cwd=tmp_path)
    assert result.returncode != 0


@pytest.mark.parametrize("gpu", [False, True], ids=["cpu-stack", "gpu-stack"])
def test_scrape_config_fields_pass_promtool(tmp_path, gpu):
    targets = tmp_path / "targets.json"
    targets.write_text("[]")
    job_list = jobs(gpu)
    if not kubernetes_sd_supported(tmp_path):
        job_list = without_kubernetes_sd(job_list, targets)
    config = tmp_path / "prometheus.yml"
    config.write_text(yaml.safe_dump(prometheus_check_config(job_list, [], "30s")))
    result = promtool("check", "config", "--syntax-only", str(config), cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_scrape_config_passes_promtool_with_kubernetes_sd(tmp_path):
    if not kubernetes_sd_supported(tmp_path):
        pytest.skip("this promtool build has no Kubernetes service discovery (Debian +ds); "
                    "install upstream promtool for the full check")
    config = tmp_path / "prometheus.yml"
    config.write_text(yaml.safe_dump(prometheus_check_config(jobs(True), [], "30s")))
    result = promtool("check", "config", "--syntax-only", str(config), cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_rejects_a_broken_scrape_config(tmp_path):
    broken = jobs(False)
    broken[0]["scrape_interval"] = "thirty seconds"
    config = tmp_path / "prometheus.yml"
    config.write_text(yaml.safe_dump(prometheus_check_config(
        without_kubernetes_sd(broken, tmp_path / "t.json"), [], "30s")))
    assert promtool("check", "config", "--syntax-only", str(config), cwd=tmp_path).returncode != 0


UNIT_TESTS = {
    "rule_files": ["ai4s-rules.yml"],
    "evaluation_interval": "1m",
    "tests": [
        {
            # GPU accounting: only GPUs of Running pods count, summed per namespace.
            "interval": "1m",
            "input_series": [
                {"series": 'kube_pod_container_resource_requests{namespace="team-a",pod="p1",container="c",resource="nvidia_com_gpu"}', "values": "2x10"},
                {"series": 'kube_pod_container_resource_requests{namespace="team-a",pod="p2",container="c",resource="nvidia_com_gpu"}', "values": "1x10"},
                {"series": 'kube_pod_container_resource_requests{namespace="team-a",pod="p1",container="c",resource="cpu"}', "values": "4x10"},
                {"series": 'kube_pod_status_phase{namespace="team-a",pod="p1",phase="Running"}', "values": "1x10"},
                {"series": 'kube_pod_status_phase{namespace="team-a",pod="p2",phase="Running"}', "values": "0x10"},
                {"series": 'kube_pod_status_phase{namespace="team-a",pod="p2",phase="Pending"}', "values": "1x10"},
            ],
            "promql_expr_test": [
                {"expr": "namespace:gpu_requested:sum", "eval_time": "5m",
                 "exp_samples": [{"labels": 'namespace:gpu_requested:sum{namespace="team-a"}', "value": 2}]},
            ],
        },
        {
            # A ClusterQueue with inadmissible workloads alerts after 15 minutes, not before.
            "interval": "1m",
            "input_series": [
                {"series": 'kueue_pending_workloads{cluster_queue="climate",status="inadmissible"}', "values": "0x5 1x40"},
                {"series": 'kueue_pending_workloads{cluster_queue="drugs",status="active"}', "values": "3x45"},
            ],
            "alert_rule_test": [
                {"eval_time": "15m", "alertname": "KueueWorkloadsInadmissible", "exp_alerts": []},
                {"eval_time": "25m", "alertname": "KueueWorkloadsInadmissible", "exp_alerts": [{
                    "exp_labels": {"severity": "warning", "cluster_queue": "climate"},
                    "exp_annotations": {
                        "summary": "Inadmissible workloads in climate",
                        "description": "ClusterQueue climate has had inadmissible workloads for 15 minutes: check quotas and flavors.",
                    }}]},
            ],
        },
        {
            # Idle allocated GPUs alert for the idle team only.
            "interval": "1m",
            "input_series": [
                {"series": 'kube_pod_container_resource_requests{namespace="team-a",pod="p1",container="c",resource="nvidia_com_gpu"}', "values": "1x60"},
                {"series": 'kube_pod_container_resource_requests{namespace="team-b",pod="q1",container="c",resource="nvidia_com_gpu"}', "values": "1x60"},
                {"series": 'kube_pod_status_phase{namespace="team-a",pod="p1",phase="Running"}', "values": "1x60"},
                {"series": 'kube_pod_status_phase{namespace="team-b",pod="q1",phase="Running"}', "values": "1x60"},
                {"series": 'DCGM_FI_DEV_GPU_UTIL{namespace="team-a",pod="p1",gpu="0"}', "values": "2x60"},
                {"series": 'DCGM_FI_DEV_GPU_UTIL{namespace="team-b",pod="q1",gpu="1"}', "values": "85x60"},
            ],
            "alert_rule_test": [
                {"eval_time": "20m", "alertname": "TeamGPUsAllocatedButIdle", "exp_alerts": []},
                {"eval_time": "45m", "alertname": "TeamGPUsAllocatedButIdle", "exp_alerts": [{
                    "exp_labels": {"severity": "warning", "namespace": "team-a"},
                    "exp_annotations": {
                        "summary": "GPUs held by team-a are idle",
                        "description": "Namespace team-a holds GPUs at under 5% use for 30 minutes.",
                    }}]},
            ],
        },
    ],
}


def test_rules_behave_as_specified(tmp_path):
    write_rules(tmp_path, gpu=True)
    tests = tmp_path / "ai4s-rules.test.yml"
    tests.write_text(yaml.safe_dump(UNIT_TESTS, sort_keys=False))
    result = promtool("test", "rules", tests.name, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout + result.stderr


def test_unit_tests_catch_a_wrong_threshold(tmp_path):
    # Same unit tests against a rule whose "for" is too short: promtool must fail.
    groups = rule_groups(gpu=True)
    for group in groups:
        for rule in group["rules"]:
            if rule.get("alert") == "KueueWorkloadsInadmissible":
                rule["for"] = "1m"
    (tmp_path / "ai4s-rules.yml").write_text(yaml.safe_dump({"groups": groups}))
    tests = tmp_path / "ai4s-rules.test.yml"
    tests.write_text(yaml.safe_dump(UNIT_TESTS, sort_keys=False))
    assert promtool("test", "rules", tests.name, cwd=tmp_path).returncode != 0
