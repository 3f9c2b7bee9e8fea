"""Port forwards end to end against the sandbox: real TCP bytes, the watchdog, busy ports,
and TerminateSession on every way out (stop, server end, expiry, Ctrl-C, SIGTERM, SIGHUP)."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from sessiontui.core.clock import FakeClock
from sessiontui.core.errors import AuthError, ExitCode, PortInUseError
from sessiontui.core.forwards import Forward, ForwardState
from sessiontui.plugin.locate import locate_plugin
from sessiontui.plugin.output import Ending
from sessiontui.plugin.supervisor import ActiveSessions, SessionSupervisor
from sessiontui.stores.audit import AuditLog, read_events
from test_plugin_support import PLUGIN_KINDS, AwsUnderTest, aws_under_test, result, write_driver


@pytest.fixture(scope="module", params=PLUGIN_KINDS)
def aws(sandbox: Any, request: pytest.FixtureRequest) -> Iterator[AwsUnderTest]:
    with aws_under_test(sandbox, request.param) as env:
        yield env


@pytest.fixture
def sup(aws: AwsUnderTest, tmp_path: Path) -> SessionSupervisor:
    return SessionSupervisor(
        aws.client(),
        aws.admin,
        locate_plugin(aws.plugin_path),
        audit=AuditLog(tmp_path / "audit.jsonl"),
        registry=ActiveSessions(),
    )


def fetch(port: int, send: bytes = b"GET / HTTP/1.0\r\n\r\n") -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(send)
        chunks = []
        while True:
            data = s.recv(65536)
            if not data:
                break
            chunks.append(data)
            if b"\n" in data and not send:
                break
    return b"".join(chunks)


def test_forward_carries_real_bytes_and_stop_terminates(
    aws: AwsUnderTest, sup: SessionSupervisor, tmp_path: Path
) -> None:
    seen: list[Forward] = []
    fs = sup.start_forward(aws.web_id, 80, node_name=aws.web_name, on_change=seen.append)
    assert len(sup.registry) == 1
    fw = fs.wait_ready(15)
    assert fw.state is ForwardState.READY and fw.local_port, (fw, fs.output)
    assert fw.client == f"http://127.0.0.1:{fw.local_port}"
    assert fw.expires_at == aws.admin.expiration
    body = fetch(fw.local_port)
    assert f"hello from {aws.web_name}".encode() in body
    assert b"hello" in fetch(fw.local_port)
    fs.stop()
    fw = fs.forward
    assert fw.state is ForwardState.ENDED and fw.how == Ending.STOPPED
    # AWS's plugin prints "Connection accepted" for the first connection only (mux and basic)
    assert fw.connections == 1
    assert fs.terminated is True and aws.status(fs.session_id) == "Terminated"
    assert len(sup.registry) == 0
    states = [f.state for f in seen]
    assert states[0] is ForwardState.READY and states[-1] is ForwardState.ENDED
    assert ForwardState.CONNECTED in states
    events = read_events(tmp_path / "audit.jsonl")
    assert events[0]["document"] == "AWS-StartPortForwardingSession"
    assert events[0]["remote_port"] == 80
    assert events[1]["how"] == "stopped" and events[1]["local_port"] == fw.local_port
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", fw.local_port), timeout=1).close()


def test_remote_host_forward_on_a_chosen_local_port(
    aws: AwsUnderTest, sup: SessionSupervisor
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free = probe.getsockname()[1]
    fs = sup.start_forward(aws.web_id, 5432, host="orders.db.internal", local_port=free)
    try:
        fw = fs.wait_ready(15)
        assert fw.local_port == free
        assert fw.client == f"psql -h 127.0.0.1 -p {free}"
        banner = fetch(free, b"")
        assert b"PostgreSQL stand-in on orders.db.internal" in banner
    finally:
        fs.stop()
    assert fs.terminated is True


def test_watchdog_kills_a_silent_plugin_and_terminates(
    aws: AwsUnderTest, sup: SessionSupervisor
) -> None:
    fs = sup.start_forward(aws.mute_id, 80, ready_timeout=1.5)
    fw = fs.wait(15)
    assert fw.ended and fw.how == Ending.WATCHDOG
    assert fw.reason == "no ready line in 1.5s"
    assert fs.terminated is True and aws.status(fs.session_id) == "Terminated"
    assert any("Starting session" in line for line in fs.output)


def test_busy_local_port_is_refused_before_starting_a_session(
    aws: AwsUnderTest, sup: SessionSupervisor
) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        before = aws.calls("StartSession")
        with pytest.raises(PortInUseError) as e:
            sup.start_forward(aws.web_id, 80, local_port=port)
    assert e.value.exit_code == ExitCode.PORT_IN_USE == 6
    assert aws.calls("StartSession") == before


def test_nothing_listening_behind_the_node(aws: AwsUnderTest, sup: SessionSupervisor) -> None:
    fs = sup.start_forward(aws.web_id, 9999)
    try:
        fw = fs.wait_ready(15)
        assert fw.local_port is not None
        assert fetch(fw.local_port, b"") == b""
        for _ in range(40):
            if any("Connection to destination port failed" in x for x in fs.output):
                break
            time.sleep(0.05)
        assert any("Connection to destination port failed" in x for x in fs.output)
    finally:
        fs.stop()


def test_server_side_end_is_noticed(aws: AwsUnderTest, sup: SessionSupervisor) -> None:
    fs = sup.start_forward(aws.web_id, 80)
    fs.wait_ready(15)
    aws.terminate_elsewhere(fs.session_id)
    fw = fs.wait(10)
    assert fw.how == Ending.SERVER_ENDED and fw.reason == "Your session has been terminated."
    assert fs.terminated is True


def test_credential_expiry_ends_the_forward(aws: AwsUnderTest, tmp_path: Path) -> None:
    assert aws.admin.expiration is not None
    clock = FakeClock(aws.admin.expiration - timedelta(minutes=10))
    sup = SessionSupervisor(
        aws.client(),
        aws.admin,
        locate_plugin(aws.plugin_path),
        registry=ActiveSessions(),
        clock=clock,
    )
    fs = sup.start_forward(aws.web_id, 80)
    assert fs.wait_ready(15).remaining(clock.now()) == 600
    clock.advance(600)
    fw = fs.wait(10)
    assert fw.how == Ending.EXPIRED and fs.terminated is True


def test_terminate_all_and_expire_all(aws: AwsUnderTest, sup: SessionSupervisor) -> None:
    a = sup.start_forward(aws.web_id, 80)
    b = sup.start_forward(aws.web_id, 8080)
    a.wait_ready(15)
    b.wait_ready(15)
    assert {s.session_id for s in sup.registry.sessions()} == {a.session_id, b.session_id}
    assert sup.registry.expire_all() == 2
    for fs in (a, b):
        assert fs.wait(10).how == Ending.EXPIRED
        assert fs.terminated is True and aws.status(fs.session_id) == "Terminated"
    assert len(sup.registry) == 0


def test_scope_refusal_is_auth_error(aws: AwsUnderTest, tmp_path: Path) -> None:
    sup = SessionSupervisor(
        aws.client(aws.scoped),
        aws.scoped,
        locate_plugin(aws.plugin_path),
        registry=ActiveSessions(),
    )
    with pytest.raises(AuthError) as e:
        sup.start_forward(aws.stg_id, 80)
    assert e.value.exit_code == 3
    assert "access denied" in e.value.message


# --- the headless path, in its own process ------------------------------------------------------


def run_driver(aws: AwsUnderTest, tmp: Path, target: str, **cfg: object) -> subprocess.Popen[str]:
    script, conf = write_driver(tmp, aws, aws.admin, mode="forward", target=target, **cfg)
    return subprocess.Popen(
        [sys.executable, str(script), str(conf)], stdout=subprocess.PIPE, text=True
    )


def ready_line(proc: subprocess.Popen[str]) -> dict[str, object]:
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line.startswith("READY "), line
    return dict(json.loads(line[6:]))


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT])
def test_headless_forward_signals(aws: AwsUnderTest, tmp_path: Path, sig: signal.Signals) -> None:
    proc = run_driver(aws, tmp_path, aws.web_id, remote_port=80)
    ready = ready_line(proc)
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
    assert ready["target"] == aws.web_id and ready["remote_port"] == 80
    assert str(ready["expires_at"]).endswith("Z")
    sid = str(ready["session_id"])
    assert b"hello" in fetch(int(str(ready["local_port"])))
    proc.send_signal(sig)
    assert proc.wait(15) == (0 if sig == signal.SIGINT else 128 + sig)
    out = result(tmp_path)
    if sig == signal.SIGINT:
        assert out["how"] == "stopped" and out["reason"] == "stopped with Ctrl-C"
    else:
        assert out == {"shutdown": sig.name}
    assert aws.status(sid) == "Terminated"
    ended = read_events(tmp_path / "audit.jsonl")[-1]
    assert ended["event"] == "session_ended" and ended["terminated"] is True


def test_headless_watchdog_is_plugin_error(aws: AwsUnderTest, tmp_path: Path) -> None:
    sup = SessionSupervisor(
        aws.client(), aws.admin, locate_plugin(aws.plugin_path), registry=ActiveSessions()
    )
    from sessiontui.core.errors import PluginError

    with pytest.raises(PluginError) as e:
        sup.run_forward(aws.mute_id, 80, ready_timeout=1.0, handle_signals=False)
    assert e.value.exit_code == 5 and "no ready line in 1s" in e.value.message


# --- what the plugin itself does, without the runner ------------------------------------------


def _spawn_plugin(aws: AwsUnderTest, target: str, **params: list[str]) -> tuple[Any, str]:
    import pexpect

    from sessiontui.aws.sessions import start_session
    from sessiontui.plugin.command import build_command

    started = start_session(
        aws.client(), target, document="AWS-StartPortForwardingSession", parameters=params
    )
    cmd = build_command(locate_plugin(aws.plugin_path), started, aws.admin)
    child = pexpect.spawn(cmd.argv[0], cmd.argv[1:], env=cmd.env, timeout=20, encoding="utf-8")
    return child, started.session_id


@pytest.mark.parametrize("agent", ["3.0.196.0", "2.3.722.0"])
def test_old_agents_get_basic_port_mode_and_their_own_ctrl_c(aws: AwsUnderTest, agent: str) -> None:
    """Agents up to 3.0.196.0 forward one connection at a time, without smux, and the plugin
    prints the older lines; on Ctrl-C it sends the terminate flag when the agent is newer than
    2.3.722.0, and otherwise calls TerminateSession itself and waits for channel_closed."""
    import pexpect

    node = aws.sb.state.find_node(aws.region, aws.web_id)
    saved, node.agent_version = node.agent_version, agent
    try:
        child, sid = _spawn_plugin(aws, aws.web_id, portNumber=["80"], localPortNumber=["0"])
        child.expect(rf"Port (\d+) opened for sessionId {sid}\.")
        port = int(child.match.group(1))
        # one at a time, the second after the first closed; in basic mode nothing tells the
        # plugin that the destination closed, so the local side reads the reply, then hangs up
        for _ in range(2):
            with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
                s.sendall(b"GET / HTTP/1.0\r\n\r\n")
                got = b""
                while f"hello from {aws.web_name}\n".encode() not in got:
                    data = s.recv(65536)
                    assert data, got
                    got += data
            time.sleep(0.3)
        child.expect(rf"Connection accepted for session {sid}\.")
        assert "Waiting for connections" not in child.before
        before = aws.calls("TerminateSession")
        child.sendintr()
        child.expect("Terminate signal received, exiting.")
        if agent == "2.3.722.0":
            child.expect(rf"SessionId: {sid} : Your session has been terminated\.")
            assert aws.calls("TerminateSession") == before + 1
        else:
            child.expect(rf"Exiting session with sessionId: {sid}\.")
            assert aws.calls("TerminateSession") == before
        child.expect(pexpect.EOF)
        child.close()
        assert child.exitstatus == 0
        for _ in range(40):
            if aws.status(sid) == "Terminated":
                break
            time.sleep(0.05)
        assert aws.status(sid) == "Terminated"
    finally:
        node.agent_version = saved


def test_a_stopped_forward_leaves_no_socket_behind(
    aws: AwsUnderTest, sup: SessionSupervisor
) -> None:
    """AWS's plugin keeps its smux socket in $TMPDIR and, killed, leaves it there (a later session
    of the same id would fail to bind it): each forward gets its own TMPDIR, removed after."""
    fs = sup.start_forward(aws.web_id, 80)
    fw = fs.wait_ready(15)
    assert fw.is_ready and fw.local_port
    assert b"hello" in fetch(fw.local_port)
    scratch = Path(str(fs._runner.scratch))
    assert scratch.is_dir() and oct(scratch.stat().st_mode & 0o777) == "0o700"
    if aws.real:
        assert list(scratch.glob("*_session_manager_plugin_mux.sock"))
    fs.stop()
    fs.wait(10)
    assert not scratch.exists()
