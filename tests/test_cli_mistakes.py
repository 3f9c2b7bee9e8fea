"""Headless mistakes through the real CLI (subprocesses on `--demo`): each gets one or two plain
lines that say what to do next, and its exit code.

- `--connect prod-web-1`: the near misses by name, and the listing command with --demo;
- `--conect`: the flag meant, not fifteen lines of usage;
- no role: the hint names --role, not the TUI's `r`;
- Ctrl-C at the reason prompt: "cancelled", exit 130;
- `--role Nope`: the known roles, without Identity Center's sign-in line among them.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pexpect
import pytest


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    home = tmp_path / "home"
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / "config"),
        "XDG_CACHE_HOME": str(home / "cache"),
        "XDG_STATE_HOME": str(home / "state"),
        "LANG": "C.UTF-8",
    }


def sessiontui(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sessiontui", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )


def lines(stderr: str) -> list[str]:
    assert "Traceback" not in stderr, stderr
    return [line for line in stderr.splitlines() if line.strip()]


def test_a_near_miss_target_suggests_the_close_names(env: dict[str, str]) -> None:
    out = sessiontui(env, "--demo", "--plugin", "stand-in", "--connect", "prod-web-1")
    assert out.returncode == 2, out.stderr
    said = lines(out.stderr)
    assert said[0] == "sessiontui: no node matches 'prod-web-1'; did you mean one of these?"
    assert "prod-web-01" in said[1]
    assert said[-1].strip() == "list the fleet with: sessiontui --demo --list"


def test_a_mistyped_flag_names_the_flag_meant_in_two_lines(env: dict[str, str]) -> None:
    out = sessiontui(env, "--conect", "prod-web-01")
    assert out.returncode == 2
    assert lines(out.stderr) == [
        "sessiontui: unrecognized arguments: --conect prod-web-01",
        "  did you mean --connect? (sessiontui --help lists every flag)",
    ]


def test_without_a_role_the_hint_names_the_flag_not_the_tui_key(env: dict[str, str]) -> None:
    out = sessiontui(
        env, "--demo", "--plugin", "stand-in", "--connect", "prod-web-01", "--forward", "80"
    )
    assert out.returncode == 3, out.stderr
    said = lines(out.stderr)
    assert len(said) == 2, said
    assert "--role NAME" in said[1] and "`r`" not in out.stderr, said


def test_ctrl_c_at_the_reason_prompt_is_cancelled(env: dict[str, str]) -> None:
    child = pexpect.spawn(
        sys.executable,
        [
            *("-m", "sessiontui", "--demo", "--plugin", "stand-in"),
            *("--connect", "prod-web-01", "--role", "ProdOps"),
        ],
        env=env,
        timeout=40,
        encoding="utf-8",
    )
    try:
        child.expect_exact("reason (required by role ProdOps): ")
        child.sendintr()
        child.expect_exact("sessiontui: cancelled")
        child.expect(pexpect.EOF)
        child.close()
        assert child.exitstatus == 130
        assert "requires a reason" not in (child.before or "")
    finally:
        if child.isalive():
            child.close(force=True)


def test_an_unknown_role_lists_roles_only(env: dict[str, str]) -> None:
    out = sessiontui(env, "--demo", "--plugin", "stand-in", "--list", "--role", "Nope")
    assert out.returncode == 2, out.stderr
    said = lines(out.stderr)
    assert said[0].startswith("sessiontui: unknown role 'Nope' (known: ProdOps, StagingDev")
    assert "sign in and list accounts" not in out.stderr
    assert "ACCOUNT/PERMISSION_SET" in said[1]
