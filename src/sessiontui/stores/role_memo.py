"""Which cache file answers a bare `--credentials ROLE`, and the inputs that decided it.

credential_process runs before every AWS call, and reading the config as every command reads it
(TOML, ~/.aws/config, dataclasses, platformdirs) costs several times Python's own start. So when
`commands.credentials.cached_json` answers a held role it leaves a memo: the cache file it read,
beside the identity of everything its decision rests on (the variables it reads, the config and
AWS files' stat, the config folder's owner and mode, the uid). A later call whose inputs are all
the same takes the memo's cache file without parsing anything; any difference, or anything
doubtful, and the full path decides again.

Only the standard library, and only modules Python's start already holds: this module is the fast
path's. The memo holds no secret (the base secret key counts only as set or unset) and lives with
the credentials, 0600 in their 0700 folder, so --logout removes it with them.
"""

from __future__ import annotations

import os
import sys

# typing is not imported: its import (re, functools, contextlib) costs the fast path ~4 ms
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence

VERSION = 1
# Every variable cached_json's decision reads: the files' places, the base key, the region, the
# cache folder (tests/test_credentials_cached.py records the names it reads and holds them here)
ENV = (
    "HOME",
    "XDG_CACHE_HOME",
    "XDG_CONFIG_HOME",
    "SESSIONTUI_CONFIG",
    "AWS_CONFIG_FILE",
    "AWS_SHARED_CREDENTIALS_FILE",
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_ACCESS_KEY_ID",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_ROLE_ARN",
)
SECRET_ENV = ("AWS_SECRET_ACCESS_KEY",)  # only whether it is set: the value never reaches a file
# A file changed within this many seconds of the memo might change again within one tick of its
# timestamp, unseen by stat (git's "racy" files): such a memo is not written
RACY_SECONDS = 2.0
NAME_MAX = 64  # a longer role name gets no memo (the file name is its hex)
SUFFIX = ".memo"


def credentials_dir() -> str | None:
    """platformdirs' credentials folder (stores.paths.credentials_dir) as it is on Linux, without
    importing platformdirs; None elsewhere or when HOME is not plain. `remember` writes a memo
    only where this agrees with platformdirs, and the variables it reads are in the memo's key."""
    if sys.platform != "linux":
        return None
    base = os.environ.get("XDG_CACHE_HOME", "")
    if not base.startswith("/"):
        home = os.environ.get("HOME", "")
        if not home.startswith("/"):
            return None
        base = os.path.join(home, ".cache")
    return os.path.join(base, "sessiontui", "credentials")


def _memo_path(folder: str, role: str) -> str | None:
    if not role or len(role) > NAME_MAX:
        return None
    return os.path.join(folder, f"role-{role.encode('utf-8').hex()}{SUFFIX}")


def _identity(path: str) -> list[int] | None:
    """What changes when a file is written, replaced, moved, chmod'ed or chown'ed; None when it
    is missing (a file created later changes the answer too). Other errors propagate."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return [st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_mode, st.st_uid]


def inputs(files: Sequence[str]) -> dict[str, object]:
    """The key: `files[0]` is the config file, whose folder's owner and mode decide whether a
    config naming a command is trusted (config_trust)."""
    env = os.environ
    return {
        "uid": os.getuid(),
        "env": [env.get(name) for name in ENV],
        "set": [bool(env.get(name)) for name in SECRET_ENV],
        "files": [[path, _identity(path)] for path in files],
        "config_folder": _identity(os.path.dirname(os.path.realpath(files[0]))),
    }


def remember(
    role: str, role_arn: str, cache_file: str, files: Sequence[str], *, now: float, expected: str
) -> bool:
    """Leave the memo for ROLE, answered from `cache_file` (in `expected`, platformdirs' folder)
    with `files` read (config first). False when no memo may be written: another platform, a
    folder platformdirs puts elsewhere, a long name, a file changed just now."""
    import json

    from sessiontui.stores.paths import write_private

    folder = credentials_dir()
    memo = _memo_path(folder, role) if folder is not None else None
    if folder != expected or memo is None or os.path.dirname(cache_file) != folder:
        return False
    key = inputs(files)
    # stat'ed after the key: a file changed in between looks just changed, and gets no memo
    stamps = [found[i] for found in map(_identity, files) if found is not None for i in (3, 4)]
    if any(now - stamp / 1e9 < RACY_SECONDS for stamp in stamps):
        return False
    record = {
        "version": VERSION,
        "role": role,
        "role_arn": role_arn,
        "cache_file": os.path.basename(cache_file),
        "inputs": key,
    }
    from pathlib import Path

    write_private(Path(memo), json.dumps(record), sync=False)  # a lost memo costs one slow call
    return True


def recall(role: str) -> tuple[str, str] | None:
    """(role ARN, cache file) when ROLE's memo was left under the same inputs as now; None on
    any difference or doubt (no memo, not ours, another format)."""
    import json

    folder = credentials_dir()
    memo = _memo_path(folder, role) if folder is not None else None
    if folder is None or memo is None:
        return None
    try:
        fd = os.open(memo, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        if st.st_uid != os.getuid() or st.st_mode & 0o077:
            return None  # a memo others could have written could point anywhere
        with os.fdopen(os.dup(fd), "rb") as fh:
            record = json.loads(fh.read())
    except (OSError, ValueError):
        return None
    finally:
        os.close(fd)
    if not isinstance(record, dict) or record.get("version") != VERSION:
        return None
    arn, name, key = record.get("role_arn"), record.get("cache_file"), record.get("inputs")
    if record.get("role") != role or not isinstance(arn, str) or not isinstance(name, str):
        return None
    if not name.endswith(".json") or "/" in name or name.startswith("."):
        return None
    listed = key.get("files") if isinstance(key, dict) else None
    if not (isinstance(listed, list) and listed):
        return None
    files = [e[0] for e in listed if isinstance(e, list) and e and isinstance(e[0], str)]
    try:
        if len(files) != len(listed) or key != inputs(files):
            return None
    except OSError:
        return None
    return arn, os.path.join(folder, name)
