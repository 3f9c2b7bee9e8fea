"""Find session-manager-plugin and learn how to hand it the session (env var or argv)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from sessiontui.core.errors import PluginError

PLUGIN_NAME = "session-manager-plugin"
ENV_OVERRIDE = "SESSIONTUI_PLUGIN"
INSTALL_URL = (
    "https://docs.aws.amazon.com/systems-manager/latest/userguide/"
    "session-manager-working-with-install-plugin.html"
)
# Plugins newer than this read the StartSession response from the environment.
ENV_MODE_AFTER = (1, 2, 497, 0)
VERSION_RE = re.compile(r"^\d+(\.\d+){0,3}$")
ARGV_MODE_WARNING = (
    "session-manager-plugin {version} is older than 1.2.497.0: the session token will be "
    "visible to other users of this machine in `ps`; upgrade the plugin"
)


@dataclass(frozen=True)
class PluginInfo:
    path: Path
    version: str
    env_mode: bool  # True: response in AWS_SSM_START_SESSION_RESPONSE, never in argv

    @property
    def warning(self) -> str | None:
        """Something the operator must be told before the first session, or None."""
        if self.env_mode:
            return None
        return ARGV_MODE_WARNING.format(version=self.version)


def parse_version(text: str) -> tuple[int, ...]:
    v = text.strip()
    if not VERSION_RE.match(v):
        raise PluginError(
            f"{PLUGIN_NAME} printed an unexpected version {v[:60]!r}",
            f"reinstall it: {INSTALL_URL}",
        )
    return tuple(int(p) for p in v.split("."))


def uses_env_mode(version: tuple[int, ...]) -> bool:
    padded = version + (0,) * (4 - len(version))
    return padded > ENV_MODE_AFTER


def find_plugin(
    config_path: str | os.PathLike[str] | None = None, environ: Mapping[str, str] | None = None
) -> Path:
    """Explicit config path, then $SESSIONTUI_PLUGIN, then PATH."""
    env = os.environ if environ is None else environ
    for source, value in (
        ("config plugin_path", config_path),
        (ENV_OVERRIDE, env.get(ENV_OVERRIDE)),
    ):
        if not value:
            continue
        path = Path(value).expanduser()
        if path.is_file() and os.access(path, os.X_OK):
            return path
        raise PluginError(
            f"{PLUGIN_NAME} not found at {path} (from {source})",
            f"fix the path or install it: {INSTALL_URL}",
        )
    found = shutil.which(PLUGIN_NAME, path=env.get("PATH"))
    if not found:
        raise PluginError(
            f"{PLUGIN_NAME} is not installed (not on PATH)", f"install it: {INSTALL_URL}"
        )
    return Path(found)


def locate_plugin(
    config_path: str | os.PathLike[str] | None = None,
    environ: Mapping[str, str] | None = None,
    timeout: float = 10.0,
) -> PluginInfo:
    """Find the plugin and ask its version; PluginError (exit 5) when missing or broken."""
    path = find_plugin(config_path, environ)
    try:
        done = subprocess.run(
            [str(path), "--version"],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            env=dict(os.environ if environ is None else environ),
        )
    except subprocess.TimeoutExpired as e:
        raise PluginError(
            f"{path} --version did not answer within {timeout:g}s", f"reinstall it: {INSTALL_URL}"
        ) from e
    except OSError as e:
        raise PluginError(
            f"cannot run {path}: {e.strerror or e}", f"reinstall it: {INSTALL_URL}"
        ) from e
    if done.returncode != 0:
        raise PluginError(
            f"{path} --version failed with exit status {done.returncode}",
            f"reinstall it: {INSTALL_URL}",
        )
    version = done.stdout.strip()
    parsed = parse_version(version)
    return PluginInfo(path=path, version=version, env_mode=uses_env_mode(parsed))


def probe_plugin(
    config_path: str | os.PathLike[str] | None = None,
) -> Callable[[], PluginInfo]:
    """`locate_plugin` in two halves: a missing plugin raises now (before any MFA code is
    spent), and its `--version` (70-120 ms of a Go start on a loaded machine) runs in a thread
    beside the node's lookup; calling the result waits for it, raising what it raised."""
    from concurrent.futures import ThreadPoolExecutor

    path = find_plugin(config_path)
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="plugin-version")
    answer = pool.submit(locate_plugin, path)
    pool.shutdown(wait=False)
    return answer.result


REAL_PLUGIN_ENV = "SESSIONTUI_REAL_PLUGIN"
# Beside a clone (CI lays ../shared next to the repository): AWS's build for this machine.
SHARED_REAL_PLUGIN = Path("../shared/tools/session-manager-plugin/linux-amd64") / PLUGIN_NAME


def repository_root() -> Path:
    """The checkout this package runs from (src/sessiontui/..); meaningless for a wheel."""
    return Path(__file__).resolve().parents[3]


def is_stand_in(path: Path) -> bool:
    """The sandbox's own stand-in (a script that runs fakeplugin.py), not AWS's binary."""
    try:
        with path.open("rb") as fh:
            head = fh.read(4096)
    except OSError:
        return False
    return b"fakeplugin" in head


def find_real_plugin(
    environ: Mapping[str, str] | None = None, root: Path | None = None
) -> tuple[Path | None, str]:
    """AWS's session-manager-plugin, or None and one line saying why not. The order:
    $SESSIONTUI_REAL_PLUGIN, ../shared/tools/... beside the repository, then PATH."""
    env = os.environ if environ is None else environ
    explicit = env.get(REAL_PLUGIN_ENV)
    if explicit:
        path = Path(explicit).expanduser()
        if path.is_file() and os.access(path, os.X_OK):
            return path, ""
        return None, f"{REAL_PLUGIN_ENV}={explicit} is not an executable file"
    shared = ((root or repository_root()) / SHARED_REAL_PLUGIN).resolve()
    if shared.is_file() and os.access(shared, os.X_OK):
        return shared, ""
    found = shutil.which(PLUGIN_NAME, path=env.get("PATH"))
    if found and not is_stand_in(Path(found)):
        return Path(found), ""
    return None, (
        f"AWS's {PLUGIN_NAME} not found: set {REAL_PLUGIN_ENV}, put it at {shared}, "
        "or install it on PATH"
    )


DEMO_PLUGIN_CHOICES = ("stand-in", "real")


def demo_plugin(
    choice: str | None,
    stand_in: Path | None,
    operator_choice: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> Path:
    """The plugin `--demo` hands its sessions: `--plugin stand-in|real` when given; else the
    operator's own $SESSIONTUI_PLUGIN; else AWS's when installed; else the sandbox's stand-in."""
    if choice == "real" or (choice is None and not operator_choice):
        real, why = find_real_plugin(environ)
        if real is not None:
            return real
        if choice == "real":
            raise PluginError(why, f"install it: {INSTALL_URL}")
    elif choice is None and operator_choice:
        return Path(operator_choice).expanduser()
    if stand_in is None:
        raise PluginError(
            "the sandbox's stand-in plugin is unavailable (its dependencies are missing)",
            "reinstall sessiontui with its sandbox extra: pip install 'sessiontui[sandbox]'",
        )
    return stand_in
