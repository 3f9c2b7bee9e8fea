"""A config file that names commands is trusted as OpenSSH trusts ~/.ssh/config.

`totp_command`, `terminal_command` and `plugin_path` are programs sessiontui runs with the
operator's credentials, so whoever can write config.toml can run code as the operator. ssh refuses
a config file (and the folder it is in) that another user owns or that group or others may write;
sessiontui does the same for a file that names a command, and says which and how to fix it.
A file that names none is read whatever its mode: it cannot run anything.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from sessiontui.core.errors import ConfigError

# the keys whose value sessiontui executes
COMMAND_KEYS = ("mfa.totp_command", "terminal_command", "plugin_path")


def _problem(st: os.stat_result, what: str, uid: int) -> str:
    """Why `what` cannot be trusted, or "" when it can."""
    if st.st_uid not in (uid, 0):  # root's files are the system's: ssh accepts them too
        return f"{what} is owned by uid {st.st_uid}, not by you (uid {uid}) or root"
    writable = st.st_mode & (stat.S_IWGRP | stat.S_IWOTH)
    # a folder others may write but with the sticky bit (/tmp) lets them add files, not replace
    # ours; ssh walks such folders too
    if writable and not (stat.S_ISDIR(st.st_mode) and st.st_mode & stat.S_ISVTX):
        who = (
            "group and others"
            if writable == stat.S_IWGRP | stat.S_IWOTH
            else ("its group" if writable == stat.S_IWGRP else "others")
        )
        return f"{what} is writable by {who} (mode {stat.S_IMODE(st.st_mode):04o})"
    return ""


def check_trusted(file: Path, st: os.stat_result, commands: list[str]) -> None:
    """Raise ConfigError (exit 2) when `file`, which names `commands`, or its folder could be
    written by someone else. `st` is the file's own stat, taken on the descriptor it was read by."""
    if not commands:
        return
    uid = os.getuid()
    problem = _problem(st, str(file), uid)
    if not problem:
        try:
            folder = file.resolve().parent
            problem = _problem(folder.stat(), f"its folder {folder}", uid)
        except OSError:
            problem = ""  # the file was read; a folder that cannot be stat'ed is not a writer
    if problem:
        raise ConfigError(
            f"{file.name}: refusing a config that names a command ({', '.join(commands)}): "
            f"{problem}",
            f"fix it with: chmod go-w {file} (and chown it to yourself), as ssh asks of "
            "~/.ssh/config",
        )
