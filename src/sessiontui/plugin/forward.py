"""Run the plugin for a port forward in the background: watch its lines, keep a watchdog on it."""

from __future__ import annotations

import contextlib
import shutil
import socket
import threading
from collections.abc import Callable
from typing import Any

import pexpect

from sessiontui.core.clock import SYSTEM_CLOCK, Clock
from sessiontui.core.errors import PluginError, PortInUseError
from sessiontui.core.forwards import Forward
from sessiontui.plugin.command import PluginCommand
from sessiontui.plugin.output import Ending, LineKind, LineSplitter, Outcome, PluginLine, parse_line
from sessiontui.plugin.scratch import make_scratch, scratch_base, sweep_stale
from sessiontui.plugin.shell import STOP_GRACE, kill_process

DEFAULT_READY_TIMEOUT = 30.0

ForwardListener = Callable[[Forward], None]


def check_local_port(port: int | None) -> None:
    """PortInUseError (exit 6) when something already listens on 127.0.0.1:port.

    The plugin would hang silently instead of saying so. SO_REUSEADDR mirrors how the plugin
    binds, so a port only lingering in TIME_WAIT is not reported as busy.
    """
    if not port:
        return
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError as e:
            raise PortInUseError(
                f"local port {port} is already in use",
                "choose another local port, or 0 to let the plugin pick one",
            ) from e


class ForwardRunner:
    """One plugin process for a port forward.

    `on_change` gets a copy of the Forward on every state change, from the reader thread (the TUI
    posts a message from it). `on_end(forward)` runs once, after the plugin is gone, whatever ended
    it: the supervisor terminates the session server-side there.
    """

    def __init__(
        self,
        command: PluginCommand,
        forward: Forward,
        *,
        ready_timeout: float = DEFAULT_READY_TIMEOUT,
        on_change: ForwardListener | None = None,
        on_end: ForwardListener | None = None,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self.command = command
        self._forward = forward
        self._forward.mark_session(command.session_id)
        self.ready_timeout = ready_timeout
        self._on_change = on_change
        self._on_end = on_end
        self._clock = clock
        self.outcome = Outcome()
        self._lock = threading.RLock()
        self._child: Any = None
        self._stopped: tuple[Ending, str] | None = None
        self._ready = threading.Event()
        self._ended = threading.Event()
        self._settled = threading.Event()  # ready or ended, whichever comes first
        self._reaped = threading.Event()
        self._reader: threading.Thread | None = None
        self._watchdog: threading.Timer | None = None
        self.output: list[str] = []  # every line the plugin printed, for error reports
        self.scratch: str | None = None  # the plugin's own TMPDIR, gone when it is

    # --- public ------------------------------------------------------------------------------

    @property
    def forward(self) -> Forward:
        """A snapshot; the live object is only touched under the lock."""
        with self._lock:
            return self._forward.copy()

    @property
    def pid(self) -> int | None:
        return self._child.pid if self._child is not None else None

    def start(self) -> None:
        argv = self.command.argv
        # AWS's plugin leaves its smux socket in $TMPDIR when killed (as our stop does): a private
        # folder per forward, removed once the plugin is gone; those of a SIGKILLed sessiontui
        # are swept here, at the next forward's start (plugin/scratch.py)
        base = scratch_base()
        sweep_stale(base)
        self.scratch = make_scratch(base)
        env = {**self.command.env, "TMPDIR": self.scratch}
        try:
            child = pexpect.spawn(argv[0], argv[1:], env=env, echo=False, timeout=None)
        except (pexpect.ExceptionPexpect, OSError) as e:
            shutil.rmtree(self.scratch, ignore_errors=True)
            raise PluginError(f"cannot start session-manager-plugin: {e}") from e
        with self._lock:
            self._child = child
            self._forward.started_at = self._forward.started_at or self._clock.now()
        self._reader = threading.Thread(
            target=self._read_loop, name=f"plugin-{self.command.session_id}", daemon=True
        )
        self._reader.start()
        if self.ready_timeout > 0:
            self._watchdog = threading.Timer(self.ready_timeout, self._watchdog_fired)
            self._watchdog.daemon = True
            self._watchdog.start()

    def wait_ready(self, timeout: float | None = None) -> Forward:
        """Until ready or ended (check `.is_ready` / `.ended` on the result)."""
        self._settled.wait(timeout)
        return self.forward

    def wait(self, timeout: float | None = None) -> Forward:
        """Until the forward has ended and on_end has run."""
        self._ended.wait(timeout)
        return self.forward

    def stop(
        self,
        how: Ending = Ending.STOPPED,
        reason: str = "stopped by the operator",
        grace: float = STOP_GRACE,
    ) -> None:
        """SIGTERM the plugin (SIGKILL after `grace`); the reader thread then finishes the forward."""
        with self._lock:
            if self._stopped is None and not self._forward.ended:
                self._stopped = (how, reason)
            child = self._child
        if child is None or self._reaped.is_set():
            return
        kill_process(child.pid, grace, self._reaped)

    # --- threads -----------------------------------------------------------------------------

    def _watchdog_fired(self) -> None:
        if self._ready.is_set() or self._ended.is_set():
            return
        self.stop(Ending.WATCHDOG, f"no ready line in {self.ready_timeout:g}s", grace=1.0)

    def _notify(self) -> None:
        if self._on_change is None:
            return
        snapshot = self.forward
        with contextlib.suppress(Exception):  # a listener's bug must not kill the reader thread
            self._on_change(snapshot)

    def _handle(self, line: PluginLine) -> None:
        self.outcome.observe(line)
        changed = False
        with self._lock:
            fw = self._forward
            if line.kind is LineKind.PORT_OPENED and line.port is not None:
                changed = fw.mark_ready(line.port)
            elif line.kind is LineKind.CONNECTION_ACCEPTED:
                changed = fw.mark_connection(self._clock.now())
            elif line.kind is LineKind.STARTING and line.session_id:
                changed = fw.mark_session(line.session_id)
        if line.kind is LineKind.PORT_OPENED:
            self._ready.set()
            self._settled.set()
            if self._watchdog is not None:
                self._watchdog.cancel()
        if changed:
            self._notify()

    def _feed_lines(self, lines: list[str]) -> None:
        for text in lines:
            if text.strip():
                self.output.append(text)
                del self.output[:-200]
            parsed = parse_line(text)
            if parsed is not None:
                self._handle(parsed)

    def _read_loop(self) -> None:
        child = self._child
        splitter = LineSplitter()
        try:
            while True:
                try:
                    data = child.read_nonblocking(65536, timeout=0.5)
                except pexpect.TIMEOUT:
                    # Old agents end the "Port N opened" line with nothing after it for a while.
                    partial = parse_line(splitter.partial)
                    if partial is not None and partial.kind is LineKind.PORT_OPENED:
                        self._feed_lines([splitter.take_partial()])
                    continue
                except (pexpect.EOF, OSError):
                    break
                self._feed_lines(splitter.feed(data))
            self._feed_lines([splitter.take_partial()])
        finally:
            with contextlib.suppress(Exception):
                child.close(force=True)
            if self.scratch is not None:
                shutil.rmtree(self.scratch, ignore_errors=True)
            self._reaped.set()
            self._finish(child.exitstatus, child.signalstatus)

    def _finish(self, exit_status: int | None, signal_status: int | None) -> None:
        if self._watchdog is not None:
            self._watchdog.cancel()
        with self._lock:
            if self._stopped is not None:
                how, reason = self._stopped
            else:
                how, reason = self.outcome.decide(exit_status, signal_status)
            self._forward.mark_ended(how, reason, self._clock.now())
            snapshot = self._forward.copy()
        if self._on_end is not None:
            with contextlib.suppress(Exception):
                self._on_end(snapshot)
        self._ended.set()
        self._settled.set()
        self._notify()
