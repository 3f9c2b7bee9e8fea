"""Shell sessions end to end: the supervisor in its own process, under a real pty, against the
sandbox and the stand-in plugin running a real bash. TerminateSession on every way out."""

from __future__ import annotations

import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pexpect
import pytest

from sessiontui.stores.audit import read_events
from test_plugin_support import PLUGIN_KINDS, AwsUnderTest, aws_under_test, result, write_driver

PROMPT = r"ssm-user@{name}:~\$ "


@pytest.fixture(scope="module", params=PLUGIN_KINDS)
def aws(sandbox: Any, request: pytest.FixtureRequest) -> Iterator[AwsUnderTest]:
    with aws_under_test(sandbox, request.param) as env:
        yield env


def spawn(aws: AwsUnderTest, tmp: Path, target: str | None = None) -> pexpect.spawn:
    script, conf = write_driver(
        tmp, aws, aws.admin, mode="shell", target=target or aws.web_id, node_name=aws.web_name
    )
    return pexpect.spawn(
        sys.executable,
        [str(script), str(conf)],
        dimensions=(30, 100),
        timeout=20,
        encoding="utf-8",
        codec_errors="replace",
    )


def prompt(aws: AwsUnderTest) -> str:
    return PROMPT.format(name=aws.web_name)


def wait_for_result(tmp: Path, timeout: float = 10) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    while not (tmp / "result.json").exists():
        assert time.monotonic() < deadline, "the driver wrote no result"
        time.sleep(0.05)
    return result(tmp)


def test_shell_prompt_hostname_resize_ctrl_c_and_exit(aws: AwsUnderTest, tmp_path: Path) -> None:
    child = spawn(aws, tmp_path)
    child.expect(prompt(aws))
    child.sendline("hostname; stty size; echo HOME=$HOME")
    # AWS's plugin leaves output processing on (stty cbreak, not raw): "\r\n" arrives "\r\r\n"
    child.expect(f"{aws.web_name}\r+\n")
    child.expect("30 100")
    child.expect("HOME=/")
    child.expect(prompt(aws))
    # the token never reaches the remote shell's environment either (the plugin unsets it)
    child.sendline('echo "leaked=$(env | grep -c AWS_SSM_START_SESSION_RESPONSE)"')
    child.expect("leaked=0")
    child.setwinsize(40, 120)
    # AWS's plugin polls its terminal's size every 500 ms: the new size arrives within a second
    time.sleep(1.2 if aws.real else 0.3)
    child.sendline("stty size")
    child.expect("40 120")
    child.sendline("sleep 30")
    time.sleep(0.5)
    child.sendcontrol("c")  # reaches the remote bash as \x03, not our process
    child.expect(prompt(aws))
    child.sendline("exit")
    child.expect(r"Exiting session with sessionId: (\S+)\.")
    sid = child.match.group(1)
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    out = result(tmp_path)
    assert out["how"] == "exited" and out["session_id"] == sid and out["terminated"] is True
    assert aws.status(sid) == "Terminated"
    events = read_events(tmp_path / "audit.jsonl")
    assert [e["event"] for e in events] == ["session_started", "session_ended"]
    assert events[0]["target"] == aws.web_id and events[0]["node_name"] == aws.web_name
    assert events[0]["role"] == "FleetAdmin" and events[0]["region"] == aws.region
    assert events[1]["how"] == "exited" and events[1]["session_id"] == sid
    text = (tmp_path / "audit.jsonl").read_text()
    assert aws.admin.secret_access_key not in text
    assert aws.admin.session_token and aws.admin.session_token not in text


def test_terminated_elsewhere_is_reported_with_the_servers_reason(
    aws: AwsUnderTest, tmp_path: Path
) -> None:
    child = spawn(aws, tmp_path)
    child.expect(r"Starting session with SessionId: (\S+)")
    sid = child.match.group(1).strip()
    child.expect(prompt(aws))
    aws.terminate_elsewhere(sid)
    child.expect(rf"SessionId: {sid} : (.+?)\r*\n")
    child.expect(pexpect.EOF)
    out = wait_for_result(tmp_path)
    assert out["how"] == "server_ended"
    assert out["reason"] == "Your session has been terminated."


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP])
def test_signal_to_our_process_terminates_the_session(
    aws: AwsUnderTest, tmp_path: Path, sig: signal.Signals
) -> None:
    child = spawn(aws, tmp_path)
    child.expect(r"Starting session with SessionId: (\S+)")
    sid = child.match.group(1).strip()
    child.expect(prompt(aws))
    assert aws.status(sid) == "Connected"
    child.kill(sig)
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 128 + sig
    assert result(tmp_path) == {"shutdown": sig.name}
    assert aws.status(sid) == "Terminated"
    ended = read_events(tmp_path / "audit.jsonl")[-1]
    assert ended["event"] == "session_ended" and ended["how"] == "interrupted"
    assert ended["detail"] == f"sessiontui received {sig.name}"


def children(pid: int) -> list[int]:
    text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    return [int(x) for x in text.split()]


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="needs Linux /proc")
def test_plugin_killed_still_terminates(aws: AwsUnderTest, tmp_path: Path) -> None:
    child = spawn(aws, tmp_path)
    child.expect(r"Starting session with SessionId: (\S+)")
    sid = child.match.group(1).strip()
    child.expect(prompt(aws))
    (plugin_pid,) = children(child.pid)
    import os

    os.kill(plugin_pid, signal.SIGKILL)
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    out = result(tmp_path)
    assert out["how"] == "killed" and out["terminated"] is True
    assert "signal 9" in str(out["reason"])
    assert aws.status(sid) == "Terminated"


def test_node_not_connected_is_exit_4(aws: AwsUnderTest, tmp_path: Path) -> None:
    from sessiontui.core.errors import NotConnectableError
    from sessiontui.plugin.locate import locate_plugin
    from sessiontui.plugin.supervisor import ActiveSessions, SessionSupervisor

    sup = SessionSupervisor(
        aws.client(), aws.admin, locate_plugin(aws.plugin_path), registry=ActiveSessions()
    )
    with pytest.raises(NotConnectableError) as e:
        sup.run_shell(aws.lost_id, handle_signals=False)
    assert e.value.exit_code == 4


def test_newer_plugins_read_tilde_escapes_after_a_newline(
    aws: AwsUnderTest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """From 1.2.835.0 the plugin reads `~?` (help) and `~.` (end the session) at a line start;
    the session then ends as a normal exit, terminated server-side. (AWS's 1.2.677.0 has none.)"""
    if aws.real:
        pytest.skip("escape sequences came with 1.2.835.0; AWS's plugin here is older")
    monkeypatch.setenv("SESSIONTUI_FAKE_PLUGIN_VERSION", "1.2.835.0")
    child = spawn(aws, tmp_path)
    child.expect(prompt(aws))
    child.send("~?")
    child.expect("~.  - terminate session")
    child.sendline("echo mid~.line")  # not after a newline: plain text for the shell
    child.expect("mid~.line\r\n")
    child.expect(prompt(aws))
    child.send("~.")
    child.expect(r"Exiting session with sessionId: (\S+)\.")
    sid = child.match.group(1)
    child.expect(pexpect.EOF)
    child.close()
    out = wait_for_result(tmp_path)
    assert out["how"] == "exited" and out["session_id"] == sid and out["terminated"] is True


def test_older_plugins_pass_tilde_to_the_shell(
    aws: AwsUnderTest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SESSIONTUI_FAKE_PLUGIN_VERSION", "1.2.707.0")
    child = spawn(aws, tmp_path)
    child.expect(prompt(aws))
    child.send("~.")
    child.sendline("")
    child.expect(r"~\.: command not found")
    child.expect(prompt(aws))
    child.sendline("exit")
    child.expect("Exiting session with sessionId")
    child.expect(pexpect.EOF)
    child.close()


def test_a_shell_exit_ends_the_session_server_side_without_any_api_call(
    aws: AwsUnderTest,
) -> None:
    """AWS's plugin never calls TerminateSession when a shell exits: the agent ends the session
    and says so with channel_closed (ssm-data-channel.md §7, §9). So a session is Terminated even
    when the keys handed to the plugin could not sign a thing."""
    from dataclasses import replace

    from sessiontui.aws.sessions import start_session
    from sessiontui.plugin.command import build_command
    from sessiontui.plugin.locate import locate_plugin

    plugin = locate_plugin(str(aws.plugin_path))
    role = aws.role("FleetAdmin")
    for creds in (role, replace(role, secret_access_key="wrong")):
        started = start_session(aws.client(role), aws.web_id)
        before = aws.calls("TerminateSession")
        cmd = build_command(plugin, started, creds)
        child = pexpect.spawn(
            cmd.argv[0], cmd.argv[1:], env=cmd.env, dimensions=(24, 80), timeout=20
        )
        child.expect(prompt(aws).encode())
        child.sendline(b"exit")
        child.expect(rb"Exiting session with sessionId: " + started.session_id.encode())
        child.expect(pexpect.EOF)
        child.close()
        assert child.exitstatus == 0
        assert aws.status(started.session_id) == "Terminated"
        assert aws.sb.state.sessions[started.session_id].terminated_by == ""
        assert aws.calls("TerminateSession") == before


def test_escape_reading_keeps_what_follows_help_and_drops_what_follows_the_end() -> None:
    from sessiontui_sandbox.fakeplugin_support import Escapes

    escapes = Escapes()
    assert escapes.feed(b"~?ls\r") == (b"ls\r", "?")
    assert escapes.feed(b"~~x\recho a~.b\r") == (b"~x\recho a~.b\r", None)
    assert escapes.feed(b"~") == (b"", None)  # split across reads
    assert escapes.feed(b".gone") == (b"", ".")


def test_a_dropped_socket_is_resumed_and_the_shell_goes_on(
    aws: AwsUnderTest, tmp_path: Path
) -> None:
    """The websocket cut without a word (the drop_channels fault): the plugin calls ResumeSession
    for a new token, dials the same StreamUrl again, and the shell and its numbering go on."""
    child = spawn(aws, tmp_path)
    child.expect(r"Starting session with SessionId: (\S+)")
    sid = child.match.group(1).strip()
    child.expect(prompt(aws))
    child.sendline("X=kept")
    child.expect(prompt(aws))
    before = aws.calls("ResumeSession")
    aws.sb.drop_channels([sid])
    deadline = time.monotonic() + 15
    while aws.calls("ResumeSession") == before:
        assert time.monotonic() < deadline, "the plugin never resumed"
        time.sleep(0.05)
    child.sendline("echo resumed-$X")
    child.expect("resumed-kept")
    child.expect(prompt(aws))
    assert aws.status(sid) == "Connected"
    child.sendline("exit")
    child.expect(rf"Exiting session with sessionId: {sid}\.")
    child.expect(pexpect.EOF)
    assert wait_for_result(tmp_path)["how"] == "exited"


def test_a_shell_whose_input_ends_says_eof_and_leaves_the_session_to_the_caller(
    aws: AwsUnderTest,
) -> None:
    """AWS's plugin, its stdin at EOF, prints `Cannot perform start session: EOF` and exits 0,
    without ending the session: the runner's TerminateSession is what ends it."""
    import subprocess

    from sessiontui.aws.sessions import start_session
    from sessiontui.plugin.command import build_command
    from sessiontui.plugin.locate import locate_plugin

    started = start_session(aws.client(), aws.web_id)
    cmd = build_command(locate_plugin(str(aws.plugin_path)), started, aws.admin)
    done = subprocess.run(
        cmd.argv, env=cmd.env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 0
    assert "Cannot perform start session: EOF" in done.stdout
    assert aws.status(started.session_id) in ("Connected", "Disconnected")
    aws.terminate_elsewhere(started.session_id)
