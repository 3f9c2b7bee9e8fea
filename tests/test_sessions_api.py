"""aws.sessions against the sandbox's SSM: the calls, and AWS errors mapped to exit codes."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from sessiontui.aws.sessions import (
    REAUTH_HINT,
    SessionPreferences,
    connection_status,
    describe_sessions,
    session_preferences,
    start_session,
    terminate_session,
)
from sessiontui.core.errors import AuthError, NotConnectableError
from test_plugin_support import AwsUnderTest, aws_under_test


@pytest.fixture(scope="module")
def aws(sandbox: Any) -> Iterator[AwsUnderTest]:
    with aws_under_test(sandbox) as env:
        yield env


def test_start_describe_terminate(aws: AwsUnderTest) -> None:
    ssm = aws.client()
    s = start_session(ssm, aws.web_id, reason="ticket OPS-7")
    assert s.session_id and f"/v1/data-channel/{s.session_id}?" in s.stream_url
    assert s.region == aws.region and s.endpoint_url == aws.endpoint_url
    assert s.token_value not in repr(s) and "token" not in repr(s).lower()
    active = describe_sessions(ssm, "Active", target=aws.web_id)
    assert s.session_id in {x["SessionId"] for x in active}
    assert terminate_session(ssm, s.session_id) is True
    assert terminate_session(ssm, s.session_id) is True  # idempotent
    assert terminate_session(ssm, "operator-00000000000000000") is True
    history = describe_sessions(ssm, "History", target=aws.web_id)
    assert s.session_id in {x["SessionId"] for x in history}


def test_port_forward_parameters_go_through(aws: AwsUnderTest) -> None:
    ssm = aws.client()
    s = start_session(
        ssm,
        aws.web_id,
        "AWS-StartPortForwardingSession",
        {"portNumber": ["80"], "localPortNumber": ["0"]},
    )
    assert s.document == "AWS-StartPortForwardingSession"
    assert s.parameters == {"portNumber": ["80"], "localPortNumber": ["0"]}
    terminate_session(ssm, s.session_id)


def test_scope_refusal_is_auth_error_in_plain_words(aws: AwsUnderTest) -> None:
    with pytest.raises(AuthError) as e:
        start_session(aws.client(aws.scoped), aws.stg_id)
    assert e.value.exit_code == 3
    assert e.value.message.startswith("access denied: your role may not start a session")
    assert "Traceback" not in "\n".join(e.value.lines())


def test_in_scope_node_is_fine_for_the_scoped_role(aws: AwsUnderTest) -> None:
    ssm = aws.client(aws.scoped)
    s = start_session(ssm, aws.web_id)
    assert terminate_session(ssm, s.session_id)


def test_not_connected_is_exit_4(aws: AwsUnderTest) -> None:
    with pytest.raises(NotConnectableError) as e:
        start_session(aws.client(), aws.lost_id)
    assert e.value.exit_code == 4
    assert aws.lost_id in e.value.message


def test_connection_status_and_preferences(aws: AwsUnderTest) -> None:
    ssm = aws.client()
    assert connection_status(ssm, aws.web_id) == "connected"
    assert connection_status(ssm, aws.lost_id) == "notconnected"
    assert session_preferences(ssm) == SessionPreferences(idle_minutes=20, max_minutes=60)


def test_expired_credentials_ask_to_reauthenticate(aws: AwsUnderTest) -> None:
    short = aws.role("FleetAdmin", 900)
    aws.sb.clock_offset = 1000
    try:
        with pytest.raises(AuthError) as e:
            start_session(aws.client(short), aws.web_id)
    finally:
        aws.sb.clock_offset = 0
    assert "expired" in e.value.message and e.value.hint == REAUTH_HINT
