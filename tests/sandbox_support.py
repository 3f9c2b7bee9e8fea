"""boto3 clients straight at the sandbox, for tests of the sandbox itself (no retries)."""

from __future__ import annotations

from typing import Any

import boto3
from botocore.config import Config

from sessiontui_sandbox import Sandbox

NO_RETRY = Config(retries={"total_max_attempts": 1, "mode": "standard"})


def client(
    sb: Sandbox, service: str, region: str = "us-east-1", creds: Any = None, **cfg: Any
) -> Any:
    """The demo operator's client, or the given role credentials' (AssumeRole's answer)."""
    env = sb.env()
    keys = {
        "aws_access_key_id": env["AWS_ACCESS_KEY_ID"],
        "aws_secret_access_key": env["AWS_SECRET_ACCESS_KEY"],
    }
    if creds:
        keys = {
            "aws_access_key_id": creds["AccessKeyId"],
            "aws_secret_access_key": creds["SecretAccessKey"],
            "aws_session_token": creds["SessionToken"],
        }
    config = NO_RETRY.merge(Config(**cfg)) if cfg else NO_RETRY
    make: Any = boto3.client  # the stubs' overloads want a literal service name
    return make(service, region_name=region, endpoint_url=sb.endpoint_url, config=config, **keys)
