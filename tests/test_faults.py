"""Faults, through the real CLI (`python -m sessiontui` in a subprocess or under a pty): the
plugin dying or hanging, signals, the endpoint going down, throttling, corrupted files on disk,
credentials running out under a forward. Each time the session must end server-side and nothing
the operator had must be lost.

Already covered elsewhere, so only the missing angle is here:
- supervisor-level plugin SIGKILL in a shell (tests/test_plugin_shell.py), watchdog and expiry
  with a FakeClock (tests/test_plugin_forward.py): here the same faults go through the CLI, its
  exit codes and its audit log;
- SIGINT/SIGTERM/SIGHUP on a CLI forward after one connection (tests/test_cli_connect.py): here
  after two connections, and the plugin and its local port must be gone afterwards;
- an unreachable endpoint (tests/test_cli_list.py, port 9): here the endpoint answers 503, and
  comes back;
- bad config values and undecodable config at load_config level (tests/test_config.py) and one
  bad value through the CLI (tests/test_cli_list.py): here syntax errors and binary garbage
  through the CLI, with the operator's caches and audit log untouched;
- corrupted credential cache and MFA state at class level (tests/test_identity_cache.py,
  tests/test_identity_mfa.py): here all three caches through the CLI.

MFA: the sandbox accepts each TOTP window once, and the app remembers the windows it used per
home. The module's operator home (`ops`) takes its role once with the configured secret source
and reuses the cached credentials afterwards. Tests that need a clean home pass
`--mfa-code sandbox.fresh_totp()` (a window the sandbox has not seen), and depend on `ops` so
that the secret-source login comes first: it takes the current window, which a fresh_totp() code
could otherwise have spent already.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import signal
import socket
import stat
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pexpect
import pytest

from cli_support import (
    alive,
    audit_events,
    audit_path,
    by_name,
    cli_env,
    ended_event,
    lasting_code,
    plugin_pids,
    run,
    session_status,
)
from sessiontui_sandbox.demo import DEMO_MFA_SERIAL

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")

ROLE = "StagingDev"  # the one role of this module: a second role would need a second MFA window
NODE = "stg-web-01"
MUTE_NODE = "stg-worker-01"  # made silent by the watchdog test only


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("ops-home")


@pytest.fixture(scope="module")
def fleet(sandbox: Any, home: Path) -> list[dict[str, Any]]:
    """The fleet as an unfaulted `--list --json` sees it: the reference for complete listings."""
    out = run(sandbox, home, "--list", "--json")
    assert out.returncode == 0, out.stderr
    nodes: list[dict[str, Any]] = json.loads(out.stdout)
    return nodes


@pytest.fixture(scope="module")
def ops(sandbox: Any, home: Path, fleet: list[dict[str, Any]]) -> Path:
    """The module home with the role taken (MFA from $SESSIONTUI_DEMO_TOTP) and cached."""
    out = run(sandbox, home, "--list", "--json", "--role", ROLE)
    assert out.returncode == 0, out.stderr
    return home


def ids(nodes: list[dict[str, Any]]) -> list[str]:
    return sorted(n["id"] for n in nodes)


def plain_lines(stderr: str) -> list[str]:
    """stderr as the operator reads it: one or two lines, never a traceback."""
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert "Traceback" not in stderr, stderr
    assert 1 <= len(lines) <= 2, stderr
    assert lines[0].startswith("sessiontui: "), stderr
    return lines


def wait_for(predicate: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def start_forward(
    sandbox: Any, home: Path, node: dict[str, Any], plugin: Path, *extra_args: str
) -> tuple[subprocess.Popen[str], dict[str, Any]]:
    proc = subprocess.Popen(
        [
            *(sys.executable, "-m", "sessiontui", "--connect", node["id"], "--role", ROLE),
            *("--forward", "0:80", "--json", *extra_args),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=cli_env(sandbox, home, {"SESSIONTUI_PLUGIN": str(plugin)}),
        stdin=subprocess.DEVNULL,
    )
    assert proc.stdout is not None and proc.stderr is not None
    line = proc.stdout.readline()
    if not line:
        proc.wait(timeout=30)
        pytest.fail(f"no ready line (exit {proc.returncode}): {proc.stderr.read()}")
    return proc, json.loads(line)


def fetch(port: int) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(b"GET / HTTP/1.0\r\nHost: x\r\n\r\n")  # no half-close: see test_cli_connect
        chunks = []
        while data := s.recv(4096):
            chunks.append(data)
    return b"".join(chunks)


# --- the plugin dies or hangs ---------------------------------------------------------------------


def test_plugin_killed_mid_shell_exits_5_and_terminates(
    sandbox: Any, ops: Path, fleet: list[dict[str, Any]], plugin: Path
) -> None:
    node = by_name(fleet, NODE)
    child = pexpect.spawn(
        sys.executable,
        ["-m", "sessiontui", "--connect", node["id"], "--role", ROLE],
        env=cli_env(sandbox, ops, {"SESSIONTUI_PLUGIN": str(plugin)}),
        encoding="utf-8",
        timeout=40,
        dimensions=(30, 120),
    )
    seen = io.StringIO()
    child.logfile_read = seen
    try:
        child.expect(r"Starting session with SessionId: (\S+)")
        sid = child.match.group(1).strip()
        child.expect(r"\$ ")
        (plugin_pid,) = plugin_pids(child.pid)
        os.kill(plugin_pid, signal.SIGKILL)
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    said = [line for line in child.before.splitlines() if line.startswith("sessiontui: ")]
    assert len(said) == 1, child.before
    # the remote prompt was the last thing on the terminal: our line is not glued to it
    transcript = seen.getvalue()
    assert transcript[transcript.index("sessiontui: ") - 1] == "\n", transcript[-300:]
    assert said[0].startswith(f"sessiontui: {NODE}: plugin killed by signal 9 after "), said
    assert "Traceback" not in child.before
    assert child.exitstatus == 5, "a plugin that dies is a plugin failure (design.md: exit 5)"
    assert not alive(plugin_pid)
    assert session_status(sandbox, node["region"], sid) == "Terminated"
    ended = ended_event(ops, sid)
    assert ended["how"] == "killed" and ended["terminated"] is True


def test_plugin_hanging_after_starting_is_ended_by_the_watchdog(
    sandbox: Any, ops: Path, fleet: list[dict[str, Any]], plugin: Path
) -> None:
    node = by_name(fleet, MUTE_NODE)
    # the operator's knob for the watchdog (default 30 s), on top of the demo config; a top-level
    # key, so it goes before the config's tables
    config = ops / "short-watchdog.toml"
    demo = Path(sandbox.env()["SESSIONTUI_CONFIG"]).read_text()
    config.write_text('ready_timeout = "5s"\n' + demo)
    sandbox.silent_agents = {node["id"]}
    try:
        began = time.monotonic()
        out = run(
            sandbox,
            ops,
            *("--connect", node["id"], "--role", ROLE, "--forward", "0:80", "--json"),
            extra={"SESSIONTUI_CONFIG": str(config), "SESSIONTUI_PLUGIN": str(plugin)},
        )
        took = time.monotonic() - began
    finally:
        sandbox.silent_agents = set()
    assert out.returncode == 5, out.stderr
    assert out.stdout == "", "no ready line for a forward that never became ready"
    first, hint = plain_lines(out.stderr)
    assert first == "sessiontui: the port forward did not start: no ready line in 5s"
    assert "Starting session with SessionId" in hint
    assert took < 20
    started = [
        e
        for e in audit_events(ops)
        if e["event"] == "session_started" and e["target"] == node["id"]
    ]
    sid = started[-1]["session_id"]
    assert session_status(sandbox, node["region"], sid) == "Terminated"
    ended = ended_event(ops, sid)
    assert ended["how"] == "watchdog" and ended["terminated"] is True


# --- signals to a running forward -----------------------------------------------------------------


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP])
def test_signal_after_two_connections_terminates_and_leaves_nothing_running(
    sandbox: Any, ops: Path, fleet: list[dict[str, Any]], sig: signal.Signals, plugin: Path
) -> None:
    node = by_name(fleet, NODE)
    proc, ready = start_forward(sandbox, ops, node, plugin)
    try:
        port = ready["local_port"]
        (plugin_pid,) = plugin_pids(proc.pid)
        for _ in range(2):
            assert f"hello from {NODE}".encode() in fetch(port)
        assert session_status(sandbox, node["region"], ready["session_id"]) == "Connected"
        proc.send_signal(sig)
        code = proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.stderr is not None
    stderr = proc.stderr.read()
    assert code == 128 + sig, stderr
    assert "Traceback" not in stderr
    assert session_status(sandbox, node["region"], ready["session_id"]) == "Terminated"
    ended = ended_event(ops, ready["session_id"])
    assert ended["how"] == "interrupted" and ended["terminated"] is True
    assert ended["detail"] == f"sessiontui received {sig.name}"
    assert ended["local_port"] == port
    # the plugin went with us: no orphan keeps the local port open
    wait_for(lambda: not alive(plugin_pid), 5, "the plugin to exit")
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=5).close()


# --- the endpoint -----------------------------------------------------------------------------------


def test_endpoint_down_fails_in_plain_words_then_recovers(
    sandbox: Any, home: Path, fleet: list[dict[str, Any]]
) -> None:
    # `down` is set before the run: set while it runs, the outcome would depend on which pages
    # had already arrived (a partial listing with warnings, or a failure).
    sandbox.down = True
    try:
        out = run(sandbox, home, "--list")
    finally:
        sandbox.down = False
    # exit 1: design.md has no dedicated code for an AWS outage (test_cli_list pins the same
    # code for an unreachable endpoint)
    assert out.returncode == 1, out.stderr
    assert out.stdout == ""
    (line,) = plain_lines(out.stderr)
    assert "listing failed in every region" in line and "ServiceUnavailable" in line
    assert all(region in line for region in sandbox.regions)
    again = run(sandbox, home, "--list", "--json")
    assert again.returncode == 0, again.stderr
    assert ids(json.loads(again.stdout)) == ids(fleet)


def steady(listing: str) -> list[dict[str, Any]]:
    """A listing without what moves between two runs: the sandbox dates last pings as "now
    minus the node's ping age", and `why` quotes that date for lost agents."""
    return [
        {k: (bool(v) if k == "why" else v) for k, v in n.items() if k != "last_ping"}
        for n in json.loads(listing)
    ]


def test_throttled_listing_still_lists_every_node(
    sandbox: Any, home: Path, fleet: list[dict[str, Any]]
) -> None:
    sandbox.reset_calls()
    clean = run(sandbox, home, "--list", "--json")
    assert clean.returncode == 0, clean.stderr
    unthrottled_calls = sum(sandbox.calls.values())
    sandbox.reset_calls()
    sandbox.throttle_rate = 0.3
    try:
        out = run(sandbox, home, "--list", "--json")
    finally:
        sandbox.throttle_rate = 0
    assert out.returncode == 0, out.stderr
    assert "warning" not in out.stderr, "no region may be given up on"
    assert steady(out.stdout) == steady(clean.stdout)
    assert ids(json.loads(out.stdout)) == ids(fleet)
    # the fault really bit: throttled calls were retried
    assert sum(sandbox.calls.values()) > unthrottled_calls


# --- corrupted files on disk --------------------------------------------------------------------------


def private_json(path: Path) -> Any:
    assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    return json.loads(path.read_text(encoding="utf-8"))


def test_corrupted_caches_are_ignored_and_replaced(sandbox: Any, ops: Path, tmp_path: Path) -> None:
    # A clean home and --mfa-code: the credential cache is unusable on the second run, so the
    # role is taken again, and this home's MFA state must not be what refuses the code.
    home = tmp_path
    first = run(
        sandbox, home, "--list", "--json", "--role", ROLE, "--mfa-code", sandbox.fresh_totp()
    )
    assert first.returncode == 0, first.stderr
    nodes = json.loads(first.stdout)
    (cred,) = (home / "cache" / "sessiontui" / "credentials").glob("*.json")
    inventories = sorted((home / "cache" / "sessiontui" / "inventory").glob("*.json"))
    (inventory,) = (p for p in inventories if not p.name.endswith(".head.json"))
    (head,) = (p for p in inventories if p.name.endswith(".head.json"))
    mfa = home / "state" / "sessiontui" / "mfa-windows.json"
    audit_before = audit_path(home).read_bytes()
    assert audit_before.count(b"\n") == 1  # role_assumed

    cred.write_bytes(b"\x00\x89PNG\r\n\x1a\n\xff\xfe not json at all")
    inventory.write_bytes(inventory.read_bytes()[: inventory.stat().st_size // 2])
    head.write_text('{"version": 2, "rows": [["i-1", 5]]}')  # well-formed JSON, wrong shape
    mfa.write_bytes(b'["windows", {"arn": "not a number"}')

    sandbox.reset_calls()
    second = run(
        sandbox, home, "--list", "--json", "--role", ROLE, "--mfa-code", sandbox.fresh_totp()
    )
    assert second.returncode == 0, second.stderr
    assert second.stderr == ""
    assert ids(json.loads(second.stdout)) == ids(nodes)
    assert sandbox.calls[("sts", "AssumeRole")] == 1, "the corrupted credentials were not used"

    (cred_after,) = (home / "cache" / "sessiontui" / "credentials").glob("*.json")
    record = private_json(cred_after)
    assert record["role_name"] == ROLE and record["access_key_id"].startswith("ASIA")
    saved = private_json(inventory)  # the whole fleet, before the role's scope narrows it
    assert set(ids(nodes)) < {row[0] for row in saved["rows"]}
    assert private_json(head)["total"] == len(saved["rows"])
    windows = private_json(mfa)["windows"]
    assert isinstance(windows[DEMO_MFA_SERIAL], int)
    audit_after = audit_path(home).read_bytes()
    assert audit_after.startswith(audit_before), "earlier audit lines were kept as they were"
    assert [e["event"] for e in audit_events(home)] == ["role_assumed", "role_assumed"]


@pytest.mark.parametrize(
    ("content", "prefix"),
    [
        (b'regions = ["us-east-1"]\n[mfa]\nserial = "arn:aws:iam::1:mfa/x\n', "config.toml:3:"),
        (b"\x00\x89PNG\r\n\x1a\n\xff\xfe\x00garbage", "config.toml:"),
    ],
    ids=["syntax-error", "binary-garbage"],
)
def test_broken_config_exits_2_and_touches_nothing(
    sandbox: Any, ops: Path, content: bytes, prefix: str
) -> None:
    config = ops / "config" / "sessiontui" / "config.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_bytes(content)
    extra = {"SESSIONTUI_CONFIG": str(config)}
    before = {p: p.read_bytes() for p in ops.rglob("*") if p.is_file() and p != config}
    assert audit_path(ops) in before

    out = run(sandbox, ops, "--list", "--role", ROLE, extra=extra)
    assert out.returncode == 2, out.stderr
    first = plain_lines(out.stderr)[0]
    assert first.startswith(f"sessiontui: {prefix}"), first
    after = {p: p.read_bytes() for p in ops.rglob("*") if p.is_file() and p != config}
    assert after == before, "a bad config must not cost the operator caches or audit lines"

    # fixed config: the cached role is still there (no new MFA code needed)
    shutil.copyfile(sandbox.env()["SESSIONTUI_CONFIG"], config)
    sandbox.reset_calls()
    fixed = run(sandbox, ops, "--list", "--json", "--role", ROLE, extra=extra)
    assert fixed.returncode == 0, fixed.stderr
    assert json.loads(fixed.stdout)
    assert sandbox.calls[("sts", "AssumeRole")] == 0


# --- credentials running out under a forward ---------------------------------------------------------


def test_credentials_expiring_end_a_running_forward(
    sandbox: Any, fleet: list[dict[str, Any]], tmp_path: Path, plugin: Path
) -> None:
    # The CLI reads the system clock, so the sandbox's clock is moved back instead: credentials
    # issued for the minimum 900 s then expire LIFETIME seconds from now in real time. The
    # supervisor ends the forward EXPIRY_MARGIN (5 s) before that, which leaves the CLI a few
    # seconds to print its ready line first. Only AssumeRole reads the moved clock; the offset
    # goes back at once (expiry is an absolute time, the same on both clocks).
    lifetime = 12
    node = by_name(fleet, NODE)
    offset = sandbox.clock_offset
    sandbox.clock_offset = offset - (900 - lifetime)
    try:
        issued = time.time()
        code = lasting_code(sandbox)  # the oldest window could lapse while the CLI starts
        proc, ready = start_forward(
            sandbox, tmp_path, node, plugin, "--duration", "900s", "--mfa-code", code
        )
    finally:
        sandbox.clock_offset = offset
    try:
        expires = datetime.fromisoformat(ready["expires_at"].replace("Z", "+00:00"))
        # issued for `lifetime` seconds from the AssumeRole, which the CLI sends soon after start;
        # AWS gives Expiration in whole seconds, so it can fall up to 1 s before issued + lifetime
        assert -1 <= expires.timestamp() - (issued + lifetime) < 10
        assert f"hello from {NODE}".encode() in fetch(ready["local_port"])
        code_ = proc.wait(timeout=lifetime + 20)
        exited = time.time()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.stderr is not None
    stderr = proc.stderr.read()
    # design.md: the forward stays up "until Ctrl-C, credential expiry, or the session ends"
    assert code_ == 0, stderr
    assert plain_lines(stderr) == ["sessiontui: forward ended: the role's credentials expired"]
    assert exited < expires.timestamp(), "ended before the credentials did"
    assert session_status(sandbox, node["region"], ready["session_id"]) == "Terminated"
    ended = ended_event(tmp_path, ready["session_id"])
    assert ended["how"] == "expired" and ended["terminated"] is True
    assert ended["detail"] == "the role's credentials expired"
    assumed = [e for e in audit_events(tmp_path) if e["event"] == "role_assumed"]
    assert [e["duration"] for e in assumed] == [900]
    assert datetime.fromisoformat(assumed[0]["expires_at"].replace("Z", "+00:00")).astimezone(
        UTC
    ) == expires.replace(microsecond=0)
