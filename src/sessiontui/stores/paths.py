"""Every file location, in one place. Private folders are 0700 and private files 0600."""

from __future__ import annotations

import contextlib
import fcntl
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from platformdirs import user_cache_path, user_config_path, user_log_path, user_state_path

APP = "sessiontui"


def config_file() -> Path:
    env = os.environ.get("SESSIONTUI_CONFIG")
    return Path(env).expanduser() if env else default_config_file()


def default_config_file() -> Path:
    return user_config_path(APP) / "config.toml"


def config_file_from_env() -> bool:
    """The config file is the one SESSIONTUI_CONFIG names (so it must exist)."""
    return bool(os.environ.get("SESSIONTUI_CONFIG"))


def cache_dir() -> Path:
    return user_cache_path(APP)


def credentials_dir() -> Path:
    return cache_dir() / "credentials"


def inventory_dir() -> Path:
    return cache_dir() / "inventory"


def databases_dir() -> Path:
    """The last database discovery per identity and regions (names and endpoints, no secret)."""
    return cache_dir() / "databases"


def state_dir() -> Path:
    return user_state_path(APP)


def access_requests_file() -> Path:
    """The operator's just-in-time node access requests (ids and states, never credentials)."""
    return state_dir() / "access-requests.json"


def log_dir() -> Path:
    return user_log_path(APP)


def audit_log() -> Path:
    return log_dir() / "audit.jsonl"


def aws_config_file() -> Path:
    return Path(os.environ.get("AWS_CONFIG_FILE", "~/.aws/config")).expanduser()


def aws_credentials_file() -> Path:
    return Path(os.environ.get("AWS_SHARED_CREDENTIALS_FILE", "~/.aws/credentials")).expanduser()


def aws_sso_cache_dir() -> Path:
    """Where the AWS CLI (botocore) keeps Identity Center tokens; no variable moves it."""
    return Path("~/.aws/sso/cache").expanduser()


def ensure_private_dir(path: Path) -> Path:
    """Create `path` (and parents) and make it 0700, even if it already existed wider.

    Parents created here are 0700 too (mkdir(parents=True) would make them with the umask's
    0755): cache_dir()/inventory must not leave cache_dir() itself open. Existing parents, such
    as ~/.cache, are left as they are.
    """
    missing = []
    parent = path
    while not parent.exists() and parent != parent.parent:
        missing.append(parent)
        parent = parent.parent
    for folder in reversed(missing):
        with contextlib.suppress(FileExistsError):  # another process got there first
            folder.mkdir(mode=0o700)
    os.chmod(path, 0o700)
    return path


def write_private(path: Path, data: str, sync: bool = True) -> None:
    """Atomically replace `path` with `data`, readable by the owner only. Without `sync` the data
    is not fsynced: it survives the process (a SIGKILL), and the caller syncs it later."""
    ensure_private_dir(path.parent)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", text=True)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(data)
            fh.flush()
            if sync:
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def private_lock(directory: Path, name: str) -> Iterator[None]:
    """An exclusive lock shared by every sessiontui process of the user, on a file of its own:
    the files it guards are replaced by `write_private`, so their inodes change under a lock."""
    ensure_private_dir(directory)
    fd = os.open(directory / name, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
