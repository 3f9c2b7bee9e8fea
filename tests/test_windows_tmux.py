"""Shells in new windows under a real tmux server: `w` in the TUI opens a tmux window whose pane
runs `sessiontui --connect` with the same role, taken from the private cache (no second MFA), and
the reason typed in the TUI; the TUI stays live, follows the window, and `q` says it keeps running.

The tmux server is our own (-L, see test_e2e_tmux), started with the test sandbox's environment
as an operator's shell would have it after the sandbox's `export` lines, so the base keys reach the
new window through tmux's own environment, never its command line. (Keys read from a credentials
file, cleared with `env -u`, are test_ui_windows.py's case.)
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sandbox_support import client
from sessiontui_sandbox import DEMO_TOTP_SECRET, Sandbox
from sessiontui_sandbox.state import SessionRecord
from test_e2e_tmux import Terminal, terminal  # noqa: F401  (the fixture)

NODE = "prod-web-01"  # Online, project=Production: in ProdOps' scope
ROLE = "ProdOps"  # requires a reason
REASON = "TICKET-4242 look at the web tier"


def _windows(term: Terminal) -> dict[str, str]:
    done = term.run("list-windows", "-t", term.target, "-F", "#{window_id} #{window_name}")
    return dict(line.split(" ", 1) for line in done.stdout.splitlines())


def _pane(term: Terminal, window_id: str) -> str:
    return term.run("capture-pane", "-p", "-t", window_id, check=False).stdout


def _wait(what: str, found: object, timeout: float = 20, term: Terminal | None = None) -> object:
    assert callable(found)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = found()
        if result:
            return result
        time.sleep(0.1)
    seen = f"; the TUI's screen:\n{term.screen()}" if term is not None else ""
    raise AssertionError(f"no {what} within {timeout:.0f}s{seen}")


def _tree_cmdlines(pid: int) -> list[str]:
    """The command lines of a process and all its descendants, as `ps` shows them."""
    done = subprocess.run(
        ["ps", "-e", "-ww", "-o", "pid=,ppid=,args="], capture_output=True, text=True, check=True
    )
    rows = [line.split(None, 2) for line in done.stdout.splitlines()]
    kids: dict[int, list[int]] = {}
    args: dict[int, str] = {}
    for row in rows:
        if len(row) == 3:
            kids.setdefault(int(row[1]), []).append(int(row[0]))
            args[int(row[0])] = row[2]
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(args.get(p, ""))
        todo.extend(kids.get(p, []))
    return out


def _sessions(sandbox: Sandbox) -> list[SessionRecord]:
    with sandbox.state.lock:
        return [s for s in sandbox.state.sessions.values() if s.node_name == NODE]


def test_w_opens_the_shell_in_a_new_tmux_window(
    terminal: Terminal,  # noqa: F811
    sandbox: Sandbox,
    tmp_path: Path,
) -> None:
    began = time.monotonic()
    terminal.env.update(sandbox.env())
    # the base keys only in the environment (no credentials file holds them), as after the
    # sandbox's `export` lines: the TUI checks that tmux gives its new windows the same keys
    terminal.env["AWS_SHARED_CREDENTIALS_FILE"] = str(tmp_path / "no-credentials-file")
    sandbox.reset_calls()
    terminal.start(f"{sys.executable} -m sessiontui --role {ROLE} --filter {NODE}")
    tui_window = next(iter(_windows(terminal)))
    # the role is taken at start; the demo config's TOTP source fills the code
    terminal.wait(
        "the role's countdown", lambda s: re.search(rf"role {ROLE} \d:\d\d:\d\d", s), timeout=30
    )
    terminal.wait_text("Nodes 1/", timeout=30)
    terminal.wait(f"{NODE} listed", lambda s: NODE in s and "refreshing" not in s, timeout=30)

    terminal.type("w")
    terminal.wait_text(f"Role {ROLE} asks why", timeout=10)
    terminal.type(REASON)
    terminal.keys("Enter")

    found = _wait(
        "the new window",
        lambda: [w for w, n in _windows(terminal).items() if n == NODE],
        8,
        terminal,
    )
    assert isinstance(found, list)
    window = found[0]
    _wait("the shell's prompt", lambda: f"ssm-user@{NODE}" in _pane(terminal, window), 30)

    # the TUI stays live in its own window and says where the shell went, also in the details
    tui_screen = terminal.run("capture-pane", "-p", "-t", tui_window).stdout
    assert f"shell on {NODE} in window" in tui_screen.replace("\n", " ")
    assert re.search(r"shell in window \d+ since \d\d:\d\d:\d\d", tui_screen), tui_screen

    terminal.run("send-keys", "-t", window, "-l", "hostname")
    terminal.run("send-keys", "-t", window, "Enter")
    _wait(
        "hostname's answer",
        lambda: re.search(rf"^{re.escape(NODE)}\s*$", _pane(terminal, window), re.M),
        10,
    )
    terminal.run("send-keys", "-t", window, "-l", "echo window-$((6*7))")
    terminal.run("send-keys", "-t", window, "Enter")
    _wait("echo's answer", lambda: "window-42" in _pane(terminal, window), 10)

    sessions = _sessions(sandbox)
    assert len(sessions) == 1, sessions
    record = sessions[0]
    assert record.status == "Connected"  # Active, in DescribeSessions' words
    assert record.reason == REASON  # the reason typed in the TUI
    assert f"assumed-role/{ROLE}/" in record.owner  # the same role...
    assert sandbox.calls[("sts", "AssumeRole")] == 1  # ...from the cache: one MFA code in all

    # no secret on any command line in the window: not the base key, the TOTP seed, the role's
    cache = Path(terminal.env["XDG_CACHE_HOME"]) / "sessiontui" / "credentials"
    cached = [json.loads(p.read_text()) for p in cache.glob("*.json")]
    assert cached, "the role's credentials are in the private cache"
    secrets = [sandbox.env()["AWS_SECRET_ACCESS_KEY"], DEMO_TOTP_SECRET]
    for c in cached:
        secrets += [c["secret_access_key"], c["session_token"]]
    pane_pid = int(terminal.run("list-panes", "-t", window, "-F", "#{pane_pid}").stdout.split()[0])
    lines = _tree_cmdlines(pane_pid)
    assert any(f"--connect {record.target}" in line for line in lines), lines
    assert any(f"--role {ROLE}" in line for line in lines), lines
    assert not any("-u AWS_ACCESS_KEY_ID" in line for line in lines), lines  # tmux's keys kept
    for line in lines:
        for secret in secrets:
            assert secret not in line

    # q in the TUI says the window's shell keeps running; n stays
    terminal.run("select-window", "-t", tui_window)
    terminal.run("send-keys", "-t", tui_window, "q")
    terminal.wait_text("keep running under their own", timeout=10)
    terminal.run("send-keys", "-t", tui_window, "n")
    terminal.wait("the question gone", lambda s: "keep running" not in s, timeout=5)

    # exit in the window: the session is terminated, the window closes, the TUI notices
    terminal.run("send-keys", "-t", window, "-l", "exit")
    terminal.run("send-keys", "-t", window, "Enter")
    _wait("the window closed", lambda: window not in _windows(terminal), 20)
    _wait("the session terminated", lambda: record.status == "Terminated", 10)
    terminal.wait(
        "the TUI's word that the window closed",
        lambda s: re.search(rf"shell on {NODE} in window \d+ closed", s),
        timeout=10,
    )

    # nothing left in windows: q quits at once
    terminal.run("send-keys", "-t", tui_window, "q")
    _wait("the TUI gone", lambda: not terminal.alive(), 15)
    assert time.monotonic() - began < 45


def test_a_name_holding_a_tmux_format_runs_nothing_on_w(
    terminal: Terminal,  # noqa: F811
    sandbox: Sandbox,
    tmp_path: Path,
) -> None:
    """Issue 29: tmux expands `new-window -n` as a format, so a Name tag `#(id>FILE)` ran `id`.
    Planted with EC2 CreateTags as anyone allowed to tag the instance could."""
    witness = Path(tempfile.mkdtemp(prefix="p", dir="/tmp"))  # short: the name fits 30 cells
    hostile = f"#(id>{witness}/w)#{{pane_pid}}"
    # tags are an administrator's to set: the demo user may only look
    ec2 = client(sandbox, "ec2", creds=sandbox.role_credentials("FleetAdmin"))
    found = ec2.describe_instances(Filters=[{"Name": "tag:Name", "Values": [NODE]}])
    node_id = found["Reservations"][0]["Instances"][0]["InstanceId"]
    ec2.create_tags(Resources=[node_id], Tags=[{"Key": "Name", "Value": hostile}])
    try:
        terminal.env.update(sandbox.env())
        terminal.env["AWS_SHARED_CREDENTIALS_FILE"] = str(tmp_path / "no-credentials-file")
        terminal.start(f"{sys.executable} -m sessiontui --role {ROLE} --filter {node_id}")
        tui_window = next(iter(_windows(terminal)))
        # as the test above: `w` waits for the role taken at start, then for the listing
        terminal.wait(
            "the role's countdown", lambda s: re.search(rf"role {ROLE} \d:\d\d:\d\d", s), 30
        )
        terminal.wait_text("Nodes 1/", timeout=30)
        terminal.wait("the node listed", lambda s: "#(id>" in s and "refreshing" not in s, 30)
        terminal.type("w")
        terminal.wait_text(f"Role {ROLE} asks why", timeout=10)
        terminal.type(REASON)
        terminal.keys("Enter")
        opened = _wait(
            "the new window",
            lambda: [w for w in _windows(terminal) if w != tui_window],
            10,
            terminal,
        )
        assert isinstance(opened, list)
        window = opened[0]
        # tmux shows the name as it reads (cut to 30 cells), nothing expanded
        assert _windows(terminal)[window] == hostile[:29] + "…"
        _wait("the shell's prompt", lambda: "ssm-user@" in _pane(terminal, window), 30)
        assert not (witness / "w").exists()  # `#(id>...)` never ran
        terminal.run("send-keys", "-t", window, "-l", "exit")
        terminal.run("send-keys", "-t", window, "Enter")
        _wait("the window closed", lambda: window not in _windows(terminal), 20)
        assert not (witness / "w").exists()
    finally:
        ec2.create_tags(Resources=[node_id], Tags=[{"Key": "Name", "Value": NODE}])
        shutil.rmtree(witness, ignore_errors=True)
