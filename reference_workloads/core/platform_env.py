"""The platform's settings for a run: storage, S3 credentials, tracking and telemetry endpoints.

A pod on the platform gets them as environment variables (the team's Secret supplies the
``AWS_*`` ones, the submitter the rest); a person submitting from a laptop derives the same
settings from the stack's outputs and the Secret. Both ways end in one ``PlatformEnv``, so a
missing value is reported once, naming the variable or output to set.
"""

from __future__ import annotations

import base64
import os
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass

STORAGE = "AI4S_STORAGE"
ENDPOINT_URL = "AWS_ENDPOINT_URL"
ACCESS_KEY_ID = "AWS_ACCESS_KEY_ID"
SECRET_ACCESS_KEY = "AWS_SECRET_ACCESS_KEY"
REGION = "AWS_REGION"
DEFAULT_REGION = "AWS_DEFAULT_REGION"
"""The team's Secret names the region this way (botocore reads both)."""
MLFLOW_TRACKING_URI = "MLFLOW_TRACKING_URI"
OTLP_ENDPOINT = "OTEL_EXPORTER_OTLP_ENDPOINT"
IMAGE_DIGEST = "AI4S_IMAGE_DIGEST"

FILE_STORAGE = "file"
FALLBACK_REGION = "us-east-1"
"""MinIO ignores the region but the S3 signature needs one."""
RUNS_BUCKET = "artifacts"
"""The stack bucket that holds run folders, under the team's own prefix."""

# Stack output keys this module reads; the layer rule keeps infra/ out of reference_workloads/,
# so they are spelled here and a test holds them equal to infra/outputs.py.
OUT_S3_ENDPOINT = "s3Endpoint"
OUT_S3_BUCKETS = "s3Buckets"
OUT_S3_CREDENTIALS_SECRET = "s3CredentialsSecret"
OUT_TRACKING_URI = "trackingUri"
OUT_TRACKING_URIS = "trackingUris"
OUT_OTLP_ENDPOINT = "otlpEndpoint"

_S3_URL = re.compile(r"^s3://(?P<bucket>[a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:/(?P<prefix>.*))?$")
_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")


class PlatformEnvError(ValueError):
    """A platform setting is missing or malformed; the message names it and what is accepted."""


@dataclass(frozen=True, slots=True)
class S3Location:
    """A run folder's place in object storage."""

    bucket: str
    """Bucket name (S3 naming rules: 3-63 lower-case letters, digits, dots, hyphens)."""
    prefix: str
    """Key prefix without leading or trailing slash; empty for the bucket's root."""

    @property
    def url(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}" if self.prefix else f"s3://{self.bucket}"

    def key(self, relative: str) -> str:
        """The object key of ``relative`` (a path inside the run folder)."""
        return f"{self.prefix}/{relative}" if self.prefix else relative


def parse_storage(value: str | None) -> S3Location | None:
    """``None`` for the local filesystem (unset or ``file``), else the ``s3://bucket/prefix`` it names."""
    if value is None or value.strip() in ("", FILE_STORAGE):
        return None
    match = _S3_URL.match(value.strip())
    if match is None:
        raise PlatformEnvError(f"{STORAGE}={value!r} is invalid: expected 'file' or s3://<bucket>/<prefix>")
    prefix = (match["prefix"] or "").strip("/")
    if prefix and any(part in ("", ".", "..") for part in prefix.split("/")):
        raise PlatformEnvError(f"{STORAGE}={value!r} is invalid: the prefix may not hold empty, '.' or '..' parts")
    return S3Location(bucket=match["bucket"], prefix=prefix)


@dataclass(frozen=True, slots=True)
class S3Credentials:
    """How to reach the S3 data layer (MinIO on the platform, any S3 API elsewhere)."""

    access_key_id: str
    secret_access_key: str
    endpoint_url: str | None
    """None for AWS itself; MinIO's in-cluster URL on the platform."""
    region: str

    def __repr__(self) -> str:
        # the secret key never reaches a log or a traceback
        return f"S3Credentials(access_key_id={self.access_key_id!r}, endpoint_url={self.endpoint_url!r})"


@dataclass(frozen=True, slots=True)
class PlatformEnv:
    """Everything a run on the platform reads from its environment."""

    storage: S3Location | None = None
    """Where stages exchange artifacts; None keeps them in the local run folder."""
    s3: S3Credentials | None = None
    """Required when ``storage`` names a bucket."""
    mlflow_tracking_uri: str | None = None
    """The team's MLflow server; None keeps the embedded store beside the runs."""
    otlp_endpoint: str | None = None
    """The collector's OTLP/HTTP endpoint; None writes spans to traces.jsonl."""
    image_digest: str | None = None
    """The kit image's ``sha256:`` digest, when the run is inside it."""
    credentials_secret: str | None = None
    """Name of the team's Secret with the AWS_* variables (from the stack), for pods' envFrom."""

    def __post_init__(self) -> None:
        if self.storage is not None and self.s3 is None:
            raise PlatformEnvError(f"{STORAGE}={self.storage.url} needs S3 credentials: set {ACCESS_KEY_ID} "
                                   f"and {SECRET_ACCESS_KEY} (the team's Secret)")
        if self.image_digest is not None and not _DIGEST.match(self.image_digest):
            raise PlatformEnvError(f"{IMAGE_DIGEST}={self.image_digest!r} is invalid: expected sha256:<64 hex digits>")

    def as_environ(self, *, with_credentials: bool = True) -> dict[str, str]:
        """The interface's variables for a pod; ``with_credentials=False`` leaves the ``AWS_*``
        keys to the team's Secret (``envFrom``), so none is written into an object."""
        env = {STORAGE: self.storage.url if self.storage else FILE_STORAGE}
        if self.s3 is not None:
            if self.s3.endpoint_url:
                env[ENDPOINT_URL] = self.s3.endpoint_url
            env[REGION] = self.s3.region
            if with_credentials:
                env[ACCESS_KEY_ID], env[SECRET_ACCESS_KEY] = self.s3.access_key_id, self.s3.secret_access_key
        optional = {MLFLOW_TRACKING_URI: self.mlflow_tracking_uri, OTLP_ENDPOINT: self.otlp_endpoint,
                    IMAGE_DIGEST: self.image_digest}
        return {**env, **{name: value for name, value in optional.items() if value}}


def _credentials(source: Mapping[str, str], where: str) -> S3Credentials:
    missing = [name for name in (ACCESS_KEY_ID, SECRET_ACCESS_KEY) if not source.get(name)]
    if missing:
        raise PlatformEnvError(f"{' and '.join(missing)} missing from {where}: the team's Secret holds "
                               "them (kubectl -n <team> get secret ai4s-object-storage)")
    return S3Credentials(access_key_id=source[ACCESS_KEY_ID], secret_access_key=source[SECRET_ACCESS_KEY],
                         endpoint_url=source.get(ENDPOINT_URL) or None,
                         region=source.get(REGION) or source.get(DEFAULT_REGION) or FALLBACK_REGION)


def storage_from_environ(environ: Mapping[str, str] | None = None) -> tuple[S3Location | None, S3Credentials | None]:
    """Only the storage part of ``from_environ``: a run reads nothing else of the platform's
    settings to open its storage, so a malformed unrelated variable never stops a local run."""
    environ = os.environ if environ is None else environ
    storage = parse_storage(environ.get(STORAGE))
    return storage, _credentials(environ, "the environment") if storage is not None else None


def from_environ(environ: Mapping[str, str] | None = None) -> PlatformEnv:
    """The settings of this process (``os.environ`` unless given); S3 credentials only when storage is S3."""
    environ = os.environ if environ is None else environ
    storage, credentials = storage_from_environ(environ)
    return PlatformEnv(
        storage=storage,
        s3=credentials,
        mlflow_tracking_uri=environ.get(MLFLOW_TRACKING_URI) or None,
        otlp_endpoint=environ.get(OTLP_ENDPOINT) or None,
        image_digest=environ.get(IMAGE_DIGEST) or None,
    )


@contextmanager
def storage_setting(value: str | None) -> Iterator[None]:
    """``AI4S_STORAGE`` set to ``value`` for the duration (``ai4s run --storage``); None leaves it."""
    if value is None:
        yield
        return
    parse_storage(value)
    previous = os.environ.get(STORAGE)
    os.environ[STORAGE] = value
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(STORAGE, None)
        else:
            os.environ[STORAGE] = previous


def secret_data(secret: Mapping[str, object]) -> dict[str, str]:
    """The decoded variables of a Kubernetes Secret object (``data`` is base64, ``stringData`` plain)."""
    decoded = {k: base64.b64decode(str(v)).decode() for k, v in dict(secret.get("data") or {}).items()}
    return {**decoded, **{k: str(v) for k, v in dict(secret.get("stringData") or {}).items()}}


def _output(outputs: Mapping[str, object], key: str) -> object:
    value = outputs.get(key)
    if value in (None, "", [], {}):
        raise PlatformEnvError(f"stack output {key!r} is missing: run `pulumi stack output --json` on a stack "
                               "with the services block")
    return value


def from_stack(outputs: Mapping[str, object], secret: Mapping[str, str], *, team: str, run: str,
               image_digest: str | None = None) -> PlatformEnv:
    """The settings for ``team``'s run ``run`` (e.g. ``climate/ci_tiny``), from a stack's outputs
    (``pulumi stack output --json``) and the team's Secret (decoded, see ``secret_data``).

    The run folder goes to ``s3://artifacts/<team>/runs/<run>``: the team's policy confines it to
    its own prefix of each bucket. The endpoint comes from the outputs, the keys from the Secret.
    """
    if not team or "/" in team:
        raise PlatformEnvError(f"team={team!r} is invalid: expected a team name from the stack's teamNamespaces")
    buckets = _output(outputs, OUT_S3_BUCKETS)
    if RUNS_BUCKET not in buckets:  # type: ignore[operator]
        raise PlatformEnvError(f"stack output {OUT_S3_BUCKETS!r}={buckets!r} lacks the {RUNS_BUCKET!r} bucket "
                               "that holds run folders")
    uris = outputs.get(OUT_TRACKING_URIS) or {}
    tracking = uris.get(team) if isinstance(uris, Mapping) else None
    if not tracking:
        tracking = str(_output(outputs, OUT_TRACKING_URI)).replace("{team}", team)
    credentials = _credentials({**secret, ENDPOINT_URL: str(_output(outputs, OUT_S3_ENDPOINT))},
                               f"the Secret {outputs.get(OUT_S3_CREDENTIALS_SECRET, '')!r}")
    return PlatformEnv(
        storage=parse_storage(f"s3://{RUNS_BUCKET}/{team}/runs/{run.strip('/')}"),
        s3=credentials,
        mlflow_tracking_uri=str(tracking),
        otlp_endpoint=str(_output(outputs, OUT_OTLP_ENDPOINT)),
        image_digest=image_digest,
        credentials_secret=str(_output(outputs, OUT_S3_CREDENTIALS_SECRET)),
    )
