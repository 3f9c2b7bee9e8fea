"""Shells in new windows: `w` opens the selected node's shell in a new tmux window (or through
the configured `terminal_command`) while the TUI stays live.

The window runs `sessiontui --connect NODE --role NAME` as a process of its own, which ends its
session at the access's expiry as any `--connect` does. What it needs goes by name (see
`core.windows`); where the access cannot be found by name from another process, the operator is
told why and nothing opens. Windows opened are remembered, so quitting can say they keep running.
"""

from __future__ import annotations

import configparser
import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual.message import Message

from sessiontui.core.durations import format_remaining
from sessiontui.core.node import Node
from sessiontui.core.windows import (
    ENV_KEYS,
    SECRET_ENV,
    WindowPlan,
    WindowShell,
    check_no_secrets,
    connect_argv,
    parse_tmux_answer,
    passed_env,
    terminal_argv,
    tmux_argv,
    window_name,
)

if TYPE_CHECKING:
    from botocore.credentials import Credentials as BotocoreCredentials
    from textual.app import App

    from sessiontui.ui.access import AccessController
    from sessiontui.ui.opening import SessionOpener
    from sessiontui.ui.services import AppServices

HOW_TO_ENABLE = (
    "a shell in a new window needs tmux (run sessiontui inside tmux) or a terminal_command "
    'in config.toml, e.g. terminal_command = "kitty @ launch --type=tab"'
)
CHECK_EVERY = 3.0  # seconds between looks at which tmux windows are still there
TMUX_TIMEOUT = 10.0


class WindowRefused(Exception):
    """The window cannot be opened; the message says why, in words."""


class WindowReport(Message):
    """From a worker: a window opened (`record`), failed (`error`), or which tmux windows live."""

    def __init__(
        self,
        record: WindowShell | None = None,
        error: str = "",
        node_name: str = "",
        live: frozenset[str] | None = None,
        checked: bool = False,
        launcher: subprocess.Popen[bytes] | None = None,
    ) -> None:
        super().__init__()
        self.record = record
        self.error = error
        self.node_name = node_name
        self.live = live  # None after a look that failed: nothing is dropped then
        self.checked = checked
        self.launcher = launcher  # a launcher still running: the terminal of that window


class WindowShells:
    def __init__(
        self,
        host: App[Any],
        services: AppServices,
        access: AccessController,
        opener: SessionOpener,
        environ: Mapping[str, str] | None = None,
        changed: Callable[[], None] | None = None,
    ) -> None:
        self.host = host
        self.changed = changed  # the windows changed: e.g. the details pane shows them
        self.services = services
        self.access = access
        self.opener = opener
        self.environ = environ if environ is not None else os.environ
        self.opened: list[WindowShell] = []
        # launchers that stayed: the terminal itself (`xterm -e`); its exit closes the window
        self._launchers: dict[int, tuple[subprocess.Popen[bytes], WindowShell]] = {}
        self._watching = False
        self._checking = False

    # ---- where a new window opens ------------------------------------------------------------

    def terminal_command(self) -> tuple[str, ...]:
        return tuple(getattr(self.services.config, "terminal_command", ()) or ())

    def available(self) -> bool:
        """A configured launcher, or tmux around us (TMUX is how tmux tells its panes)."""
        return bool(self.terminal_command() or self.environ.get("TMUX"))

    # ---- opening -----------------------------------------------------------------------------

    def open(self, node: Node | None) -> None:
        if node is None:
            return
        if not self.available():
            self.host.notify(HOW_TO_ENABLE, title="shell in a new window", timeout=10)
            return
        if not self.opener.ready(node, "a shell in a new window", lambda: self.open(node)):
            return
        self.opener.with_reason(
            f"a shell on {node.display_name} in a new window", lambda r: self._launch(node, r)
        )

    def _launch(self, node: Node, reason: str | None) -> None:
        def work() -> None:
            try:
                record, child = self._open_blocking(node, reason)
            except WindowRefused as exc:
                self.host.post_message(WindowReport(error=str(exc), node_name=node.display_name))
            except (OSError, subprocess.SubprocessError, ValueError) as exc:
                self.host.post_message(
                    WindowReport(error=f"{type(exc).__name__}: {exc}", node_name=node.display_name)
                )
            else:
                self.host.post_message(WindowReport(record=record, launcher=child))

        self.host.run_worker(work, thread=True, group="window-shell", exit_on_error=False)

    def _open_blocking(
        self, node: Node, reason: str | None
    ) -> tuple[WindowShell, subprocess.Popen[bytes] | None]:
        launcher = self.terminal_command()
        tmux = None
        if not launcher:
            tmux = shutil.which("tmux", path=self.environ.get("PATH"))
            if tmux is None:
                raise WindowRefused("TMUX is set but no tmux program is on PATH")
        role, ends_at, secrets = self._access_by_name()
        unset = self._base_keys(tmux)
        plan = WindowPlan(
            node_id=node.id,
            node_name=node.display_name,
            region=node.region,
            role=role,
            reason=reason,
            profile=getattr(self.services.factory, "profile", None),
            env=passed_env(self.environ),
            unset=unset,
        )
        command = connect_argv(sys.executable, plan)
        secrets += [self.environ.get(name) for name in SECRET_ENV]
        totp_env = getattr(getattr(self.services.config, "mfa", None), "totp_secret_env", None)
        if totp_env:  # out of os.environ since the start (withhold_secret_env), but still known
            from sessiontui.aws.mfa import secret_env_value

            secrets.append(self.environ.get(totp_env) or secret_env_value(totp_env))
        now = self.services.clock.now()
        if tmux is not None:
            argv = tmux_argv(tmux, window_name(node.display_name), command, self._tui_window(tmux))
            check_no_secrets(argv, secrets)
            done = subprocess.run(
                argv,
                capture_output=True,
                text=True,
                timeout=TMUX_TIMEOUT,
                env=dict(self.environ),
                check=False,
            )
            if done.returncode != 0:
                raise WindowRefused(f"tmux new-window failed: {done.stderr.strip()}")
            window_id, index = parse_tmux_answer(done.stdout)
            record = WindowShell(node.id, node.display_name, now, ends_at, "tmux", window_id, index)
            return record, None
        argv = terminal_argv(launcher, command)
        check_no_secrets(argv, secrets)
        child = self._spawn_launcher(argv)
        return WindowShell(node.id, node.display_name, now, ends_at, Path(launcher[0]).name), child

    def _access_by_name(self) -> tuple[str | None, datetime | None, list[str | None]]:
        """The access's name for --role, its end, and its secrets (never to be on argv)."""
        active = self.access.active
        if active is None:
            creds = self.opener.session_credentials()
            secrets = [creds.secret_access_key, creds.session_token] if creds else []
            return None, None, secrets
        access = active.access
        held = self.access.book.cached(access.offer)
        if held is None:
            raise WindowRefused(
                f"{access.name}'s credentials are not in the private credential cache (or end "
                "within two minutes), so another process cannot use them by name and would have "
                "to ask for MFA again; take the role again (r) and press w once more"
            )
        secrets = [
            access.credentials.secret_access_key,
            access.credentials.session_token,
            held.credentials.secret_access_key,
            held.credentials.session_token,
        ]
        return access.name, access.ends_at, secrets

    def _base_keys(self, tmux: str | None) -> tuple[str, ...]:
        """Which base-key variables the window must clear; refuses when it cannot get ours.

        The private cache is keyed by the base access key, so the window must sign in as the
        same base identity. Keys from a profile or a file are found by name; keys that exist
        only in this process's environment cannot be passed without a secret on a command line.
        """
        try:
            found: BotocoreCredentials | None = self.services.factory.session.get_credentials()
        except Exception:
            found = None
        if found is None or getattr(found, "method", "") != "env":
            return ENV_KEYS  # a profile, a file, SSO...: the window must not pick up stray keys
        key_id = str(found.access_key)
        profile = getattr(self.services.factory, "profile", None)
        if self._file_key_id(profile) == key_id:
            return ENV_KEYS  # the same key is in the credentials file: the window reads it there
        if tmux is not None and self._tmux_env(tmux, "AWS_ACCESS_KEY_ID") == key_id:
            return ()  # tmux gives its new windows the same keys
        raise WindowRefused(
            "the base AWS keys are only in this process's environment (AWS_ACCESS_KEY_ID / "
            "AWS_SECRET_ACCESS_KEY), which a new window would not have, and a secret never goes "
            "on a command line; use a profile (--profile, or the credentials file), or give tmux "
            "the same keys (tmux set-environment -g), then press w again"
        )

    def _file_key_id(self, profile: str | None) -> str | None:
        path = Path(
            self.environ.get("AWS_SHARED_CREDENTIALS_FILE") or "~/.aws/credentials"
        ).expanduser()
        parser = configparser.RawConfigParser()
        try:
            parser.read(path, encoding="utf-8")
            return parser.get(profile or "default", "aws_access_key_id", fallback=None)
        except (configparser.Error, OSError, UnicodeDecodeError):
            return None

    def _tui_window(self, tmux: str) -> str | None:
        """The TUI's own tmux window (new windows go right after it); None when unknown."""
        pane = self.environ.get("TMUX_PANE")
        if not pane:
            return None
        done = subprocess.run(
            [tmux, "display-message", "-p", "-t", pane, "#{window_id}"],
            capture_output=True,
            text=True,
            timeout=TMUX_TIMEOUT,
            env=dict(self.environ),
            check=False,
        )
        found = done.stdout.strip()
        return found if done.returncode == 0 and found.startswith("@") else None

    def _tmux_env(self, tmux: str, name: str) -> str | None:
        # the session's environment wins over the global one for a new window
        for scope in ([], ["-g"]):
            done = subprocess.run(
                [tmux, "show-environment", *scope, name],
                capture_output=True,
                text=True,
                timeout=TMUX_TIMEOUT,
                env=dict(self.environ),
                check=False,
            )
            line = done.stdout.strip()
            if done.returncode == 0 and line == f"-{name}":
                return None
            if done.returncode == 0 and line.startswith(f"{name}="):
                return line.split("=", 1)[1]
        return None

    def _spawn_launcher(self, argv: list[str]) -> subprocess.Popen[bytes] | None:
        """Start the launcher; the process when it is still running (the terminal itself)."""
        with tempfile.TemporaryFile() as err:
            child = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=err,
                start_new_session=True,  # the window outlives the TUI
                env=dict(self.environ),
            )
            try:
                code = child.wait(timeout=3)
            except subprocess.TimeoutExpired:
                return child
            if code != 0:
                err.seek(0)
                said = err.read().decode(errors="replace").strip()
                raise WindowRefused(f"{argv[0]} exited with status {code}: {said}")
            return None  # it asked a running terminal for the window (kitty @, wezterm cli)

    # ---- what the workers said ---------------------------------------------------------------

    def report(self, message: WindowReport) -> None:
        if message.error:
            self.host.notify(
                message.error,
                title=f"shell on {message.node_name} in a new window",
                severity="error",
                timeout=12,
            )
        elif message.record is not None:
            if message.launcher is not None:
                self._launchers[id(message.record)] = (message.launcher, message.record)
            self._opened(message.record)
        elif message.checked:
            self._checking = False
            if message.live is not None:
                self._checked(message.live)

    def _opened(self, record: WindowShell) -> None:
        self.opened.append(record)
        self._changed()
        until = ""
        if record.ends_at is not None:
            left = (record.ends_at - self.services.clock.now()).total_seconds()
            until = f"; it ends with the access in {format_remaining(max(0.0, left))}"
        self.host.notify(
            f"shell on {record.node_name} in {record.label}, under its own process{until}",
            title="shell in a new window",
            timeout=8,
        )
        if not self._watching:
            self._watching = True
            self.host.set_interval(CHECK_EVERY, self._check)

    def _check(self) -> None:
        for key, (child, record) in list(self._launchers.items()):
            if child.poll() is not None:  # reaped; the terminal and its window are gone
                del self._launchers[key]
                self._gone(record)
        now = self.services.clock.now()
        # a window a running terminal opened cannot be followed: it counts until its access ends
        for record in list(self.opened):
            if record.window_id is None and record.ends_at is not None and record.ends_at <= now:
                self._gone(record, quiet=True)
        if self._checking or not any(r.window_id for r in self.opened):
            return
        self._checking = True

        def work() -> None:
            live: frozenset[str] | None = None
            tmux = shutil.which("tmux", path=self.environ.get("PATH"))
            with contextlib.suppress(OSError, subprocess.SubprocessError):
                if tmux is not None:
                    done = subprocess.run(
                        [tmux, "list-windows", "-a", "-F", "#{window_id}"],
                        capture_output=True,
                        text=True,
                        timeout=TMUX_TIMEOUT,
                        env=dict(self.environ),
                        check=False,
                    )
                    if done.returncode == 0:
                        live = frozenset(done.stdout.split())
            self.host.post_message(WindowReport(live=live, checked=True))

        self.host.run_worker(work, thread=True, group="window-check", exit_on_error=False)

    def _checked(self, live: frozenset[str]) -> None:
        for record in [r for r in self.opened if r.window_id and r.window_id not in live]:
            self._gone(record)

    def _gone(self, record: WindowShell, *, quiet: bool = False) -> None:
        if record in self.opened:
            self.opened.remove(record)
        if not quiet:
            self.host.notify(f"shell on {record.node_name} in {record.label} closed", timeout=5)
        self._changed()

    def _changed(self) -> None:
        if self.changed is not None:
            self.changed()

    # ---- what others ask ---------------------------------------------------------------------

    def on_node(self, node_id: str) -> list[WindowShell]:
        return [r for r in self.opened if r.node_id == node_id]

    def notes_for(self, node_id: str) -> tuple[str, ...]:
        """For the details pane: "shell in window 3 since 10:02:11, until 11:02:09"."""
        out = []
        for r in self.on_node(node_id):
            line = f"shell in {r.label} since {r.started_at.astimezone():%H:%M:%S}"
            if r.ends_at is not None:
                line += f", until {r.ends_at.astimezone():%H:%M:%S}"
            out.append(line)
        return tuple(out)

    def running(self) -> list[WindowShell]:
        return list(self.opened)

    def quit_warning(self) -> str:
        """What quitting leaves behind, in words; "" when no window shell was opened."""
        shells = self.running()
        if not shells:
            return ""
        where = ", ".join(f"{r.node_name} ({r.label})" for r in shells)
        plural = "s" if len(shells) != 1 else ""
        line = (
            f"{len(shells)} shell{plural} in other windows keep running under their own "
            f"process: {where}."
        )
        if self.services.demo_banner:
            line += " The demo's sandbox ends with sessiontui, so they lose their connection."
        return line
