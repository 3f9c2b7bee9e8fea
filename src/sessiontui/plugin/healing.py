"""A port forward that outlives its sessions: when the server ends one (max session duration,
idle timeout, network loss) while the credentials are valid, a new session is started on the same
local port, with backoff and a limit (core.healing), so the operator's client keeps its address.

It wraps the supervisor's ForwardSession and has the same surface (forward, wait_ready, wait,
stop, terminated, output), so the CLI and the TUI hold one object per forward whatever happens
underneath. Each session underneath is still started, journalled and terminated by the
supervisor exactly as before.
"""

from __future__ import annotations

import contextlib
import threading
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from sessiontui.core.errors import SessiontuiError
from sessiontui.core.forwards import Forward, ForwardState
from sessiontui.core.healing import BACKOFF, should_heal, why_not
from sessiontui.plugin.forward import DEFAULT_READY_TIMEOUT, ForwardListener
from sessiontui.plugin.output import Ending

if TYPE_CHECKING:
    from sessiontui.core.node import Node
    from sessiontui.plugin.supervisor import ForwardSession, SessionSupervisor


class HealingForward:
    kind = "forward"

    def __init__(
        self,
        sup: SessionSupervisor,
        target: str | Node,
        remote_port: int,
        *,
        host: str | None = None,
        local_port: int | None = 0,
        node_name: str = "",
        reason: str | None = None,
        ready_timeout: float = DEFAULT_READY_TIMEOUT,
        on_change: ForwardListener | None = None,
        backoff: tuple[float, ...] = BACKOFF,
    ) -> None:
        self._sup = sup
        self._target = target
        self._kwargs: dict[str, Any] = {
            "host": host,
            "node_name": node_name,
            "reason": reason,
            "ready_timeout": ready_timeout,
        }
        self._remote_port = remote_port
        self._port = local_port or 0
        self._on_change = on_change
        self._backoff = backoff
        self._lock = threading.RLock()
        self._stopping = threading.Event()
        self._stopped_as: tuple[Ending, str] | None = None
        self._final = threading.Event()
        self._healing = False
        self._heals = 0
        self._note = ""
        self._last: Forward | None = None
        self._current: ForwardSession | None = None

    # --- the surface of a ForwardSession -----------------------------------------------------

    def start(self) -> HealingForward:
        self._current = self._start_one(self._port)
        return self

    @property
    def session_id(self) -> str:
        return self._session().session_id

    @property
    def target(self) -> str:
        return self._session().target

    @property
    def forward(self) -> Forward:
        """The live session's forward; while healing or once over, the last state said."""
        with self._lock:
            last = self._last
            if last is not None and (self._healing or self._final.is_set()):
                return last.copy()
        fw = self._decorate(self._session().forward)
        if fw.ended and not self._final.is_set() and last is not None and not last.ended:
            # the session ended and we have not yet decided whether it heals: not over yet
            return last.copy()
        return fw

    @property
    def heals(self) -> int:
        return self._heals

    @property
    def terminated(self) -> bool | None:
        return self._session().terminated

    @property
    def terminate_error(self) -> str:
        return self._session().terminate_error

    @property
    def output(self) -> list[str]:
        return self._session().output

    def wait_ready(self, timeout: float | None = None) -> Forward:
        # the session's own answer: our listener may not have heard of "ready" yet
        return self._decorate(self._session().wait_ready(timeout))

    def wait(self, timeout: float | None = None) -> Forward:
        self._final.wait(timeout)
        with self._lock:
            if self._final.is_set() and self._last is not None:
                return self._last.copy()
        return self.forward

    def stop(self, how: Ending = Ending.STOPPED, reason: str = "stopped by the operator") -> None:
        with self._lock:
            if self._stopped_as is None:
                self._stopped_as = (how, reason)
            self._stopping.set()
            current = self._current
        if current is not None:
            current.stop(how, reason)
        self._final.wait(timeout=10)

    # --- internals -----------------------------------------------------------------------------

    def _session(self) -> ForwardSession:
        assert self._current is not None, "start() first"
        return self._current

    def _start_one(self, port: int) -> ForwardSession:
        return self._sup.start_forward(
            self._target,
            self._remote_port,
            local_port=port,
            on_change=self._changed,
            **self._kwargs,
        )

    def _decorate(self, fw: Forward) -> Forward:
        fw = fw.copy()
        fw.heals = self._heals
        fw.healing = self._note if self._healing else ""
        return fw

    def _emit(self, fw: Forward) -> None:
        with self._lock:
            self._last = fw
        if self._on_change is not None:
            with contextlib.suppress(Exception):
                self._on_change(fw.copy())

    def _credentials_left(self) -> float | None:
        # the access's real end (an Identity Center session, a request) when sooner
        exp = self._sup.session_ends_at
        if exp is None:
            return None
        return (exp - self._sup.clock.now()).total_seconds()

    def _changed(self, fw: Forward) -> None:
        with self._lock:
            if fw.is_ready and fw.local_port:
                self._port = fw.local_port
            healing = self._healing
        if not fw.ended:
            self._emit(self._decorate(fw))
            return
        if healing:
            return  # the heal loop looks at the session it started itself
        left = self._credentials_left()
        was_ready = bool(fw.local_port)  # a session that never listened is a start problem
        if (
            was_ready
            and not self._stopping.is_set()
            and should_heal(fw.how, fw.reason, left, self._heals)
        ):
            with self._lock:
                self._healing = True
                self._note = f"the server ended its session ({fw.reason}); starting a new one"
            pending = replace(self._decorate(fw), state=ForwardState.STARTING, how="", reason="")
            pending.ended_at = None
            self._emit(pending)
            threading.Thread(
                target=self._heal, args=(fw,), name="forward-heal", daemon=True
            ).start()
            return
        self._finish(fw, why_not(fw.how, fw.reason, left, self._heals))

    def _finish(self, fw: Forward, note: str = "") -> None:
        final = self._decorate(fw)
        final.healing = ""
        if not final.ended:
            how, reason = self._stopped_as or (Ending.STOPPED, "stopped by the operator")
            final.mark_ended(str(how), reason, self._sup.clock.now())
        if note:
            final.reason = f"{final.reason}; {note}"
        self._emit(final)
        self._final.set()

    def _heal(self, ended: Forward) -> None:
        last = ended
        for attempt, delay in enumerate(self._backoff, 1):
            if self._stopping.wait(delay):
                break
            left = self._credentials_left()
            if not should_heal(last.how, last.reason, left, self._heals):
                self._healing_done()
                self._finish(last, why_not(last.how, last.reason, left, self._heals))
                return
            try:
                session = self._start_one(self._port)
            except SessiontuiError as e:
                self._retry_note(attempt, e.message)
                continue
            with self._lock:
                self._current = session
                self._heals += 1
            if self._stopping.is_set():
                session.stop(*(self._stopped_as or (Ending.STOPPED, "stopped by the operator")))
                break
            fw = session.wait_ready(float(self._kwargs["ready_timeout"]) + 5)
            if fw.is_ready and not fw.ended:
                self._healing_done()
                self._emit(self._decorate(session.forward))
                if session.forward.ended:  # it died while we looked: judge it as any end
                    self._changed(session.forward)
                return
            last = session.wait(timeout=10)
            self._retry_note(attempt, last.reason or str(last.how))
        self._healing_done()
        if self._stopping.is_set():
            fw = self._session().forward
            if self._stopped_as is not None:  # stopped while waiting: that is how it ended
                fw.how, fw.reason = str(self._stopped_as[0]), self._stopped_as[1]
            self._finish(fw)
            return
        self._finish(last, f"gave up after {len(self._backoff)} tries to start a new session")

    def _retry_note(self, attempt: int, why: str) -> None:
        with self._lock:
            self._note = f"new session failed ({why}); try {attempt + 1}/{len(self._backoff)}"
            last = self._last
        if last is not None:
            self._emit(self._decorate(last))

    def _healing_done(self) -> None:
        with self._lock:
            self._healing = False
            self._note = ""


def start_healing_forward(sup: SessionSupervisor, *args: Any, **kwargs: Any) -> HealingForward:
    """`sup.start_forward`, healing: same arguments, same kind of answer."""
    return HealingForward(sup, *args, **kwargs).start()
