"""`sessiontui --connect` as a real process against the sandbox and the stand-in plugin."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pexpect
import pytest

from cli_support import audit_events, cli_env, run, session_status


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One operator's home for the module: credentials are cached and MFA windows remembered
    across runs, as on a real machine (two fresh homes would send the same code twice)."""
    return tmp_path_factory.mktemp("home")


@pytest.fixture(scope="module")
def fleet(sandbox: Any, tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    out = run(sandbox, tmp_path_factory.mktemp("fleet"), "--list", "--json")
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)  # type: ignore[no-any-return]


def pick(
    fleet: list[dict[str, Any]],
    *,
    connectable: bool = True,
    project: str | None = None,
    hybrid: bool = False,
) -> dict[str, Any]:
    for n in fleet:
        if n["connectable"] != connectable or n["id"].startswith("mi-") != hybrid:
            continue
        if project and n["tags"].get("project") != project:
            continue
        if sum(m["name"] == n["name"] for m in fleet) == 1:
            return n
    raise AssertionError("no such node in the sandbox fleet")


def test_shell_through_a_real_pty(
    sandbox: Any, home: Path, fleet: list[dict[str, Any]], plugin: Path
) -> None:
    node = pick(fleet, project="Staging")
    child = pexpect.spawn(
        sys.executable,
        [
            "-m",
            "sessiontui",
            "--connect",
            node["id"],
            "--role",
            "StagingDev",
            "--reason",
            "TICKET-7",
        ],
        env=cli_env(sandbox, home, {"SESSIONTUI_PLUGIN": str(plugin)}),
        encoding="utf-8",
        timeout=40,
        dimensions=(30, 120),
    )
    child.expect(r"\$ ")
    child.sendline("hostname")
    child.expect(node["name"])
    child.sendline("exit")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert "exited normally" in child.before
    # the summary says what was left and what would have ended it (credentials or max session)
    assert "left (" in child.before
    events = audit_events(home)
    started = [e for e in events if e["event"] == "session_started"][-1]
    ended = [e for e in events if e["event"] == "session_ended"][-1]
    assert started["reason"] == "TICKET-7" and started["target"] == node["id"]
    assert ended["session_id"] == started["session_id"]
    assert session_status(sandbox, node["region"], started["session_id"]) == "Terminated"


def _start_forward(
    sandbox: Any, home: Path, node: dict[str, Any], spec: str, plugin: Path
) -> tuple[subprocess.Popen[str], dict[str, Any]]:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sessiontui",
            "--connect",
            node["id"],
            "--role",
            "StagingDev",
            "--forward",
            spec,
            "--json",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=cli_env(sandbox, home, {"SESSIONTUI_PLUGIN": str(plugin)}),
        stdin=subprocess.DEVNULL,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line, proc.stderr.read() if proc.stderr else ""
    return proc, json.loads(line)


def _fetch(port: int, request: bytes) -> bytes:
    """The reply to `request` (until the server closes), or a banner's first line. No half-close:
    AWS's plugin ends the smux stream at a local EOF, and the reply with it."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(request)
        chunks = []
        while data := s.recv(4096):
            chunks.append(data)
            if not request and b"\n" in data:
                break
    return b"".join(chunks)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_forward_carries_bytes_and_every_signal_terminates_the_session(
    sandbox: Any, home: Path, fleet: list[dict[str, Any]], sig: signal.Signals, plugin: Path
) -> None:
    node = pick(fleet, project="Staging")
    proc, ready = _start_forward(sandbox, home, node, "0:80", plugin)
    try:
        assert set(ready) == {
            "session_id",
            "target",
            "local_port",
            "host",
            "remote_port",
            "expires_at",
            "ends_at",
            "ends_because",
        }
        # StagingDev's 1 h credentials, the sandbox's 60 min max session and 20 min idle
        # timeout: nobody connected yet, so idle ends it first, and the ready line says so
        assert ready["ends_because"] == "idle"
        ends = datetime.fromisoformat(ready["ends_at"].replace("Z", "+00:00"))
        assert abs((ends - datetime.now(UTC)).total_seconds() - 20 * 60) < 60
        assert ready["ends_at"] < ready["expires_at"]
        assert (
            ready["target"] == node["id"] and ready["remote_port"] == 80 and ready["local_port"] > 0
        )
        body = _fetch(ready["local_port"], b"GET / HTTP/1.0\r\nHost: x\r\n\r\n")
        assert f"hello from {node['name']}".encode() in body
        proc.send_signal(sig)
        code = proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert code == (0 if sig == signal.SIGINT else 128 + sig)
    assert session_status(sandbox, node["region"], ready["session_id"]) == "Terminated"
    ended = [e for e in audit_events(home) if e["event"] == "session_ended"]
    assert ended and ended[-1]["session_id"] == ready["session_id"]


def test_forward_to_a_host_behind_the_node(
    sandbox: Any, home: Path, fleet: list[dict[str, Any]], plugin: Path
) -> None:
    node = pick(fleet, project="Staging")
    proc, ready = _start_forward(sandbox, home, node, "orders.db.internal:5432", plugin)
    try:
        assert ready["host"] == "orders.db.internal" and ready["remote_port"] == 5432
        banner = _fetch(ready["local_port"], b"")
        assert b"orders.db.internal" in banner
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)


def test_busy_local_port_exits_6_before_starting_a_session(
    sandbox: Any, home: Path, fleet: list[dict[str, Any]]
) -> None:
    node = pick(fleet, project="Staging")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        sandbox.reset_calls()
        out = run(
            sandbox,
            home,
            "--connect",
            node["id"],
            "--role",
            "StagingDev",
            "--forward",
            f"{port}:80",
        )
    assert out.returncode == 6, out.stderr
    assert str(port) in out.stderr
    assert sandbox.calls[("ssm", "StartSession")] == 0


def test_exit_codes_for_each_refusal(sandbox: Any, home: Path, fleet: list[dict[str, Any]]) -> None:
    prod = pick(fleet, project="Production")
    lost = next(n for n in fleet if n["ping_status"] == "ConnectionLost")
    staging = pick(fleet, project="Staging")
    cases = [
        (["--connect", "no-such-node", "--role", "StagingDev"], 2, "no node"),
        (["--connect", "project=Staging", "--role", "StagingDev"], 2, "nodes match"),
        (["--connect", prod["id"], "--role", "StagingDev"], 3, "outside role scope"),
        (["--connect", staging["id"]], 3, "not authorized"),
        (["--connect", lost["id"], "--role", "FleetAdmin"], 4, "ConnectionLost"),
        (["--connect", prod["id"], "--role", "ProdOps"], 2, "requires a reason"),
        (
            ["--connect", staging["id"], "--role", "StagingDev", "--forward", "99999"],
            2,
            "out of range",
        ),
    ]
    for args, code, words in cases:
        out = run(sandbox, home, *args)
        assert (out.returncode, words in out.stderr) == (code, True), (
            args,
            out.returncode,
            out.stderr,
        )
        assert "Traceback" not in out.stderr


def test_missing_plugin_exits_5_with_the_install_hint(
    sandbox: Any, home: Path, fleet: list[dict[str, Any]]
) -> None:
    node = pick(fleet, project="Staging")
    sandbox.reset_calls()
    out = run(
        sandbox,
        home,
        "--connect",
        node["id"],
        "--role",
        "StagingDev",
        extra={"SESSIONTUI_PLUGIN": "", "PATH": str(home / "empty-bin")},
    )
    assert out.returncode == 5, out.stderr
    assert "session-manager-plugin" in out.stderr and "install" in out.stderr
    assert sandbox.calls[("sts", "AssumeRole")] == 0, (
        "no MFA code is spent when the plugin is missing"
    )


def test_a_sigkilled_forwards_private_tmpdir_is_swept_at_the_next_forward(
    sandbox: Any, home: Path, fleet: list[dict[str, Any]], plugin: Path
) -> None:
    """SIGKILL leaves the plugin's private TMPDIR (issue 29): the next forward removes it."""
    node = pick(fleet, project="Staging")
    killed, _ = _start_forward(sandbox, home, node, "0:80", plugin)
    left = list(Path("/tmp").glob(f"sessiontui-{killed.pid}-*"))
    assert len(left) == 1 and left[0].is_dir()
    killed.kill()
    killed.wait(timeout=30)
    time.sleep(0.5)  # the plugin, its pty gone, follows
    assert left[0].is_dir()  # nothing of the killed process removed it
    proc, ready = _start_forward(sandbox, home, node, "0:80", plugin)
    try:
        assert ready["local_port"] > 0 and not left[0].exists()
        assert list(Path("/tmp").glob(f"sessiontui-{proc.pid}-*"))  # the live one's stays
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    assert not list(Path("/tmp").glob(f"sessiontui-{proc.pid}-*"))  # gone with its forward


def test_a_name_is_asked_of_aws_and_never_taken_from_the_cache(
    sandbox: Any, home: Path, fleet: list[dict[str, Any]]
) -> None:
    """--connect NAME finds the node with filtered calls (no listing), and a node renamed or
    stopped since the inventory cache was written is not opened on the cache's word."""
    from sandbox_support import client

    renamed, stopped = [n for n in fleet if n["connectable"] and not n["id"].startswith("mi-")][:2]
    assert run(sandbox, home, "--list", "--role", "FleetAdmin").returncode == 0  # the cache
    # the demo operator may only look: FleetAdmin renames and stops, as an administrator would
    admin = sandbox.role_credentials("FleetAdmin")
    ec2 = {r: client(sandbox, "ec2", r, admin) for r in (renamed["region"], stopped["region"])}
    sandbox.reset_calls()
    # resolved, then refused after the lookup: no reason given for a role that requires one
    out = run(sandbox, home, "--connect", renamed["name"], "--role", "ProdOps")
    assert out.returncode in (2, 3), out.stderr
    assert "no node" not in out.stderr and "Traceback" not in out.stderr
    assert sandbox.calls[("tagging", "GetResources")] == 0, "the fleet was listed"
    assert sandbox.calls[("ssm", "DescribeInstanceProperties")] <= 2  # one a region
    assert sandbox.calls[("ec2", "DescribeInstances")] <= 2
    old = renamed["name"]
    ec2[renamed["region"]].create_tags(
        Resources=[renamed["id"]], Tags=[{"Key": "Name", "Value": f"{old}-renamed"}]
    )
    ec2[stopped["region"]].stop_instances(InstanceIds=[stopped["id"]])
    try:
        sandbox.reset_calls()
        out = run(sandbox, home, "--connect", old, "--role", "FleetAdmin")
        assert (out.returncode, "no node" in out.stderr) == (2, True), out.stderr
        out = run(sandbox, home, "--connect", stopped["name"], "--role", "FleetAdmin")
        assert (out.returncode, "stopped" in out.stderr) == (4, True), out.stderr
        assert sandbox.calls[("ssm", "StartSession")] == 0
    finally:
        ec2[renamed["region"]].create_tags(
            Resources=[renamed["id"]], Tags=[{"Key": "Name", "Value": old}]
        )
        ec2[stopped["region"]].start_instances(InstanceIds=[stopped["id"]])
