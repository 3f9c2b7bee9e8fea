"""The sandbox's private folder in the temp dir (credentials, config, sshd keys, the stand-in
plugin): 0700, files 0600, with its owner's pid inside, so the folder a SIGKILLed sandbox leaves
behind is swept at the next start.

Only folders that are ours are swept: our name prefix, a real directory (not a link) owned by
this user, holding an owner file whose process is gone. A folder without an owner file may
belong to a running older sandbox, so it stays.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import tempfile
from pathlib import Path

from sessiontui.stores.paths import write_private

PREFIX = "sessiontui-sandbox-"
OWNER_FILE = "owner.pid"


def make() -> Path:
    """A new private folder (mkdtemp makes it 0700), its owner noted, leftovers swept first."""
    sweep()
    folder = Path(tempfile.mkdtemp(prefix=PREFIX))
    write_private(folder / OWNER_FILE, f"{os.getpid()}\n")
    return folder


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process has that pid now: not ours to judge
    return True


def _owner(folder: Path) -> int | None:
    """The pid a folder of ours names, or None when it is not ours or says nothing."""
    try:
        info = folder.lstat()
        if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid():
            return None
        return int((folder / OWNER_FILE).read_text(encoding="utf-8").strip())
    except (OSError, ValueError):
        return None


def sweep(root: Path | None = None) -> list[Path]:
    """Remove the folders killed sandboxes left in `root` (the temp dir); which went."""
    base = root if root is not None else Path(tempfile.gettempdir())
    gone: list[Path] = []
    with contextlib.suppress(OSError):
        for folder in base.glob(PREFIX + "*"):
            pid = _owner(folder)
            if pid is None or pid == os.getpid() or _alive(pid):
                continue
            shutil.rmtree(folder, ignore_errors=True)
            gone.append(folder)
    return gone
