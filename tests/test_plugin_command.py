"""Locating the plugin and building its argv/env: the token never reaches argv in env mode."""

from __future__ import annotations

import json
import os
import stat
import subprocess
from pathlib import Path

import pytest

from sessiontui.aws.sessions import StartedSession
from sessiontui.core.credentials import Credentials
from sessiontui.core.errors import ExitCode, PluginError
from sessiontui.plugin.command import RESPONSE_VAR, build_command
from sessiontui.plugin.locate import INSTALL_URL, PluginInfo, find_plugin, locate_plugin
from test_plugin_support import plugin_dir

TOKEN = "TOKEN-abcdef0123456789-never-in-argv"
CREDS = Credentials("ASIAROLEKEY", "role-secret-key", "role-session-token", role_name="FleetAdmin")
SESSION = StartedSession(
    session_id="operator-0123456789abcdef0",
    token_value=TOKEN,
    stream_url="ws://127.0.0.1:1/v1/data-channel/operator-0123456789abcdef0?role=publish_subscribe",
    target="i-0123456789abcdef0",
    region="eu-west-1",
    endpoint_url="http://127.0.0.1:1",
    document="AWS-StartPortForwardingSession",
    parameters={"portNumber": ["5432"], "localPortNumber": ["0"]},
    reason="ticket OPS-42",
)
BASE_ENV = {
    "PATH": "/usr/bin:/bin",
    "HOME": "/home/op",
    "AWS_PROFILE": "prod-mfa",
    "AWS_DEFAULT_PROFILE": "prod-mfa",
    "AWS_ACCESS_KEY_ID": "AKIABASEUSER",
    f"{RESPONSE_VAR}_OLD": "stale",
    RESPONSE_VAR: "stale too",
}


@pytest.fixture(scope="module")
def plugin_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return plugin_dir(tmp_path_factory.mktemp("plugin"))


def info(env_mode: bool) -> PluginInfo:
    return PluginInfo(Path("/opt/bin/session-manager-plugin"), "1.2.707.0", env_mode)


def test_env_mode_argv_is_exactly_the_contract() -> None:
    cmd = build_command(info(True), SESSION, CREDS, BASE_ENV)
    assert cmd.argv[0] == "/opt/bin/session-manager-plugin"
    assert cmd.argv[1] == RESPONSE_VAR
    assert cmd.argv[2] == "eu-west-1"
    assert cmd.argv[3] == "StartSession"
    assert cmd.argv[4] == ""
    assert json.loads(cmd.argv[5]) == {
        "Target": "i-0123456789abcdef0",
        "DocumentName": "AWS-StartPortForwardingSession",
        "Parameters": {"portNumber": ["5432"], "localPortNumber": ["0"]},
        "Reason": "ticket OPS-42",
    }
    assert cmd.argv[6] == "http://127.0.0.1:1"
    assert len(cmd.argv) == 7
    assert not any(TOKEN in a for a in cmd.argv)


def test_env_mode_environment() -> None:
    env = build_command(info(True), SESSION, CREDS, BASE_ENV).env
    assert "AWS_PROFILE" not in env and "AWS_DEFAULT_PROFILE" not in env
    assert f"{RESPONSE_VAR}_OLD" not in env
    assert json.loads(env[RESPONSE_VAR]) == {
        "SessionId": SESSION.session_id,
        "TokenValue": TOKEN,
        "StreamUrl": SESSION.stream_url,
    }
    assert env["AWS_ACCESS_KEY_ID"] == "ASIAROLEKEY"
    assert env["AWS_SECRET_ACCESS_KEY"] == "role-secret-key"
    assert env["AWS_SESSION_TOKEN"] == "role-session-token"
    assert env["AWS_REGION"] == env["AWS_DEFAULT_REGION"] == "eu-west-1"
    assert env["HOME"] == "/home/op"


def test_argv_mode_puts_the_response_in_argv_and_not_in_env() -> None:
    cmd = build_command(info(False), SESSION, CREDS, BASE_ENV)
    assert json.loads(cmd.argv[1])["TokenValue"] == TOKEN
    assert not any(k.startswith(RESPONSE_VAR) for k in cmd.env)
    assert TOKEN not in repr(cmd)


def test_reprs_hide_the_token() -> None:
    assert TOKEN not in repr(SESSION)
    assert TOKEN not in repr(build_command(info(True), SESSION, CREDS, BASE_ENV))
    assert "role-secret-key" not in repr(build_command(info(True), SESSION, CREDS, BASE_ENV))


def test_shell_request_has_only_the_target() -> None:
    shell = StartedSession("s-1", TOKEN, "http://x/s-1", "i-1", "us-east-1", "http://x")
    cmd = build_command(info(True), shell, CREDS, {})
    assert json.loads(cmd.argv[5]) == {"Target": "i-1"}


def test_locate_env_mode(plugin_path: Path) -> None:
    found = locate_plugin(plugin_path)
    assert found.path == plugin_path
    assert found.version == "1.2.707.0"
    assert found.env_mode and found.warning is None


def test_locate_old_plugin_is_argv_mode_with_warning(plugin_path: Path) -> None:
    env = dict(os.environ, SESSIONTUI_FAKE_PLUGIN_VERSION="1.2.400.0")
    found = locate_plugin(plugin_path, environ=env)
    assert not found.env_mode
    assert found.warning and "ps" in found.warning and "1.2.400.0" in found.warning


def test_boundary_version_is_still_argv_mode(plugin_path: Path) -> None:
    env = dict(os.environ, SESSIONTUI_FAKE_PLUGIN_VERSION="1.2.497.0")
    assert not locate_plugin(plugin_path, environ=env).env_mode
    env["SESSIONTUI_FAKE_PLUGIN_VERSION"] = "1.2.497.1"
    assert locate_plugin(plugin_path, environ=env).env_mode


def test_search_order(plugin_path: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    other.mkdir()
    on_path = other / "session-manager-plugin"
    on_path.write_text("#!/bin/sh\necho 1.2.707.0\n")
    on_path.chmod(0o755)
    env = {"PATH": str(other), "SESSIONTUI_PLUGIN": str(plugin_path)}
    assert find_plugin(None, env) == plugin_path
    assert find_plugin(on_path, env) == on_path
    assert find_plugin(None, {"PATH": str(other)}) == on_path


def test_missing_plugin_is_exit_5_with_install_hint(tmp_path: Path) -> None:
    with pytest.raises(PluginError) as e:
        locate_plugin(None, environ={"PATH": str(tmp_path)})
    assert e.value.exit_code == ExitCode.PLUGIN == 5
    assert INSTALL_URL in (e.value.hint or "")
    with pytest.raises(PluginError):
        locate_plugin(tmp_path / "nope", environ={"PATH": ""})


@pytest.mark.parametrize(
    "script",
    ["#!/bin/sh\necho 'not a version'\n", "#!/bin/sh\nexit 3\n", "#!/bin/sh\nsleep 30\n"],
    ids=["garbage", "fails", "hangs"],
)
def test_broken_plugin_is_exit_5(tmp_path: Path, script: str) -> None:
    p = tmp_path / "session-manager-plugin"
    p.write_text(script)
    p.chmod(p.stat().st_mode | stat.S_IXUSR)
    with pytest.raises(PluginError) as e:
        locate_plugin(p, timeout=1.0)
    assert e.value.exit_code == 5


def test_stand_in_refuses_unknown_operation_and_panics_on_missing_field(plugin_path: Path) -> None:
    done = subprocess.run(
        [str(plugin_path), "{}", "us-east-1", "ResumeSession", "", "{}", "http://x"],
        capture_output=True,
        text=True,
        timeout=10,
    )
    assert done.returncode == 0
    assert "Unknown operation ResumeSession" in done.stdout
    env = dict(os.environ, **{RESPONSE_VAR: json.dumps({"SessionId": "s-1"})})
    done = subprocess.run(
        [str(plugin_path), RESPONSE_VAR, "us-east-1", "StartSession", "", '{"Target": "i-1"}', "x"],
        capture_output=True,
        text=True,
        timeout=10,
        env=env,
    )
    assert done.returncode == 2
    assert done.stderr.startswith("panic:")


@pytest.mark.parametrize("kind", ["stand-in", "real"])
def test_a_stream_that_cannot_open_leaves_the_plugin_hanging(plugin_path: Path, kind: str) -> None:
    """AWS's plugin dials 7 times, then carries on and waits forever for a session type, having
    printed nothing but the Starting line (ssm-data-channel.md §2): only a watchdog ends it."""
    if kind == "real":
        from test_plugin_support import real_plugin_or_skip

        plugin_path = real_plugin_or_skip()
    response = {"SessionId": "s-1", "TokenValue": "t", "StreamUrl": "http://127.0.0.1:9/nothing"}
    proc = subprocess.Popen(
        [
            str(plugin_path),
            json.dumps(response),
            "us-east-1",
            "StartSession",
            "",
            '{"Target": "i-1"}',
            "x",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        with pytest.raises(subprocess.TimeoutExpired):
            proc.wait(timeout=6)  # past the 7 dials (about 4 s)
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=10)
    assert out.strip() == "Starting session with SessionId: s-1"
    assert proc.returncode == -15  # SIGTERM is not handled: the default action kills it


def test_the_real_plugin_is_found_in_order_and_never_mistaken_for_the_stand_in(
    plugin_path: Path, tmp_path: Path
) -> None:
    from sessiontui.plugin.locate import demo_plugin, find_real_plugin, is_stand_in

    fake_aws = tmp_path / "aws" / "session-manager-plugin"
    fake_aws.parent.mkdir()
    fake_aws.write_bytes(b"\x7fELF not really")
    fake_aws.chmod(0o755)
    shared = tmp_path / "root" / "../shared/tools/session-manager-plugin/linux-amd64"
    shared.mkdir(parents=True)
    (shared / "session-manager-plugin").write_bytes(b"\x7fELF")
    (shared / "session-manager-plugin").chmod(0o755)
    root = tmp_path / "root"
    assert is_stand_in(plugin_path) and not is_stand_in(fake_aws)
    env = {"SESSIONTUI_REAL_PLUGIN": str(fake_aws), "PATH": str(plugin_path.parent)}
    assert find_real_plugin(env, root) == (fake_aws, "")
    assert (
        find_real_plugin({"PATH": str(plugin_path.parent)}, root)[0]
        == (shared / "session-manager-plugin").resolve()
    )
    nowhere = tmp_path / "deep" / "nowhere"  # its ../shared does not exist
    assert find_real_plugin({"PATH": str(fake_aws.parent)}, nowhere) == (fake_aws, "")
    found, why = find_real_plugin({"PATH": str(plugin_path.parent)}, nowhere)
    assert found is None and why.count("\n") == 0 and "SESSIONTUI_REAL_PLUGIN" in why
    bad = find_real_plugin({"SESSIONTUI_REAL_PLUGIN": str(nowhere)}, root)
    assert bad[0] is None and str(nowhere) in bad[1]

    no_real = {"PATH": str(plugin_path.parent), "SESSIONTUI_REAL_PLUGIN": ""}
    assert demo_plugin("stand-in", plugin_path, None, no_real) == plugin_path
    assert demo_plugin(None, plugin_path, "/opt/mine/smp", no_real) == Path("/opt/mine/smp")
    with_real = {"SESSIONTUI_REAL_PLUGIN": str(fake_aws)}
    assert demo_plugin(None, plugin_path, None, with_real) == fake_aws
    assert demo_plugin("real", plugin_path, "/opt/mine/smp", with_real) == fake_aws
