"""The demo's approver command works as printed: `sessiontui --demo --request-access` prints a
command that names its own sandbox, so it approves the request even when the per-user endpoint
file is gone (another demo replaced or removed it) and nothing points the shell at a sandbox."""

from __future__ import annotations

import json
import os
import queue
import shlex
import subprocess
import sys
import threading
import time
from pathlib import Path


def _env(home: Path) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / "config"),
        "XDG_CACHE_HOME": str(home / "cache"),
        "XDG_STATE_HOME": str(home / "state"),
        "TMPDIR": str(home),
    }


def test_the_printed_approver_command_approves_without_the_endpoint_file(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    demo = subprocess.Popen(
        [
            *(sys.executable, "-m", "sessiontui", "--demo", "--plugin", "stand-in"),
            *("--request-access", "pay-ledger-01", "--reason", "CHG-1", "--wait", "2m"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        env=_env(home),
    )
    lines: queue.Queue[str] = queue.Queue()
    assert demo.stderr is not None
    threading.Thread(target=lambda: [lines.put(x) for x in demo.stderr], daemon=True).start()  # type: ignore[union-attr]
    try:
        command = ""
        deadline = time.monotonic() + 60
        while not command and time.monotonic() < deadline:
            try:
                line = lines.get(timeout=1)
            except queue.Empty:
                continue
            if line.startswith("sessiontui: demo approver: "):
                command = line.removeprefix("sessiontui: demo approver: ").strip()
        assert command, "no approver command printed"
        assert "--endpoint http://127.0.0.1:" in command
        # another demo stopped meanwhile and took the per-user endpoint file with it
        for pointer in (home / "state").rglob("sandbox.json"):
            pointer.unlink()
        # a second terminal of the same user: the same state folder (where the sandbox keeps its
        # own endpoint file and control secret, 0600), none of the demo's variables
        approved = subprocess.run(
            shlex.split(command),
            capture_output=True,
            text=True,
            env=_env(home),
            timeout=30,
            stdin=subprocess.DEVNULL,
        )
        assert approved.returncode == 0, approved.stderr
        out, err = demo.communicate(timeout=60)
        assert demo.returncode == 0, err
        line = json.loads(out.strip().splitlines()[-1])
        assert line["status"] == "Approved"
    finally:
        if demo.poll() is None:
            demo.kill()
            demo.wait()
