"""`sessiontui --demo` after a plain `pip install sessiontui` (without the `sandbox` extra): one
plain message saying what to install and exit 2, not `unexpected error: ModuleNotFoundError`.

The missing extra is made real for the subprocess: a `moto` package first on its path that
fails to import the way an absent one does.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.mark.parametrize("args", [["--demo", "--list"], ["--demo", "--connect", "x"]])
def test_demo_without_the_sandbox_extra_says_what_to_install(
    tmp_path: Path, args: list[str]
) -> None:
    blocked = tmp_path / "site"
    (blocked / "moto").mkdir(parents=True)
    (blocked / "moto" / "__init__.py").write_text(
        "raise ModuleNotFoundError(\"No module named 'moto'\", name='moto')\n"
    )
    home = tmp_path / "home"
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / "config"),
        "XDG_CACHE_HOME": str(home / "cache"),
        "XDG_STATE_HOME": str(home / "state"),
        "PYTHONPATH": str(blocked),
        "TMPDIR": str(tmp_path),
    }
    out = subprocess.run(
        [sys.executable, "-m", "sessiontui", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert out.returncode == 2, out.stderr
    lines = [line for line in out.stderr.splitlines() if line.strip()]
    assert "Traceback" not in out.stderr and "unexpected error" not in out.stderr, out.stderr
    assert 1 <= len(lines) <= 2, out.stderr
    assert lines[0] == (
        "sessiontui: --demo needs the sandbox extra, which is not installed (no module moto)"
    )
    assert "pip install 'sessiontui[sandbox]'" in out.stderr
    # nothing was started: no sandbox folder left in the temp directory it would use
    assert not list(tmp_path.glob("sessiontui-sandbox-*"))
