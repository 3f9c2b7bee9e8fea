"""`sessiontui --request-access` and `--connect` under just-in-time node access, as real
processes against the sandbox (its auto, manual and deny policies) and the stand-in plugin."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pexpect
import pytest

from cli_support import audit_events, cli_env, run, session_status
from sessiontui.stores.access_requests import AccessStore


@pytest.fixture(autouse=True)
def _no_faults(sandbox: Any) -> Iterator[None]:
    yield
    sandbox.clear_faults()


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


@pytest.fixture(scope="module")
def fleet(sandbox: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    out = run(sandbox, tmp_path_factory.mktemp("fleet"), "--list", "--json")
    assert out.returncode == 0, out.stderr
    return {n["name"]: n for n in json.loads(out.stdout) if n["region"] == "us-east-1"}


def store(home: Path) -> AccessStore:
    return AccessStore(home / "state" / "sessiontui" / "access-requests.json")


def control(sandbox: Any, body: dict[str, Any]) -> None:
    req = urllib.request.Request(
        f"{sandbox.endpoint_url}/_sandbox/control",
        data=json.dumps(body).encode(),
        method="POST",
        headers=sandbox.control_headers(),
    )
    with urllib.request.urlopen(req, timeout=10) as resp:
        assert resp.status == 200


def waiting(sandbox: Any, home: Path, *args: str) -> tuple[subprocess.Popen[str], str]:
    """A --request-access that waits; returns it and its request id, read from stderr."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "sessiontui", "--request-access", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=cli_env(sandbox, home),
        stdin=subprocess.DEVNULL,
    )
    assert proc.stderr is not None
    for _ in range(20):
        line = proc.stderr.readline()
        if "access requested" in line:
            return proc, line.split("sessiontui: ", 1)[1].split(":", 1)[0]
        assert line, "the CLI ended before filing its request"
    raise AssertionError("no request id on stderr")


def shell(sandbox: Any, home: Path, target: str) -> pexpect.spawn:
    child = pexpect.spawn(
        sys.executable,
        ["-m", "sessiontui", "--connect", target],
        env=cli_env(sandbox, home),
        encoding="utf-8",
        timeout=40,
        dimensions=(30, 120),
    )
    return child


def test_auto_approved_request_then_a_shell_on_the_target(
    sandbox: Any, home: Path, fleet: dict[str, dict[str, Any]]
) -> None:
    node = fleet["pay-api-01"]
    out = run(sandbox, home, "--request-access", "pay-api-01", "--reason", "INC-1234")
    assert out.returncode == 0, out.stderr
    line = json.loads(out.stdout)
    assert set(line) == {"access_request_id", "status", "targets", "expires_at"}
    assert line["status"] == "Approved" and line["targets"] == [node["id"]]
    assert line["access_request_id"].startswith("oi-") and line["expires_at"].endswith("Z")
    assert "Approved" in out.stderr
    (kept,) = store(home).load()
    assert (kept.request_id, kept.status, kept.reason) == (
        line["access_request_id"],
        "Approved",
        "INC-1234",
    )
    folder = store(home).path.parent
    assert (store(home).path.stat().st_mode & 0o777, folder.stat().st_mode & 0o777) == (
        0o600,
        0o700,
    )
    assert (
        "Secret" not in store(home).path.read_text()
        and "secret" not in store(home).path.read_text()
    )

    child = shell(sandbox, home, "pay-api-01")
    child.expect("using just-in-time access " + line["access_request_id"])
    child.expect(r"\$ ")
    child.sendline("hostname")
    child.expect("pay-api-01")
    child.sendline("exit")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0, child.before

    events = audit_events(home)
    kinds = [e["event"] for e in events]
    assert kinds[:2] == ["access_requested", "access_decided"]
    assert events[0]["reason"] == "INC-1234" and events[0]["targets"] == [node["id"]]
    assert events[1]["status"] == "Approved"
    started = next(e for e in events if e["event"] == "session_started")
    assert started["role"] == line["access_request_id"]
    assert session_status(sandbox, "us-east-1", started["session_id"]) == "Terminated"

    # a second request for the same node reuses the approved one
    again = run(sandbox, home, "--request-access", "pay-api-01", "--reason", "INC-1234")
    assert again.returncode == 0 and "reusing it" in again.stderr
    assert json.loads(again.stdout)["access_request_id"] == line["access_request_id"]


def test_a_governed_node_refuses_a_shell_and_says_why(sandbox: Any, home: Path) -> None:
    out = run(sandbox, home, "--connect", "pay-ledger-01")
    assert out.returncode == 3, out.stderr
    assert "governed by just-in-time node access" in out.stderr
    assert "--request-access" in out.stderr
    assert "Traceback" not in out.stderr


def test_manual_request_approved_while_the_cli_waits(
    sandbox: Any, home: Path, fleet: dict[str, dict[str, Any]]
) -> None:
    proc, request_id = waiting(sandbox, home, "pay-ledger-01", "--reason", "CHG-9", "--wait", "1m")
    time.sleep(0.5)
    control(sandbox, {"approve": request_id})
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    line = json.loads(out)
    assert (line["access_request_id"], line["status"]) == (request_id, "Approved")
    assert line["targets"] == [fleet["pay-ledger-01"]["id"]]
    # the manual policy's two hours
    expires = line["expires_at"].replace("Z", "+00:00")
    from datetime import UTC, datetime

    left = (datetime.fromisoformat(expires) - datetime.now(UTC)).total_seconds()
    assert 7000 < left <= 7200


def test_rejected_by_the_approvers_command(sandbox: Any, home: Path) -> None:
    proc, request_id = waiting(sandbox, home, "pay-hsm-gw-01", "--reason", "CHG-10")
    # a shell that ran the sandbox's export lines: its endpoint and its control secret
    env = {
        **os.environ,
        "AWS_ENDPOINT_URL": sandbox.endpoint_url,
        "SESSIONTUI_SANDBOX_TOKEN": sandbox.control_token,
    }
    done = subprocess.run(
        [sys.executable, "-m", "sessiontui_sandbox", "reject", request_id, "--reason", "freeze"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 3, err
    assert out == "" and f"{request_id}: Rejected" in err
    assert store(home).get(request_id).status == "Rejected"  # type: ignore[union-attr]
    decided = [e for e in audit_events(home) if e["event"] == "access_decided"]
    assert decided[-1]["status"] == "Rejected"


def test_wait_0_returns_the_pending_id_and_connect_uses_it_once_approved(
    sandbox: Any, home: Path
) -> None:
    out = run(
        sandbox, home, "--request-access", "pay-ledger-01", "--reason", "CHG-11", "--wait", "0"
    )
    assert out.returncode == 3, out.stderr
    line = json.loads(out.stdout)
    assert line["status"] == "Pending" and line["expires_at"] is None
    control(sandbox, {"approve": line["access_request_id"]})
    # the kept request still says Pending; --connect asks GetAccessToken and finds it Approved
    child = shell(sandbox, home, "pay-ledger-01")
    child.expect("using just-in-time access " + line["access_request_id"])
    child.expect(r"\$ ")
    child.sendline("exit")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert store(home).get(line["access_request_id"]).status == "Approved"  # type: ignore[union-attr]


def test_revoked_mid_session_ends_the_shell_with_the_reason(sandbox: Any, home: Path) -> None:
    out = run(sandbox, home, "--request-access", "pay-api-02", "--reason", "INC-5")
    assert out.returncode == 0, out.stderr
    request_id = json.loads(out.stdout)["access_request_id"]
    child = shell(sandbox, home, "pay-api-02")
    child.expect(r"\$ ")
    control(sandbox, {"revoke": request_id})
    child.expect(f"access request {request_id} was revoked")
    child.expect(pexpect.EOF)
    child.close()
    again = run(sandbox, home, "--connect", "pay-api-02")
    assert again.returncode == 3 and "governed by just-in-time node access" in again.stderr
    assert store(home).get(request_id).status == "Revoked"  # type: ignore[union-attr]


def test_expired_access_is_not_reused(sandbox: Any, home: Path) -> None:
    out = run(sandbox, home, "--request-access", "pay-api-01", "--reason", "INC-6")
    assert out.returncode == 0, out.stderr
    request_id = json.loads(out.stdout)["access_request_id"]
    sandbox.clock_offset = 3601
    again = run(sandbox, home, "--connect", "pay-api-01")
    assert again.returncode == 3 and "governed by just-in-time node access" in again.stderr
    assert store(home).get(request_id).status == "Expired"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--request-access", "pay-api-01"], "a reason is required"),
        (["--request-access", "pay-api-01", "--reason", "  "], "a reason is required"),
        (["--request-access", "pay-api-01", "--reason", "x" * 257], "at most 256"),
        (["--request-access", "pay-api-01"] * 6 + ["--reason", "x"], "at most 5 targets"),
        (["--request-access", "no-such-node", "--reason", "x"], "no node"),
        (["--list", "--wait", "1m"], "--wait goes with --request-access"),
        (["--request-access", "pay-api-01", "--reason", "x", "--wait", "soon"], "cannot read"),
    ],
)
def test_bad_input_gets_words_and_exit_2(
    sandbox: Any, home: Path, args: list[str], words: str
) -> None:
    sandbox.reset_calls()
    out = run(sandbox, home, *args)
    assert (out.returncode, words in out.stderr) == (2, True), out.stderr
    assert "Traceback" not in out.stderr
    assert sandbox.calls[("ssm", "StartAccessRequest")] == 0


def test_denied_and_unpoliced_nodes_exit_3(sandbox: Any, home: Path) -> None:
    denied = run(sandbox, home, "--request-access", "pay-vault-01", "--reason", "INC-8")
    assert denied.returncode == 3 and "deny-access policy" in denied.stderr
    plain = run(sandbox, home, "--request-access", "prod-web-01", "--reason", "INC-8")
    assert plain.returncode == 3 and "No approval policy applies" in plain.stderr
