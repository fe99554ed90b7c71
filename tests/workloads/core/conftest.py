"""A real S3-compatible server on loopback for the storage tests: moto's server mode, with
IAM authentication switched on, so a wrong key is refused as MinIO would refuse it."""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from reference_workloads.core.tracking import free_port

ALLOW_S3 = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}


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

    def client(self) -> Any:
        return _client(self.endpoint, self.access_key_id, self.secret_access_key)

    def environ(self, storage: str, **changes: str) -> dict[str, str]:
        """The interface-2 variables a pod on the platform would get for ``storage``."""
        return {"AI4S_STORAGE": storage, "AWS_ENDPOINT_URL": self.endpoint, "AWS_REGION": "us-east-1",
                "AWS_ACCESS_KEY_ID": self.access_key_id, "AWS_SECRET_ACCESS_KEY": self.secret_access_key,
                **changes}

    def bucket(self, name: str) -> str:
        self.client().create_bucket(Bucket=name)
        return name


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
        iam.create_user(UserName="climate")
        iam.put_user_policy(UserName="climate", PolicyName="s3", PolicyDocument=json.dumps(ALLOW_S3))
        key = iam.create_access_key(UserName="climate")["AccessKey"]
        # from here on every request is signed and checked against the user's key
        requests.post(f"{endpoint}/moto-api/reset-auth", data=b"0", timeout=10).raise_for_status()
        yield S3Server(endpoint, key["AccessKeyId"], key["SecretAccessKey"])
    finally:
        requests.post(f"{endpoint}/moto-api/reset-auth", data=b"inf", timeout=10)
        server.stop()
