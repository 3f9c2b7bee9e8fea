"""Forwards that heal: `--connect --forward` as a real process across the sandbox's max session
duration (its clock moved on), on the same local port; and one terminated on purpose does not."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from cli_support import cli_env, run, session_status
from sessiontui.core.healing import MAX_HEALS, should_heal


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A home per test; codes come from the sandbox (`--mfa-code`), whose clock these tests
    move, so no home's memory of spent MFA windows (on the real clock) gets in the way."""
    (tmp_path / "home").mkdir()
    return tmp_path / "home"


@pytest.fixture(scope="module")
def node(sandbox: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = run(sandbox, tmp_path_factory.mktemp("fleet"), "--list", "--json")
    assert out.returncode == 0, out.stderr
    fleet = json.loads(out.stdout)
    return next(
        n
        for n in fleet
        if n["connectable"]
        and n["tags"].get("project") == "Staging"
        and n["id"].startswith("i-")
        and sum(m["name"] == n["name"] for m in fleet) == 1
    )


def get(port: int) -> bytes:
    # no half-close: AWS's plugin drops the reply of a connection whose sending side closed
    # (docs/plugin-fidelity.md), and the stand-in does the same; the HTTP/1.0 reply ends the read
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(b"GET / HTTP/1.0\r\nHost: x\r\n\r\n")
        chunks = []
        while data := s.recv(4096):
            chunks.append(data)
    return b"".join(chunks)


def start_forward(
    sandbox: Any, home: Path, node: dict[str, Any], errors: Path
) -> tuple[subprocess.Popen[str], dict[str, Any]]:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sessiontui",
            "--connect",
            node["id"],
            "--role",
            "FleetAdmin",
            "--duration",
            "2h",  # the credentials outlive the account's 60 min max session
            "--mfa-code",
            sandbox.fresh_totp(),  # on the sandbox's clock, which these tests move
            "--forward",
            "0:80",
            "--json",
        ],
        stdout=subprocess.PIPE,
        stderr=errors.open("w"),
        text=True,
        env=cli_env(sandbox, home),
        stdin=subprocess.DEVNULL,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line, errors.read_text()
    return proc, json.loads(line)


def test_policy() -> None:
    reason = "Your session has reached its maximum duration and has been terminated."
    assert should_heal("server_ended", reason, 3600, 0)
    assert should_heal("server_ended", "Your session timed out due to inactivity and has been terminated.", None, 0)  # fmt: skip
    assert should_heal("crashed", "plugin exited without ending the session", 3600, 0)
    assert not should_heal("server_ended", "Your session has been terminated.", 3600, 0)
    assert not should_heal("server_ended", reason, 30, 0)  # the credentials end too soon
    assert not should_heal("server_ended", reason, 3600, MAX_HEALS)
    for how in ("stopped", "expired", "interrupted", "watchdog", "start_failed", "exited"):
        assert not should_heal(how, reason, 3600, 0)


def test_forward_heals_across_max_session_on_the_same_port(
    sandbox: Any, home: Path, tmp_path: Path, node: dict[str, Any]
) -> None:
    errors = tmp_path / "stderr"
    proc, ready = start_forward(sandbox, home, node, errors)
    first = ready["session_id"]
    port = ready["local_port"]
    healed: str | None = None
    try:
        assert f"hello from {node['name']}".encode() in get(port)
        sandbox.clock_offset = sandbox.clock_offset + 3601  # past the 60 min max session
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            ours = [
                s
                for s in sandbox.state.sessions.values()
                if s.target == node["id"]
                and s.session_id != first
                and sandbox.state.session_status(s) != "Terminated"
                and "FleetAdmin" in s.owner
            ]
            if ours and session_status(sandbox, node["region"], first) == "Terminated":
                try:
                    body = get(port)
                except OSError:
                    body = b""
                if f"hello from {node['name']}".encode() in body:
                    healed = ours[0].session_id
                    break
            time.sleep(0.2)
        assert healed, errors.read_text()
        assert "maximum duration" in sandbox.state.sessions[first].end_reason
        # the first session's end was the server's: sessiontui terminated it too, idempotently
        deadline = time.monotonic() + 10
        while "forward healed" not in errors.read_text() and time.monotonic() < deadline:
            time.sleep(0.1)
        said = errors.read_text()
        assert "the server ended its session" in said and f"new session {healed}" in said
        assert f"127.0.0.1:{port}" in said
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    assert session_status(sandbox, node["region"], healed) == "Terminated"


def test_a_forward_terminated_on_purpose_does_not_heal(
    sandbox: Any, home: Path, tmp_path: Path, node: dict[str, Any]
) -> None:
    errors = tmp_path / "stderr"
    proc, ready = start_forward(sandbox, home, node, errors)
    try:
        out = run(sandbox, home, "--terminate", ready["session_id"])
        assert out.returncode == 0, out.stderr
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    said = errors.read_text()
    assert "forward ended: Your session has been terminated." in said
    assert "healed" not in said
    started = [s for s in sandbox.state.sessions.values() if s.target == node["id"]]
    assert all(sandbox.state.session_status(s) == "Terminated" for s in started)
