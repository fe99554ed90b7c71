"""`ai4s submit`'s ordering, following, log streaming, collection and cancelling, against the
Kubernetes API test double (tests/platform/fake_kube.py: HTTP on 127.0.0.1 through the real
`kubernetes` client; no real API server exists here) and moto's S3 server on 127.0.0.1 as
the data layer. The real cluster path is the live conformance check."""

from __future__ import annotations

import json
import socket
import urllib.request

import boto3
import pytest
from moto.server import ThreadedMotoServer
from typer.testing import CliRunner

from reference_workloads.cli import app
from reference_workloads.platform.kube import KubeApi
from reference_workloads.platform.render import render_workload
from reference_workloads.platform.submit import S3Artifacts, submit
from reference_workloads.platform.target import target_from_outputs

from .conftest import DIGEST_IMAGE
from .fake_kube import FAILURE


@pytest.fixture
def s3(monkeypatch):
    """An S3 endpoint on loopback with the `artifacts` bucket; AWS_* point at it."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    url = f"http://127.0.0.1:{port}"
    # moto keeps its buckets per process, not per server: start every test from none
    urllib.request.urlopen(urllib.request.Request(f"{url}/moto-api/reset", method="POST"), timeout=10).close()
    for key, value in {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_DEFAULT_REGION": "us-east-1",
                       "AWS_ENDPOINT_URL": url}.items():
        monkeypatch.setenv(key, value)
    client = boto3.client("s3", endpoint_url=url)
    client.create_bucket(Bucket="artifacts")
    yield client, url
    server.stop()


def _climate(stacks):
    target = target_from_outputs(stacks["local"].outputs, stack="local", team="climate")
    return render_workload("climate", "ci_tiny", target, image=DIGEST_IMAGE)


def _run(stacks, cluster, s3, tmp_path, on_phase):
    fake, kubeconfig = cluster
    stages = _climate(stacks)
    rid = stages[0].manifest["metadata"]["labels"]["ai4s.dev/run"]
    artifacts = S3Artifacts(bucket="artifacts", prefix="climate", endpoint_url=s3[1])
    return stages, rid, submit(KubeApi(kubeconfig), stages, run_id=rid, artifacts=artifacts, dest=tmp_path / "out",
                               submission={"recipe_name": "ci_tiny"}, on_phase=on_phase, poll_s=0)


def test_stages_start_in_order_each_after_its_upstream_is_done_and_results_are_collected(stacks, cluster, s3, tmp_path):
    fake, _ = cluster
    events = []

    def on_phase(stage, phase):
        events.append((stage, phase, len([c for c in fake.calls if c.startswith("POST")])))
        if (stage, phase) == ("evaluate", "running"):  # what the evaluate pod would leave in the data layer
            for name in ("manifest.json", "ro-crate-metadata.json", "results/summary.json"):
                s3[0].put_object(Bucket="artifacts", Key=f"climate/{rid_box[0]}/{name}", Body=b"{}")

    rid_box = [_climate(stacks)[0].manifest["metadata"]["labels"]["ai4s.dev/run"]]
    stages, rid, result = _run(stacks, cluster, s3, tmp_path, on_phase)
    assert result.outcome == "done", result
    for stage in ("simulate", "train", "evaluate"):
        assert [p for s, p, _ in events if s == stage] == ["queued", "admitted", "running", "done"]
    # the n-th object is created only after stage n-1 reported done
    done_at = {s: posts for s, p, posts in events if p == "done"}
    queued_at = {s: posts for s, p, posts in events if p == "queued"}
    assert done_at["simulate"] == 1 and queued_at["train"] == 2 and done_at["train"] == 2 and queued_at["evaluate"] == 3
    assert sorted(p.relative_to(tmp_path / "out").as_posix() for p in result.collected) == \
        ["manifest.json", "results/summary.json", "ro-crate-metadata.json", "submission.json"]
    assert json.loads((tmp_path / "out" / "submission.json").read_text()) == {"recipe_name": "ci_tiny"}


def test_a_failed_stage_stops_the_run_and_streams_its_pods_logs(stacks, cluster, s3, tmp_path):
    fake, _ = cluster
    train = _climate(stacks)[1]
    fake.scripts[train.name] = FAILURE
    fake.pods[f"jobset.sigs.k8s.io/jobset-name={train.name}"] = {f"{train.name}-node-0-0": "Traceback: loss is nan"}
    stages, rid, result = _run(stacks, cluster, s3, tmp_path, lambda stage, phase: None)
    assert (result.outcome, result.failed_stage) == ("failed", "train")
    assert result.logs == {f"{train.name}-node-0-0": "Traceback: loss is nan"}
    assert fake.names("TrainJob") == sorted([stages[0].name, stages[1].name])  # evaluate never created
    assert result.collected == []


def test_ctrl_c_deletes_what_the_submission_created(stacks, cluster, s3, tmp_path):
    fake, _ = cluster

    def interrupt(stage, phase):
        if (stage, phase) == ("train", "running"):
            raise KeyboardInterrupt

    stages, rid, result = _run(stacks, cluster, s3, tmp_path, interrupt)
    assert result.outcome == "cancelled"
    assert result.deleted == [f"TrainJob {stages[1].name}", f"TrainJob {stages[0].name}"]
    assert fake.names("TrainJob") == []


def test_the_cli_stops_at_pre_flight_with_one_line_and_otherwise_runs_to_done(stacks, cluster, s3, tmp_path):
    fake, kubeconfig = cluster
    runner = CliRunner()
    base = ["submit", "climate", "--recipe", "ci_tiny", "--kubeconfig", str(kubeconfig),
            "--stack", str(stacks["local"].out_dir), "--poll", "0", "--out", str(tmp_path / "res")]
    refused = runner.invoke(app, [*base, "--image", "ghcr.io/ai4s-kit/ai4s:0.4.0"])
    assert refused.exit_code == 1
    lines = [line for line in refused.output.splitlines() if line.strip()]
    assert len(lines) == 3 and all(line.startswith("[image-digest] TrainJob team-climate/") for line in lines)
    assert not [c for c in fake.calls if c.startswith("POST")]
    ok = runner.invoke(app, [*base, "--image", DIGEST_IMAGE])
    assert ok.exit_code == 0, ok.output
    assert "done: 1 files collected" in ok.output and (tmp_path / "res" / "submission.json").is_file()
