"""Find session-manager-plugin and learn how to hand it the session (env var or argv)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Mapping
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
