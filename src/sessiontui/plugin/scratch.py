"""The forward's private TMPDIR, and the sweep of those a killed sessiontui left behind.

AWS's plugin puts its smux socket in $TMPDIR and leaves it there when killed, so each forward
gives it a private, short folder (0700; macOS caps socket paths at 104 bytes) that the forward
removes once the plugin is gone. A SIGKILLed sessiontui removes nothing: its folders carry its
pid in their name, and the next forward's start removes those whose process is dead. Only
folders of ours: our prefix, owned by us, real folders (not links), their process gone.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import tempfile
from pathlib import Path

PREFIX = "sessiontui-"
_OURS = re.compile(rf"{re.escape(PREFIX)}(\d+)-[A-Za-z0-9_]+")


def scratch_base() -> str | None:
    """/tmp where there is one (short paths), else the platform's temporary folder."""
    return "/tmp" if os.path.isdir("/tmp") else None


def make_scratch(base: str | None = None) -> str:
    """A new private folder named after this process, so a sweep can tell when it is stale."""
    return tempfile.mkdtemp(prefix=f"{PREFIX}{os.getpid()}-", dir=base)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: alive
        return True
    return True


def sweep_stale(base: str | None = None) -> list[Path]:
    """Remove the folders of dead sessiontui processes in `base`; the folders removed."""
    root = Path(base if base is not None else tempfile.gettempdir())
    removed = []
    uid = os.getuid()
    try:
        entries = list(os.scandir(root))
    except OSError:
        return []
    for entry in entries:
        found = _OURS.fullmatch(entry.name)
        if found is None:
            continue
        try:
            st = entry.stat(follow_symlinks=False)
        except OSError:
            continue
        if not stat.S_ISDIR(st.st_mode) or st.st_uid != uid:
            continue  # a link, a file, or another user's: never ours to remove
        pid = int(found.group(1))
        if pid == os.getpid() or _alive(pid):
            continue
        shutil.rmtree(entry.path, ignore_errors=True)
        removed.append(Path(entry.path))
    return removed
