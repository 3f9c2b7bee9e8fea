"""The forward's private TMPDIR: named after its sessiontui process, swept when that process is
dead (a real SIGKILLed one), and nothing else is ever touched."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from sessiontui.plugin.scratch import make_scratch, sweep_stale

MAKE = "import sys, time; from sessiontui.plugin.scratch import make_scratch; "


def _holder(base: Path) -> tuple[subprocess.Popen[str], Path]:
    """A real process that made its scratch folder in `base` and lives on."""
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            MAKE + f"print(make_scratch({str(base)!r}), flush=True); time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    return proc, Path(proc.stdout.readline().strip())


def test_only_the_folders_of_dead_processes_of_ours_are_swept(tmp_path: Path) -> None:
    killed, stale = _holder(tmp_path)
    (stale / "smux.sock").write_text("left by the plugin")
    living, alive = _holder(tmp_path)
    try:
        killed.send_signal(signal.SIGKILL)
        killed.wait(timeout=10)
        mine = Path(make_scratch(str(tmp_path)))
        assert (
            mine.name.startswith(f"sessiontui-{os.getpid()}-")
            and mine.stat().st_mode & 0o777 == 0o700
        )
        other = tmp_path / "other-tool-123-x"  # not our prefix
        other.mkdir()
        file = tmp_path / f"sessiontui-{killed.pid}-file"  # ours by name, but not a folder
        file.write_text("x")
        target = tmp_path / "target"
        target.mkdir()
        link = tmp_path / f"sessiontui-{killed.pid}-link"  # a link: never followed
        link.symlink_to(target)
        foreign = tmp_path / f"sessiontui-{killed.pid}-foreign"
        foreign.mkdir()
        if os.getuid() == 0:
            os.chown(foreign, 65534, -1)  # another user's folder: never ours to remove
        expected = [stale] if os.getuid() == 0 else [stale, foreign]
        assert sorted(sweep_stale(str(tmp_path))) == sorted(expected)
        assert not stale.exists()
        assert alive.is_dir() and mine.is_dir() and other.is_dir() and file.exists()
        assert link.is_symlink() and target.is_dir()
        assert sweep_stale(str(tmp_path / "missing")) == []  # no folder: nothing, no error
    finally:
        living.kill()
        living.wait(timeout=10)
