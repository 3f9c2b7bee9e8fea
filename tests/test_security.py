"""Security properties of a whole operator's flow, through the real CLI against the sandbox.

One flow per module (`flow`): a plain listing, a listing with a JIT role whose MFA code comes from
the configured secret source, a headless forward (inspected through /proc while it runs) and a
shell under a real pty. The tests then look at what that flow left behind. Unit-level versions
of these properties exist (tests/test_plugin_command.py builds argv/env without running anything,
tests/test_identity_cache.py and test_identity_mfa.py check the files their classes write); what
they cannot see is the product as a whole: real child processes and every file a run leaves.
"""

from __future__ import annotations

import json
import re
import signal
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pexpect
import pyotp
import pytest

from cli_support import (
    PLUGIN_NAME,
    all_pids,
    cli_env,
    cmdline,
    environ,
    plugin_pids,
    run,
    session_status,
)
from sessiontui_sandbox import DEMO_TOTP_SECRET
from sessiontui_sandbox.demo import DEMO_ACCESS_KEY_ID, DEMO_MFA_SERIAL, DEMO_TOTP_ENV

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")

RESPONSE_VAR = "AWS_SSM_START_SESSION_RESPONSE"
ROLE = "StagingDev"


@dataclass
class Flow:
    home: Path
    node: dict[str, Any]
    token: str = ""
    forward_session: str = ""
    shell_session: str = ""
    plugin_argv: list[str] = field(default_factory=list)
    plugin_env: dict[str, str] = field(default_factory=dict)
    every_cmdline: list[list[str]] = field(default_factory=list)
    started: float = 0.0
    ended: float = 0.0


def _forward(sandbox: Any, flow: Flow) -> None:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sessiontui",
            "--connect",
            flow.node["id"],
            "--role",
            ROLE,
            "--forward",
            "0:80",
            "--json",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # AWS_PROFILE in our environment must not reach the plugin (it would make it load a
        # profile instead of the role's keys); `default` exists in the sandbox's AWS files
        env=cli_env(sandbox, flow.home, {"AWS_PROFILE": "default"}),
        stdin=subprocess.DEVNULL,
    )
    try:
        assert proc.stdout is not None and proc.stderr is not None
        line = proc.stdout.readline()
        assert line, proc.stderr.read()
        ready = json.loads(line)
        flow.forward_session = ready["session_id"]
        with sandbox.state.lock:
            flow.token = sandbox.state.sessions[flow.forward_session].token
        # The ready line is printed once the plugin said "Port N opened": it is alive now.
        plugins = plugin_pids(proc.pid)
        assert len(plugins) == 1, plugins
        argv = cmdline(plugins[0])
        # The stand-in is a `#!python` script, so the kernel shows the interpreter first;
        # the plugin's own argv starts at its path, as with the real (compiled) plugin.
        start = next(i for i, a in enumerate(argv) if a.endswith(PLUGIN_NAME))
        flow.plugin_argv = argv[start:]
        flow.plugin_env = environ(plugins[0])
        # Every process on the machine, not only ours: `ps` shows all of them to every user.
        flow.every_cmdline = [c for c in (cmdline(pid) for pid in all_pids()) if c]
        with socket.create_connection(("127.0.0.1", ready["local_port"]), timeout=10) as s:
            s.sendall(b"GET / HTTP/1.0\r\n\r\n")
            assert b"hello from" in s.recv(4096)
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 0, proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def _shell(sandbox: Any, flow: Flow) -> None:
    child = pexpect.spawn(
        sys.executable,
        ["-m", "sessiontui", "--connect", flow.node["id"], "--role", ROLE, "--reason", "SEC-1"],
        env=cli_env(sandbox, flow.home),
        encoding="utf-8",
        timeout=40,
        dimensions=(30, 120),
    )
    try:
        child.expect(r"Starting session with SessionId: (\S+)")
        flow.shell_session = child.match.group(1).strip()
        child.expect(r"\$ ")
        child.sendline("hostname")
        child.expect(flow.node["name"])
        child.sendline("exit")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert child.exitstatus == 0, child.before


@pytest.fixture(scope="module")
def flow(sandbox: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flow]:
    home = tmp_path_factory.mktemp("home")
    started = time.time()
    # A plain listing first, as an operator's first run would: it creates the cache folders
    # before any role (and its credential cache) exists.
    plain = run(sandbox, home, "--list", "--json")
    assert plain.returncode == 0, plain.stderr
    fleet = json.loads(plain.stdout)
    node = next(
        n
        for n in fleet
        if n["connectable"]
        and n["tags"].get("project") == "Staging"
        and n["id"].startswith("i-")
        and sum(m["name"] == n["name"] for m in fleet) == 1
    )
    flow = Flow(home=home, node=node, started=started)
    # No --mfa-code: the code comes from the configured secret source ($SESSIONTUI_DEMO_TOTP).
    listed = run(sandbox, home, "--list", "--json", "--role", ROLE)
    assert listed.returncode == 0, listed.stderr
    assert sandbox.calls[("sts", "AssumeRole")] >= 1
    _forward(sandbox, flow)
    _shell(sandbox, flow)
    flow.ended = time.time()
    yield flow


def test_sessions_of_the_flow_were_terminated(sandbox: Any, flow: Flow) -> None:
    region = flow.node["region"]
    for sid in (flow.forward_session, flow.shell_session):
        assert session_status(sandbox, region, sid) == "Terminated", sid


def test_session_token_never_in_a_childs_argv(sandbox: Any, flow: Flow) -> None:
    assert len(flow.token) >= 16  # guards the test itself: an empty token is "absent" everywhere
    for argv in flow.every_cmdline:
        assert not any(flow.token in a for a in argv), argv
    argv = flow.plugin_argv
    assert len(argv) == 7, argv
    assert argv[1] == RESPONSE_VAR  # the variable's name, never the response itself
    assert argv[2] == flow.node["region"] and argv[3] == "StartSession"
    assert argv[4] == ""  # no profile: the plugin must use the role's keys
    assert json.loads(argv[5])["Target"] == flow.node["id"]
    assert argv[6] == sandbox.endpoint_url


def test_plugin_environment_carries_the_role_not_the_profile(sandbox: Any, flow: Flow) -> None:
    env = flow.plugin_env
    assert "AWS_PROFILE" not in env and "AWS_DEFAULT_PROFILE" not in env
    key_id = env["AWS_ACCESS_KEY_ID"]
    assert key_id.startswith("ASIA") and key_id != DEMO_ACCESS_KEY_ID
    with sandbox.state.lock:
        issued = sandbox.state.keys[key_id]
    assert issued.role_name == ROLE
    assert env["AWS_SESSION_TOKEN"] == issued.session_token
    assert env["AWS_SECRET_ACCESS_KEY"] == issued.secret_access_key
    assert env["AWS_REGION"] == flow.node["region"]
    # env mode: the response (with the token) travels in the environment, readable by us only
    assert json.loads(env[RESPONSE_VAR])["TokenValue"] == flow.token


def test_the_totp_seed_variable_never_reaches_the_plugin(sandbox: Any, flow: Flow) -> None:
    """The demo config's [mfa] totp_secret_env names DEMO_TOTP_ENV, set in the CLI's environment
    (cli_env): sessiontui takes it out of its own at start, so no child inherits the seed."""
    assert DEMO_TOTP_ENV in sandbox.env()  # guards the test: the variable was there to inherit
    assert DEMO_TOTP_ENV not in flow.plugin_env
    assert not any(DEMO_TOTP_SECRET in v for v in flow.plugin_env.values())


def app_dirs(home: Path) -> list[Path]:
    return [
        home / "cache" / "sessiontui",
        home / "state" / "sessiontui",  # holds log/ (platformdirs' user_log_path on Linux)
    ]


def assert_private_tree(root: Path) -> list[Path]:
    """Every folder 0700 and every file 0600 from `root` down; returns the files."""
    assert root.is_dir(), root
    files = []
    for path in [root, *root.rglob("*")]:
        mode = stat.S_IMODE(path.lstat().st_mode)
        if path.is_dir():
            assert mode == 0o700, f"{path}: {oct(mode)}"
        else:
            assert mode == 0o600, f"{path}: {oct(mode)}"
            files.append(path)
    return files


def test_private_files_and_folders(flow: Flow) -> None:
    files = [f for root in app_dirs(flow.home) for f in assert_private_tree(root)]
    names = {p.name for root in app_dirs(flow.home) for p in root.rglob("*")}
    # the flow wrote all of these; an empty walk would prove nothing
    assert {"credentials", "inventory", "audit.jsonl", "mfa-windows.json"} <= names
    assert len(files) >= 5


def test_private_folders_without_any_role(
    sandbox: Any, tmp_path_factory: pytest.TempPathFactory
) -> None:
    # An operator who only lists never writes the credential cache, whose writer used to be
    # what narrowed the app's cache folder: the inventory cache alone must keep it private too.
    home = tmp_path_factory.mktemp("lister")
    out = run(sandbox, home, "--list")
    assert out.returncode == 0, out.stderr
    files = assert_private_tree(home / "cache" / "sessiontui")
    assert sorted(f.name.endswith(".head.json") for f in files) == [False, True]  # fleet + head
    assert {f.parent.name for f in files} == {"inventory"}


def _codes_of_the_run(sandbox: Any, flow: Flow) -> set[str]:
    totp = pyotp.TOTP(DEMO_TOTP_SECRET)
    with sandbox.state.lock:
        used = {w for serial, w in sandbox.state.used_mfa if serial == DEMO_MFA_SERIAL}
    assert used, "the flow spent no MFA code: the search below would prove nothing"
    # the codes the sandbox accepted, plus every code valid around the run (one window slack)
    windows = used | set(range(int(flow.started // 30) - 1, int(flow.ended // 30) + 2))
    return {totp.at(w * 30) for w in windows}


def test_no_mfa_code_or_totp_secret_in_any_file(sandbox: Any, flow: Flow) -> None:
    codes = _codes_of_the_run(sandbox, flow)
    secret_forms = {DEMO_TOTP_SECRET.encode(), DEMO_TOTP_SECRET.lower().encode()}
    # A code is six digits, which also occur inside longer numbers (epoch floats such as
    # 1763727123.456789, MFA window numbers), base64 tokens and ISO timestamps. Only a six-digit
    # run standing alone counts: not next to another digit, letter, or the characters that glue
    # numbers and tokens together (. : + / - _). "=" is not glue, so `TokenCode=123456` is found
    # (inside base64 it only pads the end, after a token character that already rules it out).
    glue = rb"[\w.:+/-]"
    patterns = [
        re.compile(rb"(?<!" + glue + rb")" + c.encode() + rb"(?!" + glue + rb")") for c in codes
    ]
    files = [p for p in flow.home.rglob("*") if p.is_file()]
    assert any(p.name == "audit.jsonl" for p in files)
    for path in files:
        data = path.read_bytes()
        for secret in secret_forms:
            assert secret not in data, f"TOTP secret in {path}"
        for pattern in patterns:
            assert not pattern.search(data), f"an MFA code in {path}"


def test_secret_is_not_in_the_config(sandbox: Any, flow: Flow) -> None:
    configs = [Path(sandbox.env()["SESSIONTUI_CONFIG"])]
    configs += list((flow.home / "config").rglob("*.toml"))
    for path in configs:
        text = path.read_text(encoding="utf-8")
        assert DEMO_TOTP_SECRET not in text and DEMO_TOTP_SECRET.lower() not in text, path
    # the config names the variable that holds the secret; it does not hold the secret
    assert f'totp_secret_env = "{DEMO_TOTP_ENV}"' in configs[0].read_text(encoding="utf-8")
