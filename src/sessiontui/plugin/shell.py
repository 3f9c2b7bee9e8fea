"""Run the plugin for a shell session: hand it our terminal until it exits, then say how it ended."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import threading
import time
from dataclasses import dataclass
from types import FrameType
from typing import Any

import pexpect

from sessiontui.core.errors import PluginError
from sessiontui.core.session_end import SessionEnd
from sessiontui.plugin.command import PluginCommand
from sessiontui.plugin.output import Ending, LineSplitter, Outcome, parse_line
from sessiontui.plugin.signals import keyboard_signals_ignored

STOP_GRACE = 3.0  # seconds between SIGTERM and SIGKILL when we stop the plugin


@dataclass(frozen=True)
class ShellResult:
    session_id: str | None  # as the plugin printed it
    seconds: float
    how: Ending
    reason: str  # one line for the operator: "session exited normally", the server's reason, ...
    exit_status: int | None
    signal_status: int | None
    terminated: bool | None = None  # TerminateSession accepted (None: not attempted yet)
    terminate_error: str = ""  # what AWS said when TerminateSession failed
    session_end: SessionEnd | None = None  # when it would have ended, and why (the supervisor's)


def terminal_size(fd: int = 0) -> tuple[int, int]:
    """(rows, cols) of our terminal, with a sane fallback."""
    try:
        size = os.get_terminal_size(fd)
    except OSError:
        size = shutil.get_terminal_size((80, 24))
    return size.lines, size.columns


class ShellRunner:
    """One plugin process under a pty, wired to our terminal by pexpect's interact()."""

    def __init__(self, command: PluginCommand) -> None:
        self.command = command
        self.outcome = Outcome()
        self._splitter = LineSplitter()
        self._child: Any = None
        self._stopped: tuple[Ending, str] | None = None
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._started = time.monotonic()

    @property
    def pid(self) -> int | None:
        return self._child.pid if self._child is not None else None

    def _filter(self, data: bytes) -> bytes:
        # interact() hands us every byte the plugin writes; we only watch, the operator sees all.
        for line in self._splitter.feed(data):
            parsed = parse_line(line)
            if parsed is not None:
                self.outcome.observe(parsed)
        return data

    def _flush_partial(self) -> None:
        parsed = parse_line(self._splitter.take_partial())
        if parsed is not None:
            self.outcome.observe(parsed)

    def stop(self, how: Ending, reason: str, grace: float = STOP_GRACE) -> None:
        """End the plugin from any thread (expiry, ActiveSessions); run() then returns."""
        with self._lock:
            if self._stopped is None:
                self._stopped = (how, reason)
            child = self._child
        if child is None:
            return
        threading.Thread(
            target=kill_process, args=(child.pid, grace, self._done), daemon=True
        ).start()

    def spawn(self) -> Any:
        """Start the plugin under its own pty, not yet wired to our terminal (idempotent).

        Raises PluginError when there is no terminal to give it later or it cannot start: the
        refusals that must come before a front end gives up its screen."""
        if self._child is not None:
            return self._child
        if not os.isatty(0):
            raise PluginError(
                "a shell session needs a terminal on stdin",
                "run it from a terminal, or use --forward",
            )
        argv = self.command.argv
        rows, cols = terminal_size(0)
        try:
            child = pexpect.spawn(
                argv[0], argv[1:], env=self.command.env, dimensions=(rows, cols), echo=False
            )
        except (pexpect.ExceptionPexpect, OSError) as e:
            raise PluginError(f"cannot start session-manager-plugin: {e}") from e
        self._started = time.monotonic()
        with self._lock:
            self._child = child
            pending_stop = self._stopped
        if pending_stop is not None:
            self.stop(*pending_stop)
        return child

    def close(self) -> None:
        """Reap the plugin if it was spawned and is not reaped yet (any thread, idempotent)."""
        child = self._child
        if child is None or self._done.is_set():
            return
        # close(force=True) escalates SIGHUP/SIGINT/SIGKILL itself and reaps the plugin.
        with contextlib.suppress(Exception):
            child.close(force=True)
        self._done.set()

    def run(self) -> ShellResult:
        """Blocks until the plugin exits. Needs a terminal on stdin."""
        child = self.spawn()
        started = self._started
        # the terminal may have changed size since the spawn (the TUI gave it up in between)
        with contextlib.suppress(Exception):
            child.setwinsize(*terminal_size(0))

        def on_winch(_sig: int, _frame: FrameType | None) -> None:
            r, c = terminal_size(0)
            with contextlib.suppress(Exception):
                if child.isalive():
                    child.setwinsize(r, c)

        old_winch: Any = None
        in_main = threading.current_thread() is threading.main_thread()
        try:
            if in_main:
                old_winch = signal.signal(signal.SIGWINCH, on_winch)
            # Spawned first: SIG_IGN would be inherited by the plugin across exec.
            with keyboard_signals_ignored():
                with contextlib.suppress(OSError):  # EIO when the plugin vanished mid-write
                    child.interact(escape_character=None, output_filter=self._filter)
                self._drain(child)
        finally:
            if in_main and old_winch is not None:
                signal.signal(signal.SIGWINCH, old_winch)
            self.close()
        partial = self._splitter.partial
        if partial and not partial.endswith("\r"):
            # the plugin ended with the cursor mid-line (a prompt, when it was killed): what we
            # say next starts a line of its own, not after the remote prompt
            with contextlib.suppress(OSError):
                os.write(1, b"\r\n")
        self._flush_partial()
        seconds = time.monotonic() - started
        if self._stopped is not None:
            how, reason = self._stopped
        else:
            how, reason = self.outcome.decide(child.exitstatus, child.signalstatus)
        return ShellResult(
            session_id=self.outcome.session_id or self.command.session_id,
            seconds=seconds,
            how=how,
            reason=reason,
            exit_status=child.exitstatus,
            signal_status=child.signalstatus,
        )

    def _drain(self, child: Any) -> None:
        # interact() stops as soon as the child is gone, possibly before its last lines
        # ("SessionId: X : reason") were read; those lines decide how the session ended.
        while True:
            try:
                data = child.read_nonblocking(65536, timeout=0.2)
            except (pexpect.EOF, pexpect.TIMEOUT, OSError):
                return
            if not data:
                return
            with contextlib.suppress(OSError):
                os.write(1, self._filter(data))


def kill_process(pid: int, grace: float, done: threading.Event) -> None:
    """SIGTERM, then SIGKILL if `done` (set by whoever reaps it) is not set after `grace` seconds.

    The reaping thread owns waitpid(); this one only sends signals, so the two never race for
    the exit status, and a reaped pid is never signalled again.
    """
    if done.is_set():
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    if done.wait(grace):
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
