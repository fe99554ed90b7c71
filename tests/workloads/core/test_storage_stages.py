"""The storage seam of StageRunner against a real S3 server on loopback (moto's server mode).

What travels: a stage's files under its key, then its marker; a fresh run folder (another
machine) finds the result by key and fetches the files. What never counts as done: a stage
whose upload was cut off (no marker), an object whose bytes differ from the marker's sha256.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from reference_workloads.core.eventlog import STAGE_RESUMED, STAGE_START, EventLog, read_events
from reference_workloads.core.platform_env import S3Location
from reference_workloads.core.stages import Stage, StageCall, StageRunner
from reference_workloads.core.storage import S3Storage, StorageError, open_storage


@dataclass(frozen=True, slots=True)
class Tiny:
    n: int = 3


def _write(call: StageCall, name: str, text: str) -> dict:
    path = call.folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return {"file": call.relative(path), "content": text}


CALLS: list[str] = []


def _make(call: StageCall) -> dict:
    CALLS.append("make")
    return _write(call, "made.txt", "made " * call.recipe.n)


def _use(call: StageCall) -> dict:
    CALLS.append("use")
    made = (call.run_dir / call.upstream["make"]["file"]).read_text()
    return {**_write(call, "used.txt", made.upper()), "used": made.upper()}


def _neighbour(call: StageCall) -> dict:
    CALLS.append("neighbour")
    return _write(call, "neighbour.txt", "next door")


MAKE = Stage("make", _make, reads=("n",), provides=("content",), folder="shared", outputs=("made.txt",))
USE = Stage("use", _use, reads=("n",), after=("make",), provides=("used",), folder="used", outputs=("used.txt",))
NEIGHBOUR = Stage("neighbour", _neighbour, reads=(), provides=("content",), folder="shared",
                  outputs=("neighbour.txt",))


def _pipeline(run_dir: Path, storage, recipe: Tiny = Tiny()) -> dict:
    log = EventLog(run_dir / "events.log", fresh=True)
    runner = StageRunner(run_dir, log, "code-1", storage)
    try:
        made = runner.run_stage(MAKE, recipe)
        runner.run_stage(NEIGHBOUR, recipe)
        return runner.run_stage(USE, recipe, upstream={"make": made}, upstream_stages={"make": MAKE})
    finally:
        log.close()


def _events(run_dir: Path) -> dict[str, list[str]]:
    events: dict[str, list[str]] = {STAGE_START: [], STAGE_RESUMED: []}
    for record in read_events(run_dir / "events.log"):
        if record["key"] in events:
            events[record["key"]].append(record["metadata"]["stage"])
    return events


@pytest.fixture
def storage(s3_server, request):
    """A run folder of the test's own on the team's prefix."""
    location = S3Location(s3_server.bucket, f"{s3_server.team}/{request.node.name}")
    return S3Storage(location, s3_server.client(), s3_server.endpoint).check()


@pytest.fixture(autouse=True)
def _no_otlp(monkeypatch):
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_ENDPOINT", raising=False)
    CALLS.clear()


def _keys(storage: S3Storage) -> list[str]:
    listed = storage.client.list_objects_v2(Bucket=storage.location.bucket, Prefix=storage.location.prefix)
    return sorted(o["Key"][len(storage.location.prefix) + 1:] for o in listed.get("Contents", []))


def test_a_fresh_folder_reuses_every_stage_the_bucket_holds_and_gets_its_files(tmp_path, storage):
    first = _pipeline(tmp_path / "machine-a", storage)
    assert CALLS == ["make", "neighbour", "use"]
    again = _pipeline(tmp_path / "machine-b", storage)
    assert CALLS == ["make", "neighbour", "use"], "the second machine recomputed a stage the bucket holds"
    assert again == first
    assert (tmp_path / "machine-b" / "used" / "used.txt").read_text() == "MADE MADE MADE "
    assert _events(tmp_path / "machine-b") == {STAGE_START: [], STAGE_RESUMED: ["make", "neighbour", "use"]}
    # a changed recipe field names other work: the bucket's results are not taken for it
    _pipeline(tmp_path / "machine-c", storage, Tiny(n=4))
    assert CALLS[3:] == ["make", "use"]


def test_each_stage_publishes_only_the_files_it_wrote_and_its_marker(tmp_path, storage):
    _pipeline(tmp_path / "run", storage)
    keys = _keys(storage)
    markers = {k for k in keys if k.startswith(".stages/")}
    assert markers == {".stages/make.json", ".stages/neighbour.json", ".stages/use.json"}
    marker = json.loads((tmp_path / "run" / ".stages" / "neighbour.json").read_text())
    # MAKE and NEIGHBOUR share a folder: each names its own file, never its neighbour's
    assert list(marker["files"]) == ["shared/neighbour.txt"]
    assert f"objects/{marker['inputs_hash']}/shared/neighbour.txt" in keys
    assert not any(k.endswith("events.log") for k in keys), "run records are published by the run, not a stage"


class _CutOff:
    """A client whose connection drops after ``uploads`` uploads."""

    def __init__(self, client, uploads: int) -> None:
        self._client, self._left = client, uploads

    def upload_file(self, *args, **kwargs):
        from botocore.exceptions import EndpointConnectionError

        if self._left == 0:
            raise EndpointConnectionError(endpoint_url="http://127.0.0.1:1")
        self._left -= 1
        return self._client.upload_file(*args, **kwargs)

    def __getattr__(self, name):
        return getattr(self._client, name)


def test_a_stage_cut_off_during_its_upload_is_not_taken_as_done(tmp_path, storage):
    cut = S3Storage(storage.location, _CutOff(storage.client, uploads=1), storage.endpoint)
    with pytest.raises(StorageError, match="unreachable while uploading the marker of 'make'"):
        _pipeline(tmp_path / "machine-a", cut)
    keys = _keys(storage)
    assert any(k.endswith("shared/made.txt") for k in keys), "the file went up before the connection dropped"
    assert ".stages/make.json" not in keys
    _pipeline(tmp_path / "machine-b", storage)
    assert CALLS == ["make", "make", "neighbour", "use"]


def test_an_object_that_differs_from_its_marker_is_recomputed(tmp_path, storage):
    _pipeline(tmp_path / "machine-a", storage)
    marker = json.loads((tmp_path / "machine-a" / ".stages" / "make.json").read_text())
    key = storage.location.key(f"objects/{marker['inputs_hash']}/shared/made.txt")
    storage.client.put_object(Bucket=storage.location.bucket, Key=key, Body=b"damaged")
    _pipeline(tmp_path / "machine-b", storage)
    assert CALLS == ["make", "neighbour", "use", "make"]
    assert (tmp_path / "machine-b" / "shared" / "made.txt").read_text() == "made made made "


def test_a_stage_completed_here_but_missing_from_the_bucket_is_published_again(tmp_path, storage):
    _pipeline(tmp_path / "run", storage)
    storage.client.delete_object(Bucket=storage.location.bucket, Key=storage.location.key(".stages/use.json"))
    _pipeline(tmp_path / "run", storage)
    assert CALLS == ["make", "neighbour", "use"]
    assert ".stages/use.json" in _keys(storage)


def test_the_filesystem_default_writes_no_file_list_and_touches_no_bucket(tmp_path, monkeypatch):
    monkeypatch.delenv("AI4S_STORAGE", raising=False)
    local = open_storage()
    assert local.remote is False
    _pipeline(tmp_path / "run", local)
    assert "files" not in json.loads((tmp_path / "run" / ".stages" / "make.json").read_text())


def test_wrong_credentials_are_refused_in_one_line_before_any_work(s3_server):
    with pytest.raises(StorageError) as refused:
        open_storage(s3_server.environ(s3_server.storage("refusing"), AWS_SECRET_ACCESS_KEY="not-the-key"))
    message = str(refused.value)
    assert "\n" not in message
    assert "storage credentials refused" in message and "AWS_SECRET_ACCESS_KEY" in message


def test_a_missing_bucket_is_named_in_one_line(s3_server):
    with pytest.raises(StorageError) as missing:
        open_storage(s3_server.environ(f"s3://{s3_server.unmade}/{s3_server.team}/x"))
    message = str(missing.value)
    assert "\n" not in message
    assert f"storage bucket {s3_server.unmade!r} does not exist" in message


def test_another_teams_prefix_is_refused_in_one_line_before_any_work(s3_server):
    """The team's policy lists the whole bucket but writes only under its own prefix: the probe
    write at opening finds that out before a stage computes anything it could not upload."""
    with pytest.raises(StorageError) as denied:
        open_storage(s3_server.environ(f"s3://{s3_server.bucket}/drug-discovery/runs/x"))
    message = str(denied.value)
    assert "\n" not in message
    assert "storage access denied" in message and "may not use s3://artifacts/drug-discovery/runs/x" in message


def test_an_unreachable_endpoint_is_named_in_one_line(s3_server):
    from reference_workloads.core.tracking import free_port

    with pytest.raises(StorageError) as unreachable:
        open_storage(s3_server.environ("s3://any-bucket/x", AWS_ENDPOINT_URL=f"http://127.0.0.1:{free_port()}"))
    assert "\n" not in str(unreachable.value) and "is unreachable" in str(unreachable.value)


def _keep(call: StageCall) -> dict:
    CALLS.append("keep")
    path = call.folder / "kept.txt"
    if not path.exists():  # a stage that finds its output already in place leaves it
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("kept")
    return {"file": call.relative(path)}


def test_a_declared_output_the_stage_found_in_place_is_published_too(tmp_path, storage):
    keep = Stage("keep", _keep, reads=("n",), folder="kept", outputs=("kept.txt",))
    log = EventLog(tmp_path / "run" / "events.log", fresh=True)
    StageRunner(tmp_path / "run", log, "code-1").run_stage(keep, Tiny(n=1))
    StageRunner(tmp_path / "run", log, "code-1", storage).run_stage(keep, Tiny(n=2))
    log.close()
    marker = json.loads((tmp_path / "run" / ".stages" / "keep.json").read_text())
    assert marker["files"] == {"kept/kept.txt": hashlib.sha256(b"kept").hexdigest()}
    assert f"objects/{marker['inputs_hash']}/kept/kept.txt" in _keys(storage)


def _store(call: StageCall) -> dict:
    CALLS.append("store")
    store = call.folder / "ensemble.zarr"
    if not store.exists():  # found in place (a resumed run): left as it is
        (store / "u").mkdir(parents=True)
        (store / ".zgroup").write_text('{"zarr_format": 2}')
        (store / "u" / ".zarray").write_text('{"shape": [2]}')
        (store / "u" / "0").write_bytes(b"\x00\x01")
    return {"store": call.relative(store)}


def test_a_folder_output_travels_whole_with_its_zarr_metadata(tmp_path, storage):
    # The simulation writes a Zarr store (a folder whose metadata files are dot-named), and
    # on a second run in the same folder the stage finds the store already in place.
    stage = Stage("store", _store, reads=("n",), folder="sim", outputs=("ensemble.zarr",))
    log = EventLog(tmp_path / "a" / "events.log", fresh=True)
    StageRunner(tmp_path / "a", log, "code-1").run_stage(stage, Tiny(n=1))
    StageRunner(tmp_path / "a", log, "code-1", storage).run_stage(stage, Tiny(n=2))
    log.close()
    published = {k.split("/", 2)[2] for k in _keys(storage) if k.startswith("objects/")}
    assert published == {"sim/ensemble.zarr/.zgroup", "sim/ensemble.zarr/u/.zarray", "sim/ensemble.zarr/u/0"}
    log = EventLog(tmp_path / "b" / "events.log", fresh=True)
    StageRunner(tmp_path / "b", log, "code-1", storage).run_stage(stage, Tiny(n=2))
    log.close()
    assert CALLS == ["store", "store"], "the second machine recomputed the store the bucket holds"
    assert (tmp_path / "b" / "sim" / "ensemble.zarr" / "u" / ".zarray").read_text() == '{"shape": [2]}'
