"""Where a run's stages exchange their artifacts: the local run folder, or an S3 bucket beside it.

On the platform each stage may run in its own pod on its own machine, so the run folder is
only a working copy: a stage's result is found in the bucket by its key (its marker lives
there too, ``<prefix>/.stages/<stage>.json``), its files are fetched before a stage that reads
them runs, and after a stage succeeds its files are uploaded under its key
(``<prefix>/objects/<key>/<path in the run folder>``) and its marker is written last. A
marker in the bucket therefore always names files that are all there; a stage cut off
half-way through its upload leaves no marker and is recomputed. Files are verified against
the sha256 the marker records when they are fetched, so a damaged object is recomputed too.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rich.console import Console

from .atomic import atomic_path
from .hashing import sha256_file
from .platform_env import S3Credentials, S3Location, storage_from_environ

console = Console(stderr=True)

MARKERS = ".stages"
OBJECTS = "objects"
RUN_RECORDS = ("manifest.json", "results.json", "events.log", "traces.jsonl")
"""Run-level files published at the end of a successful run, for whoever collects results."""

# botocore error codes, by what the user has to fix
_CREDENTIAL_CODES = {"InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidToken", "ExpiredToken"}
_DENIED_CODES = {"AccessDenied", "403"}
PROBE = ".write-probe"
"""Written and deleted when storage is opened: the keys must be allowed to write the prefix."""
_MISSING_BUCKET_CODES = {"NoSuchBucket", "404"}


class StorageError(RuntimeError):
    """The data layer refused or could not be reached; the message says what to fix."""


# Zarr (format 2) keeps a store's metadata in dot-named files: they are the dataset, not scratch.
_ZARR_METADATA = frozenset({".zarray", ".zattrs", ".zgroup", ".zmetadata"})


def files_under(folder: Path) -> dict[str, tuple[int, int, int]]:
    """Every published-looking file below ``folder`` with (inode, size, mtime_ns); dot-named
    entries (markers, scratch, temporary files of atomic writes) are never published, except
    a Zarr store's metadata files."""
    found: dict[str, tuple[int, int, int]] = {}
    if not folder.is_dir():
        return found
    for root, dirs, names in os.walk(folder):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        for name in names:
            if name.startswith(".") and name not in _ZARR_METADATA:
                continue
            path = Path(root) / name
            stat = path.stat()
            found[str(path)] = (stat.st_ino, stat.st_size, stat.st_mtime_ns)
    return found


def written_since(before: Mapping[str, tuple[int, int, int]], folder: Path) -> list[Path]:
    """Files below ``folder`` that are new or rewritten since the ``files_under`` snapshot ``before``.

    Stages share folders (both task splits write into ``tasks/``), so what a stage published
    is what it wrote, not what its folder happens to hold.
    """
    return sorted(Path(p) for p, stat in files_under(folder).items() if before.get(p) != stat)


class LocalStorage:
    """The default: the run folder is the only copy; nothing is fetched or published."""

    remote = False
    url = "file"

    def fetch(self, name: str, inputs_hash: str, run_dir: Path) -> dict[str, Any] | None:
        return None

    def publish(self, name: str, record: dict[str, Any], run_dir: Path) -> None:
        return None

    def holds(self, name: str, inputs_hash: str) -> bool:
        return False

    def publish_run(self, run_dir: Path) -> None:
        return None


class S3Storage:
    """A run folder's stages in ``location`` (an S3 bucket and prefix), through ``client`` (boto3)."""

    remote = True

    def __init__(self, location: S3Location, client: Any, endpoint: str | None = None) -> None:
        self.location = location
        self.client = client
        self.endpoint = endpoint or "AWS S3"
        self.url = location.url

    def _problem(self, error: Exception, doing: str) -> StorageError:
        """One line naming what failed and what to fix."""
        from botocore.exceptions import ClientError, EndpointConnectionError, NoCredentialsError

        if isinstance(error, EndpointConnectionError):
            return StorageError(f"storage endpoint {self.endpoint} is unreachable while {doing}: check "
                                "AWS_ENDPOINT_URL (the stack output s3Endpoint)")
        if isinstance(error, NoCredentialsError):
            return StorageError(f"no S3 credentials while {doing}: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
        code = str(error.response.get("Error", {}).get("Code", "")) if isinstance(error, ClientError) else ""
        if code in _MISSING_BUCKET_CODES:
            return StorageError(f"storage bucket {self.location.bucket!r} does not exist at {self.endpoint}: "
                                f"create it or set AI4S_STORAGE to a bucket the stack made (s3Buckets)")
        if code in _CREDENTIAL_CODES:
            return StorageError(f"storage credentials refused by {self.endpoint} ({code}) while {doing}: check "
                                "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (the team's Secret)")
        if code in _DENIED_CODES:
            return StorageError(f"storage access denied by {self.endpoint} while {doing}: these keys may not use "
                                f"{self.url}; a team writes only under s3://<bucket>/<team>/ (AI4S_STORAGE)")
        return StorageError(f"storage error at {self.endpoint} while {doing}: {code or type(error).__name__}: "
                            f"{str(error).splitlines()[0] if str(error) else ''}")

    def check(self) -> S3Storage:
        """Fail before any work when the bucket is missing, the keys are refused or may not write here.

        Listing needs only the bucket-wide ``s3:ListBucket`` a team's policy grants, and names a
        missing bucket; the probe write fails where the prefix is another team's.
        """
        from botocore.exceptions import BotoCoreError, ClientError

        bucket, probe = self.location.bucket, self.location.key(f"{MARKERS}/{PROBE}")
        doing = f"opening {self.url}"
        try:
            self.client.list_objects_v2(Bucket=bucket, Prefix=self.location.key(MARKERS), MaxKeys=1)
            doing = f"writing a probe to {self.url}"
            self.client.put_object(Bucket=bucket, Key=probe, Body=b"")
            self.client.delete_object(Bucket=bucket, Key=probe)
        except (ClientError, BotoCoreError) as error:
            raise self._problem(error, doing) from None
        return self

    def _marker_key(self, name: str) -> str:
        return self.location.key(f"{MARKERS}/{name}.json")

    def _object_key(self, inputs_hash: str, relative: str) -> str:
        return self.location.key(f"{OBJECTS}/{inputs_hash}/{relative}")

    def _marker(self, name: str) -> dict[str, Any] | None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            body = self.client.get_object(Bucket=self.location.bucket, Key=self._marker_key(name))["Body"].read()
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                return None
            raise self._problem(error, f"reading the marker of stage {name!r}") from None
        except BotoCoreError as error:
            raise self._problem(error, f"reading the marker of stage {name!r}") from None
        return json.loads(body)

    def holds(self, name: str, inputs_hash: str) -> bool:
        """Whether the bucket has stage ``name`` completed under this key."""
        marker = self._marker(name)
        return marker is not None and marker.get("inputs_hash") == inputs_hash

    def fetch(self, name: str, inputs_hash: str, run_dir: Path) -> dict[str, Any] | None:
        """The bucket's record of stage ``name`` under this key, with its files put in ``run_dir``;
        None when the bucket has no such stage or one of its files is missing or damaged."""
        from botocore.exceptions import BotoCoreError, ClientError

        marker = self._marker(name)
        if marker is None or marker.get("inputs_hash") != inputs_hash:
            return None
        for relative, digest in sorted(marker.get("files", {}).items()):
            target = run_dir / relative
            if target.exists() and sha256_file(target) == digest:
                continue
            try:
                with atomic_path(target) as tmp:
                    self.client.download_file(self.location.bucket, self._object_key(inputs_hash, relative), str(tmp))
                    if sha256_file(tmp) != digest:
                        raise ValueError(relative)
            except ValueError:
                console.print(f"[yellow]stage {name}: {relative} in {self.url} does not match its marker; "
                              "recomputing[/yellow]")
                return None
            except ClientError as error:
                if error.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                    console.print(f"[yellow]stage {name}: {relative} missing from {self.url}; recomputing[/yellow]")
                    return None
                raise self._problem(error, f"fetching {relative}") from None
            except BotoCoreError as error:
                raise self._problem(error, f"fetching {relative}") from None
        console.print(f"[dim]stage {name}: found in {self.url}[/dim]")
        return marker

    def _upload(self, path: Path, key: str, doing: str) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.client.upload_file(str(path), self.location.bucket, key)
        except (ClientError, BotoCoreError) as error:
            raise self._problem(error, doing) from None

    def publish(self, name: str, record: dict[str, Any], run_dir: Path) -> None:
        """Upload the files ``record`` names (``files``: path in the run folder -> sha256), then its marker."""
        for relative in sorted(record.get("files", {})):
            self._upload(run_dir / relative, self._object_key(record["inputs_hash"], relative),
                         f"uploading {relative}")
        # last: a marker in the bucket means every file it names is there
        self._upload(run_dir / MARKERS / f"{name}.json", self._marker_key(name), f"uploading the marker of {name!r}")

    def publish_run(self, run_dir: Path) -> None:
        """Upload the run-level records (manifest, results, event log) once the run succeeded."""
        for name in RUN_RECORDS:
            if (run_dir / name).exists():
                self._upload(run_dir / name, self.location.key(name), f"uploading {name}")


Storage = LocalStorage | S3Storage


def s3_client(credentials: S3Credentials) -> Any:
    """A boto3 S3 client for MinIO or any S3 API: path-style addressing (MinIO's and loopback
    servers' names are not DNS buckets), few retries so a wrong endpoint fails in seconds."""
    import boto3
    from botocore.config import Config

    config = Config(s3={"addressing_style": "path"}, retries={"max_attempts": 2, "mode": "standard"},
                    connect_timeout=5, read_timeout=60)
    return boto3.session.Session().client(
        "s3", endpoint_url=credentials.endpoint_url, region_name=credentials.region,
        aws_access_key_id=credentials.access_key_id, aws_secret_access_key=credentials.secret_access_key,
        config=config)


def open_storage(environ: Mapping[str, str] | None = None) -> Storage:
    """The storage this process's environment names (``AI4S_STORAGE``), checked before any work."""
    location, credentials = storage_from_environ(environ)
    if location is None or credentials is None:
        return LocalStorage()
    return S3Storage(location, s3_client(credentials), credentials.endpoint_url).check()


def file_record(run_dir: Path, files: list[Path]) -> dict[str, str]:
    """Path in the run folder -> sha256, what a marker records of the files a stage wrote."""
    return {path.relative_to(run_dir).as_posix(): sha256_file(path) for path in files}
