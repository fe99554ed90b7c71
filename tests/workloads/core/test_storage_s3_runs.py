"""Whole runs with their storage on a bucket (a real S3 server on loopback) give the filesystem
run's content hashes bitwise, and a run folder on another machine resumes from the bucket.

Climate, the cheaper workload, runs end to end (``ci_tiny`` with one training seed, to keep CI
short); drug discovery runs its library and MPI physics stages, its simulation side.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from reference_workloads.cli import app
from reference_workloads.core.eventlog import STAGE_RESUMED, STAGE_START, EventLog, read_events
from reference_workloads.core.hashing import sha256_file
from reference_workloads.core.platform_env import S3Location
from reference_workloads.core.stages import StageRunner
from reference_workloads.core.storage import S3Storage

runner = CliRunner()
CLIMATE = ["run", "climate", "--recipe", "ci_tiny", "--set", "repeats.seeds=1"]
HASHES = ("dataset_hash", "model_hash", "config_hash")


def _stage_events(run_dir: Path) -> dict[str, list[str]]:
    events: dict[str, list[str]] = {STAGE_START: [], STAGE_RESUMED: []}
    for record in read_events(run_dir / "events.log"):
        if record["key"] in events:
            events[record["key"]].append(record["metadata"]["stage"].split("@")[0])
    return events


def _run(args: list[str], out: Path) -> dict:
    result = runner.invoke(app, [*args, "--out", str(out)])
    assert result.exit_code == 0, result.output
    return json.loads((out / "manifest.json").read_text())


@pytest.fixture(scope="module")
def climate_runs(s3_server, tmp_path_factory):
    """The same recipe on the filesystem and on a bucket."""
    root = tmp_path_factory.mktemp("climate")
    bucket = s3_server.bucket
    storage = s3_server.storage("runs/ci_tiny")
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("AI4S_STORAGE", raising=False)
        patch.delenv("OTEL_EXPORTER_OTLP_ENDPOINT", raising=False)
        patch.delenv("MLFLOW_TRACKING_URI", raising=False)
        local = _run(CLIMATE, root / "file" / "run")
        for name, value in s3_server.environ(storage).items():
            if name != "AI4S_STORAGE":  # the bucket comes from the command line, the keys as from the Secret
                patch.setenv(name, value)
        remote = _run([*CLIMATE, "--storage", storage], root / "s3" / "run")
        yield {"root": root, "storage": storage, "bucket": bucket, "local": local, "remote": remote,
               "server": s3_server}


def test_the_bucket_run_has_the_filesystem_runs_dataset_and_model_hashes(climate_runs):
    local, remote = climate_runs["local"], climate_runs["remote"]
    assert {k: remote[k] for k in HASHES} == {k: local[k] for k in HASHES}
    assert [r["model_hash"] for r in remote["repeats"]] == [r["model_hash"] for r in local["repeats"]]


def _store_files(run_dir: Path) -> dict[str, str]:
    store = run_dir / "simulation" / "ensemble.zarr"
    return {p.relative_to(run_dir).as_posix(): sha256_file(p) for p in sorted(store.rglob("*")) if p.is_file()}


def test_the_bucket_holds_every_stage_and_the_runs_manifest(climate_runs):
    client, bucket = climate_runs["server"].client(), climate_runs["bucket"]
    prefix = f"{climate_runs['server'].team}/runs/ci_tiny/"
    keys = [o["Key"][len(prefix):] for o in client.list_objects_v2(Bucket=bucket, Prefix=prefix)["Contents"]]
    markers = sorted(Path(k).stem.split("@")[0] for k in keys if k.startswith(".stages/"))
    assert markers == ["evaluate", "simulate", "track", "train"]
    run_dir = climate_runs["root"] / "s3" / "run"
    simulate = json.loads((run_dir / ".stages" / "simulate.json").read_text())
    # the dataset is a Zarr store: every chunk and its dot-named metadata travel
    store = _store_files(run_dir)
    assert simulate["files"] == store and any(name.endswith("/.zarray") for name in store)
    assert all(f"objects/{simulate['inputs_hash']}/{name}" in keys for name in store)
    manifest = client.get_object(Bucket=bucket, Key=prefix + "manifest.json")["Body"].read()
    assert json.loads(manifest) == climate_runs["remote"]


def test_another_machine_resumes_from_the_bucket_and_recomputes_only_the_half_uploaded_stage(climate_runs):
    """A fresh run folder finds every stage in the bucket; the evaluation's marker is deleted first
    (its files are there, as when an upload is cut off before the marker), so it alone reruns."""
    client, bucket = climate_runs["server"].client(), climate_runs["bucket"]
    prefix = f"{climate_runs['server'].team}/runs/ci_tiny/.stages/"
    evaluate = [o["Key"] for o in client.list_objects_v2(Bucket=bucket, Prefix=prefix + "evaluate")["Contents"]]
    for key in evaluate:  # one by one: the team policy grants DeleteObject, not the batch call
        client.delete_object(Bucket=bucket, Key=key)
    assert evaluate and "Contents" not in client.list_objects_v2(Bucket=bucket, Prefix=prefix + "evaluate")
    other = climate_runs["root"] / "another-machine" / "run"
    again = _run([*CLIMATE, "--storage", climate_runs["storage"]], other)
    assert {k: again[k] for k in HASHES} == {k: climate_runs["local"][k] for k in HASHES}
    # track reads the evaluation's content hash, which the recomputation reproduces, so it is reused
    assert _stage_events(other) == {STAGE_START: ["evaluate"], STAGE_RESUMED: ["simulate", "train", "track"]}
    # the fetched dataset is the bucket run's store byte for byte (its metadata records when it
    # was written, so two computations agree in content hash, not in file bytes)
    assert _store_files(other) == _store_files(climate_runs["root"] / "s3" / "run")


def test_wrong_keys_and_a_missing_bucket_stop_the_run_with_one_line_before_any_work(s3_server, tmp_path,
                                                                                    monkeypatch):
    storage = s3_server.storage("runs/refused")
    for name, value in s3_server.environ(storage, AWS_SECRET_ACCESS_KEY="not-the-key").items():
        monkeypatch.setenv(name, value)
    refused = runner.invoke(app, [*CLIMATE, "--out", str(tmp_path / "a")])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", s3_server.secret_access_key)
    missing = runner.invoke(app, [*CLIMATE, "--storage", f"s3://{s3_server.unmade}/{s3_server.team}/x", "--out", str(tmp_path / "b")])
    bad_url = runner.invoke(app, [*CLIMATE, "--storage", "s3:/half", "--out", str(tmp_path / "c")])
    for result, says in ((refused, "storage credentials refused"),
                         (missing, f"storage bucket {s3_server.unmade!r} does not exist"),
                         (bad_url, "AI4S_STORAGE='s3:/half' is invalid: expected 'file' or s3://<bucket>/<prefix>")):
        assert result.exit_code == 2 and says in result.output, result.output
        assert len(result.output.strip().splitlines()) == 1, result.output
    assert not any((tmp_path / name).exists() for name in "abc"), "a refused storage must cost no work"


def test_drug_physics_through_the_bucket_matches_the_filesystem(s3_server, tmp_path, monkeypatch):
    """The drug workload's simulation side (library, then MPI physics on 2 ranks) on a bucket."""
    from reference_workloads.drug_discovery import pipeline

    monkeypatch.delenv("OTEL_EXPORTER_OTLP_ENDPOINT", raising=False)
    # small molecules only are docked (the rest refused as too_large before any work): CI budget
    recipe = pipeline.book.get("ci_tiny", ["data.library_limit=24", "data.activity_limit=40",
                                           "docking.max_heavy_atoms=14"])

    def physics(run_dir: Path, storage=None) -> dict:
        log = EventLog(run_dir / "events.log", fresh=True)
        stages = StageRunner(run_dir, log, "code", storage)
        try:
            library = stages.run_stage(pipeline.LIBRARY, recipe, extra={"files": pipeline.library_files(recipe.data.library)})
            return stages.run_stage(pipeline.PHYSICS, recipe, upstream={"library": library},
                                    upstream_stages={"library": pipeline.LIBRARY})
        finally:
            log.close()

    def storage():
        return S3Storage(S3Location(s3_server.bucket, f"{s3_server.team}/runs/drug-ci_tiny"), s3_server.client(), s3_server.endpoint)

    on_file = physics(tmp_path / "file")
    on_bucket = physics(tmp_path / "s3", storage())
    assert on_bucket["physics_hash"] == on_file["physics_hash"] and on_bucket["sdf_sha256"] == on_file["sdf_sha256"]
    resumed = physics(tmp_path / "another-machine", storage())
    assert resumed == on_bucket
    assert _stage_events(tmp_path / "another-machine") == {STAGE_START: [], STAGE_RESUMED: ["library", "physics"]}
    table = on_bucket["table"]
    assert sha256_file(tmp_path / "another-machine" / table) == sha256_file(tmp_path / "s3" / table)
