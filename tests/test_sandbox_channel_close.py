"""The service's side of the hourly reconnect: ResumeSession signed with credentials that have
since expired is refused as AWS refuses it (ExpiredTokenException), while the same session
resumes with credentials that are still good; and the lifetime setting is checked."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError


def ssm_with(sandbox: Any, keys: dict[str, Any]) -> Any:
    return boto3.client(
        "ssm",
        region_name="us-east-1",
        endpoint_url=sandbox.endpoint_url,
        aws_access_key_id=keys["AccessKeyId"],
        aws_secret_access_key=keys["SecretAccessKey"],
        aws_session_token=keys["SessionToken"],
    )


def test_a_resume_signed_with_expired_credentials_is_refused(sandbox: Any) -> None:
    short = sandbox.role_credentials("FleetAdmin", 900)
    ssm = ssm_with(sandbox, short)
    target = next(
        i["InstanceId"]
        for i in ssm.describe_instance_information()["InstanceInformationList"]
        if i["PingStatus"] == "Online" and i["InstanceId"].startswith("i-")
    )
    session = ssm.start_session(Target=target)["SessionId"]
    before = sandbox.clock_offset
    try:
        sandbox.clock_offset = before + 901  # the keys' 15 minutes are over; the session is not
        with pytest.raises(ClientError) as refused:
            ssm.resume_session(SessionId=session)
        assert refused.value.response["Error"]["Code"] == "ExpiredTokenException"
        # the same role's fresh keys resume it: the session itself lives on
        fresh = ssm_with(sandbox, sandbox.role_credentials("FleetAdmin", 900))
        assert fresh.resume_session(SessionId=session)["TokenValue"]
    finally:
        sandbox.clock_offset = before
        ssm_with(sandbox, sandbox.role_credentials("FleetAdmin", 900)).terminate_session(
            SessionId=session
        )


def test_the_channel_lifetime_is_a_positive_number_of_seconds(sandbox: Any) -> None:
    assert sandbox.channel_lifetime == 3600.0  # AWS's hour, unless a test shortens it
    with pytest.raises(Exception, match="more than 0"):
        sandbox.channel_lifetime = 0
    assert sandbox.channel_lifetime == 3600.0
