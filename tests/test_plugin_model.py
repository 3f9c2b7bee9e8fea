"""The plugin's printed lines, and the forward model the TUI shows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from sessiontui.core.forwards import Forward, ForwardState, client_hint
from sessiontui.plugin.output import Ending, LineKind, LineSplitter, Outcome, parse_line
from sessiontui.plugin.supervisor import forward_document

SID = "operator-0a1b2c3d4e5f67890"


@pytest.mark.parametrize(
    ("line", "kind", "port", "reason"),
    [
        (f"Starting session with SessionId: {SID}", LineKind.STARTING, None, ""),
        (f"Port 15432 opened for sessionId {SID}.", LineKind.PORT_OPENED, 15432, ""),
        ("Waiting for connections...", LineKind.WAITING, None, ""),
        (f"Connection accepted for session [{SID}]", LineKind.CONNECTION_ACCEPTED, None, ""),
        (f"Connection accepted for session {SID}.", LineKind.CONNECTION_ACCEPTED, None, ""),
        (f"Exiting session with sessionId: {SID}.", LineKind.EXITING, None, ""),
        (
            f"SessionId: {SID} : Your session timed out due to inactivity and has been terminated.",
            LineKind.SERVER_ENDED,
            None,
            "Your session timed out due to inactivity and has been terminated.",
        ),
        (
            "Connection to destination port failed, check SSM Agent logs.",
            LineKind.DESTINATION_FAILED,
            None,
            "",
        ),
        ("Cannot perform start session: EOF", LineKind.START_FAILED, None, "EOF"),
        (f"Session: {SID} timed out.", LineKind.TIMED_OUT, None, ""),
        ("Terminate signal received, exiting.", LineKind.TERMINATE_SIGNAL, None, ""),
        ("Unknown operation Foo. ", LineKind.UNKNOWN_OPERATION, None, "Foo"),
    ],
)
def test_parse_line(line: str, kind: LineKind, port: int | None, reason: str) -> None:
    parsed = parse_line(line + "\r")
    assert parsed is not None
    assert parsed.kind is kind
    assert parsed.port == port
    assert parsed.reason == reason
    without_id = (
        LineKind.WAITING,
        LineKind.DESTINATION_FAILED,
        LineKind.START_FAILED,
        LineKind.TERMINATE_SIGNAL,
        LineKind.UNKNOWN_OPERATION,
    )
    if kind not in without_id:
        assert parsed.session_id == SID


def test_shell_output_is_not_a_plugin_line() -> None:
    assert parse_line("ssm-user@web-01:~$ echo SessionId: x") is None
    assert parse_line("") is None


def test_splitter_keeps_partial_lines() -> None:
    s = LineSplitter()
    assert s.feed(b"\r\nStarting session with Sess") == [""]
    assert s.feed(b"ionId: abc\r\nPort 1") == ["Starting session with SessionId: abc"]
    assert s.partial == "Port 1"


@pytest.mark.parametrize(
    ("lines", "status", "signal", "how"),
    [
        ([f"Exiting session with sessionId: {SID}."], 0, None, Ending.EXITED),
        ([f"SessionId: {SID} : Session terminated"], 0, None, Ending.SERVER_ENDED),
        (["Cannot perform start session: 403"], 0, None, Ending.START_FAILED),
        ([], 2, None, Ending.CRASHED),
        ([], None, 9, Ending.KILLED),
        ([], 0, None, Ending.CRASHED),
    ],
)
def test_outcome(lines: list[str], status: int | None, signal: int | None, how: Ending) -> None:
    o = Outcome()
    for line in lines:
        parsed = parse_line(line)
        assert parsed is not None
        o.observe(parsed)
    assert o.decide(status, signal)[0] is how


@pytest.mark.parametrize(
    ("remote", "expected"),
    [
        (5432, "psql -h 127.0.0.1 -p 15432"),
        (3306, "mysql -h 127.0.0.1 -P 15432"),
        (6379, "redis-cli -p 15432"),
        (80, "http://127.0.0.1:15432"),
        (8080, "http://127.0.0.1:15432"),
        (443, "https://127.0.0.1:15432"),
        (22, "127.0.0.1:15432"),
    ],
)
def test_client_hint(remote: int, expected: str) -> None:
    assert client_hint(remote, 15432) == expected


def test_forward_transitions() -> None:
    exp = datetime(2026, 11, 21, 14, 0, tzinfo=UTC)
    fw = Forward(target="i-1", remote_port=5432, host="db.internal", expires_at=exp)
    assert fw.state is ForwardState.STARTING and fw.client == ""
    assert fw.mark_ready(15432) and not fw.mark_ready(1)
    assert fw.client == "psql -h 127.0.0.1 -p 15432"
    assert fw.mark_connection() and fw.mark_connection()
    assert fw.state is ForwardState.CONNECTED and fw.connections == 2
    assert fw.remaining(exp - timedelta(minutes=5)) == 300
    assert fw.remaining(exp + timedelta(minutes=5)) == 0
    assert fw.mark_ended("stopped", "stopped by the operator")
    assert not fw.mark_ended("crashed", "x") and fw.reason == "stopped by the operator"
    assert not fw.mark_connection()
    assert fw.ready_json() == {
        "session_id": None,
        "target": "i-1",
        "local_port": 15432,
        "host": "db.internal",
        "remote_port": 5432,
        "expires_at": "2026-11-21T14:00:00Z",
        # no limits known: the credentials end it
        "ends_at": "2026-11-21T14:00:00Z",
        "ends_because": "credentials",
    }


def test_forward_documents() -> None:
    assert forward_document(80) == (
        "AWS-StartPortForwardingSession",
        {"portNumber": ["80"], "localPortNumber": ["0"]},
    )
    assert forward_document(5432, "db.internal", 15432) == (
        "AWS-StartPortForwardingSessionToRemoteHost",
        {"host": ["db.internal"], "portNumber": ["5432"], "localPortNumber": ["15432"]},
    )
