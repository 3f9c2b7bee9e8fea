"""What a running session is to the rest of the program: the registry of live sessions, the
one idempotent close (TerminateSession, journal, audit) and the watch that ends a session when its
access does. `supervisor.SessionSupervisor` makes them; the TUI and the signal handlers use them.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from sessiontui.aws.sessions import StartedSession, still_active, terminate_session
from sessiontui.core.clock import Clock
from sessiontui.core.errors import SessiontuiError
from sessiontui.core.forwards import Forward
from sessiontui.plugin.forward import ForwardRunner
from sessiontui.plugin.output import Ending
from sessiontui.plugin.shell import ShellRunner

if TYPE_CHECKING:
    from sessiontui.plugin.supervisor import SessionSupervisor

# Sessions end this long before the credentials do, so TerminateSession can still be signed.
EXPIRY_MARGIN = 5.0


class ManagedSession(Protocol):
    session_id: str
    target: str
    kind: str  # "shell" | "forward"

    def stop(self, how: Ending, reason: str) -> None: ...


class ActiveSessions:
    """Every session this process has open. Signal handlers and the TUI's quit end them all."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: dict[str, ManagedSession] = {}

    def add(self, session: ManagedSession) -> None:
        with self._lock:
            self._items[session.session_id] = session

    def remove(self, session: ManagedSession) -> None:
        with self._lock:
            self._items.pop(session.session_id, None)

    def sessions(self) -> list[ManagedSession]:
        with self._lock:
            return list(self._items.values())

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)

    def terminate_all(
        self, reason: str = "sessiontui is exiting", how: Ending = Ending.INTERRUPTED
    ) -> int:
        """Ask every session to stop; each one terminates itself server-side. Returns how many."""
        items = self.sessions()
        for s in items:
            with contextlib.suppress(Exception):
                s.stop(how, reason)
        return len(items)

    def expire_all(self, reason: str = "the role's credentials expired") -> int:
        return self.terminate_all(reason, Ending.EXPIRED)


ACTIVE_SESSIONS = ActiveSessions()


class Closer:
    """TerminateSession + audit, exactly once, from whichever thread gets there first."""

    def __init__(self, sup: SessionSupervisor, started: StartedSession, began: float) -> None:
        self._sup = sup
        self.started = started
        self._began = began
        self._lock = threading.Lock()
        self.done = False
        self.terminated: bool | None = None
        self.error = ""

    def close(self, how: str, reason: str, local_port: int | None = None) -> None:
        with self._lock:
            if self.done:
                return
            self.done = True
            interrupted: BaseException | None = None
            for _ in range(2):
                try:
                    self.terminated = terminate_session(self._sup.ssm, self.started.session_id)
                except SessiontuiError as e:
                    self.terminated = False
                    self.error = e.message
                except Exception as e:  # the way out must complete whatever AWS does
                    self.terminated = False
                    self.error = f"TerminateSession failed: {e}"
                except BaseException as e:
                    # SIGTERM/SIGHUP (ShutdownRequested) or Ctrl-C landed inside the call: the
                    # session must still end server-side, so try once more, then let it go on
                    interrupted = interrupted or e
                    continue
                break
            if (
                self.terminated is False
                and still_active(self._sup.ssm, self.started.session_id) is False
            ):
                # refused, but already over (the agent ends a shell that exits): nothing stays open
                self.terminated, self.error = True, ""
            if self.terminated:
                self._sup.journal_ended(self.started.session_id)
            elif self.terminated is False:
                self._sup.journal_left_open(
                    self.started.session_id, self.error or "TerminateSession was refused"
                )
            self._sup.audit_ended(
                self.started,
                how,
                time.monotonic() - self._began,
                reason,
                local_port,
                self.terminated,
            )
            if interrupted is not None:
                raise interrupted


class ExpiryWatch:
    """Stops a session when the credentials are about to expire. Polls so FakeClock works."""

    def __init__(
        self, clock: Clock, expires_at: datetime | None, on_expire: Callable[[], None]
    ) -> None:
        self._clock = clock
        self._expires_at = expires_at
        self._on_expire = on_expire
        self._cancel = threading.Event()
        if expires_at is not None:
            threading.Thread(target=self._run, name="credential-expiry", daemon=True).start()

    def _run(self) -> None:
        assert self._expires_at is not None
        while not self._cancel.is_set():
            left = (self._expires_at - self._clock.now()).total_seconds() - EXPIRY_MARGIN
            if left <= 0:
                self._on_expire()
                return
            self._cancel.wait(min(left, 1.0))

    def cancel(self) -> None:
        self._cancel.set()


class ShellSession:
    """A running shell, as the registry sees it."""

    kind = "shell"

    def __init__(self, started: StartedSession, runner: ShellRunner) -> None:
        self.session_id = started.session_id
        self.target = started.target
        self._runner = runner

    def stop(self, how: Ending, reason: str) -> None:
        self._runner.stop(how, reason)


class ForwardSession:
    """A running forward: the TUI keeps these; `stop()` ends it and terminates it server-side."""

    kind = "forward"

    def __init__(self, started: StartedSession, runner: ForwardRunner, closer: Closer) -> None:
        self.session_id = started.session_id
        self.target = started.target
        self.started = started
        self._runner = runner
        self._closer = closer

    @property
    def forward(self) -> Forward:
        return self._runner.forward

    @property
    def terminated(self) -> bool | None:
        return self._closer.terminated

    @property
    def terminate_error(self) -> str:
        return self._closer.error

    @property
    def output(self) -> list[str]:
        """The plugin's printed lines so far (for showing why a forward failed)."""
        return list(self._runner.output)

    def wait_ready(self, timeout: float | None = None) -> Forward:
        return self._runner.wait_ready(timeout)

    def wait(self, timeout: float | None = None) -> Forward:
        return self._runner.wait(timeout)

    def stop(self, how: Ending = Ending.STOPPED, reason: str = "stopped by the operator") -> None:
        """Blocks until the plugin is gone and TerminateSession was sent (a few seconds at most)."""
        self._runner.stop(how, reason)
        self._runner.wait(timeout=10)
