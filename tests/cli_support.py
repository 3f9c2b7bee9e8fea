"""Helpers for tests that run `python -m sessiontui` against the sandbox (no tests here).

The CLI runs as a real subprocess with an operator's home in a temp folder; these helpers build
its environment, read what it left (audit log), ask the sandbox how a session ended, and find
its child processes through /proc (psutil is not a dependency).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import boto3

PLUGIN_NAME = "session-manager-plugin"

# design.md: the fields every node of `--list --json` carries at least
DESIGN_JSON_FIELDS = (
    "id",
    "name",
    "ping_status",
    "platform",
    "resource_type",
    "region",
    "tags",
    "private_ip",
    "agent_version",
    "iam_role",
    "connectable",
    "why",
)


def cli_env(sandbox: Any, home: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / "config"),
        "XDG_CACHE_HOME": str(home / "cache"),
        "XDG_STATE_HOME": str(home / "state"),
        **sandbox.env(),
        **(extra or {}),
    }


def run(
    sandbox: Any, home: Path, *args: str, extra: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sessiontui", *args],
        capture_output=True,
        text=True,
        env=cli_env(sandbox, home, extra),
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


def audit_path(home: Path) -> Path:
    return home / "state" / "sessiontui" / "log" / "audit.jsonl"  # user_log_path on Linux


def audit_events(home: Path) -> list[dict[str, Any]]:
    path = audit_path(home)
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def ended_event(home: Path, session_id: str) -> dict[str, Any]:
    found = [
        e
        for e in audit_events(home)
        if e["event"] == "session_ended" and e["session_id"] == session_id
    ]
    assert len(found) == 1, f"expected one session_ended for {session_id}, got {found}"
    return found[0]


def session_status(sandbox: Any, region: str, session_id: str) -> str:
    """Status as DescribeSessions reports it (Active, then History), or "missing"."""
    ssm = boto3.client(
        "ssm",
        region_name=region,
        endpoint_url=sandbox.endpoint_url,
        aws_access_key_id=sandbox.env()["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=sandbox.env()["AWS_SECRET_ACCESS_KEY"],
    )
    for state in ("Active", "History"):
        found = ssm.describe_sessions(
            State=state, Filters=[{"key": "SessionId", "value": session_id}]
        )["Sessions"]
        if found:
            return str(found[0]["Status"])
    return "missing"


def by_name(fleet: list[dict[str, Any]], name: str) -> dict[str, Any]:
    (node,) = [n for n in fleet if n["name"] == name]
    return node


# --- /proc ---------------------------------------------------------------------------------------


def all_pids() -> list[int]:
    return [int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit()]


def ppid_of(pid: int) -> int | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # comm (field 2) may hold spaces and parentheses: the fields that follow start after the last ")"
    return int(raw.rsplit(")", 1)[1].split()[1])


def descendants(root: int) -> list[int]:
    found: list[int] = []
    frontier = [root]
    while frontier:
        parent = frontier.pop()
        kids = [pid for pid in all_pids() if ppid_of(pid) == parent]
        found += kids
        frontier += kids
    return found


def cmdline(pid: int) -> list[str]:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [a.decode("utf-8", "replace") for a in raw.split(b"\0")[:-1]]


def environ(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes()
    pairs = (item.decode("utf-8", "replace").partition("=") for item in raw.split(b"\0") if item)
    return {k: v for k, _, v in pairs}


def plugin_pids(root: int) -> list[int]:
    """The session-manager-plugin processes under `root` (the sessiontui process). A plugin's own
    child between fork and exec (AWS's runs `stty`) still shows the plugin's argv: not counted."""
    found = [pid for pid in descendants(root) if any(a.endswith(PLUGIN_NAME) for a in cmdline(pid))]
    return [pid for pid in found if ppid_of(pid) not in found]


def alive(pid: int) -> bool:
    """True while `pid` exists and is not a zombie."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return raw.rsplit(")", 1)[1].split()[0] != "Z"


def lasting_code(sandbox: Any) -> str:
    """An MFA code AssumeRole accepts for 30 s at least: the newest accepted window not yet used
    (the next one, else the current one). `fresh_totp()` gives the oldest, which may lapse while a
    slow CLI subprocess starts."""
    from sessiontui_sandbox.demo import DEMO_MFA_SERIAL

    state = sandbox.state
    interval = state.totp.interval
    window = state.mfa_window()
    for w in (window + 1, window):
        if (DEMO_MFA_SERIAL, w) not in state.used_mfa:
            return str(state.totp.at(w * interval))
    # Both spent: the previous window is all that is left, and it lapses within 30 s, perhaps
    # before a slow subprocess sends it. Wait for the next window to begin instead: its next one
    # is unused and lasts a whole window and more. (Moving the sandbox's clock a window on made
    # its credentials end 30 s later, by this machine's clock, than the duration asked, and a
    # 900 s session was no longer inside botocore's renewal window at once.)
    while True:
        now = state.time()
        time.sleep((now // interval + 1) * interval - now + 0.05)
        window = state.mfa_window()
        if (DEMO_MFA_SERIAL, window + 1) not in state.used_mfa:
            return str(state.totp.at((window + 1) * interval))
