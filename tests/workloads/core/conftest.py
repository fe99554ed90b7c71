"""A real S3-compatible server on loopback for the storage tests: moto's server mode, with
IAM authentication switched on and the team user holding exactly the policy the stack grants a
team in MinIO (its own prefix of each bucket), so a wrong key or another team's prefix is
refused as the platform would refuse it."""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from infra.components.storage import team_policy
from reference_workloads.core.tracking import free_port

TEAM = "climate"
BUCKET = "artifacts"
UNMADE = "unmade"
"""A bucket the team's policy names but nobody created (MinIO's bucket job failed, say)."""


def iam_policy(policy: dict) -> dict:
    """The stack's MinIO policy (infra.components.storage.team_policy) as an IAM document."""
    return {"Version": "2012-10-17", "Statement": [
        {"Effect": st["effect"].capitalize(), "Action": st["actions"], "Resource": st["resources"]}
        for st in policy["statements"]]}


@functools.lru_cache(maxsize=4)
def _client(endpoint: str, access_key_id: str, secret_access_key: str) -> Any:
    """One client per key: building a boto3 client costs about a second of CPU here."""
    from reference_workloads.core.platform_env import S3Credentials
    from reference_workloads.core.storage import s3_client

    return s3_client(S3Credentials(access_key_id=access_key_id, secret_access_key=secret_access_key,
                                   endpoint_url=endpoint, region="us-east-1"))


@dataclass(frozen=True)
class S3Server:
    endpoint: str
    access_key_id: str
    secret_access_key: str
    bucket: str = BUCKET
    """The bucket runs go to (the stack's ``artifacts``)."""
    team: str = TEAM
    """The team whose keys these are; its prefix is its own."""
    unmade: str = UNMADE

    def client(self) -> Any:
        return _client(self.endpoint, self.access_key_id, self.secret_access_key)

    def environ(self, storage: str, **changes: str) -> dict[str, str]:
        """The interface-2 variables a pod on the platform would get for ``storage``."""
        return {"AI4S_STORAGE": storage, "AWS_ENDPOINT_URL": self.endpoint, "AWS_REGION": "us-east-1",
                "AWS_ACCESS_KEY_ID": self.access_key_id, "AWS_SECRET_ACCESS_KEY": self.secret_access_key,
                **changes}

    def storage(self, name: str) -> str:
        """A run folder of its own under the team's prefix."""
        return f"s3://{self.bucket}/{self.team}/{name}"


@pytest.fixture(scope="module")
def s3_server() -> Iterator[S3Server]:
    import boto3
    import requests
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    try:
        requests.post(f"{endpoint}/moto-api/reset", timeout=10).raise_for_status()
        iam = boto3.client("iam", endpoint_url=endpoint, region_name="us-east-1",
                           aws_access_key_id="bootstrap", aws_secret_access_key="bootstrap")
        iam.create_user(UserName=TEAM)
        policy = iam_policy(team_policy(TEAM, (BUCKET, UNMADE)))
        iam.put_user_policy(UserName=TEAM, PolicyName="team", PolicyDocument=json.dumps(policy))
        key = iam.create_access_key(UserName=TEAM)["AccessKey"]
        boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="bootstrap",
                     aws_secret_access_key="bootstrap").create_bucket(Bucket=BUCKET)
        # from here on every request is signed and checked against the user's key
        requests.post(f"{endpoint}/moto-api/reset-auth", data=b"0", timeout=10).raise_for_status()
        yield S3Server(endpoint, key["AccessKeyId"], key["SecretAccessKey"])
    finally:
        requests.post(f"{endpoint}/moto-api/reset-auth", data=b"inf", timeout=10)
        server.stop()
