"""A demo ended by SIGTERM or SIGHUP cleans its `sessiontui-sandbox-XXXX` temp folder (its
credentials file included) as `q` does: the TUI in a real pty, and a headless command, each
signalled while the sandbox runs, leave nothing behind and exit 128+signal with no traceback."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pexpect
import pytest


def _env(home: Path) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / "config"),
        "XDG_CACHE_HOME": str(home / "cache"),
        "XDG_STATE_HOME": str(home / "state"),
        "TMPDIR": str(home / "tmp"),
        "TERM": "xterm-256color",
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
    }


def _home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    (home / "tmp").mkdir(parents=True)
    return home


def _sandbox_folders(home: Path) -> list[Path]:
    return sorted((home / "tmp").glob("sessiontui-sandbox-*"))


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_the_tui_demo_ended_by_a_signal_leaves_no_sandbox_folder(
    tmp_path: Path, signum: int
) -> None:
    home = _home(tmp_path)
    child = pexpect.spawn(
        sys.executable,
        ["-m", "sessiontui", "--demo", "--plugin", "stand-in"],
        env=_env(home),
        dimensions=(40, 140),
        timeout=40,
    )
    try:
        child.expect(r"\d+ nodes")  # the fleet is listed: the TUI runs on its sandbox
        assert _sandbox_folders(home)
        child.kill(signum)
        child.expect(pexpect.EOF)
        child.close()
        assert _sandbox_folders(home) == []
        assert child.exitstatus == 128 + signum, (child.exitstatus, child.signalstatus)
    finally:
        if child.isalive():
            child.close(force=True)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_a_headless_demo_ended_by_a_signal_leaves_no_sandbox_folder(
    tmp_path: Path, signum: int
) -> None:
    home = _home(tmp_path)
    demo = subprocess.Popen(
        [
            *(sys.executable, "-m", "sessiontui", "--demo", "--plugin", "stand-in"),
            *("--request-access", "pay-ledger-01", "--reason", "CHG-2", "--wait", "2m"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        env=_env(home),
    )
    try:
        assert demo.stderr is not None
        for line in demo.stderr:  # waiting for the approval: the sandbox is up
            if "demo approver:" in line:
                break
        demo.send_signal(signum)
        _, err = demo.communicate(timeout=30)
        assert _sandbox_folders(home) == []
        assert demo.returncode == 128 + signum, err
        assert "Traceback" not in err, err
        assert f"{signal.Signals(signum).name} received" in err, err
    finally:
        if demo.poll() is None:
            demo.kill()
            demo.wait()
