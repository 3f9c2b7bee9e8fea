"""Every port forward this run opened: started in workers, followed by state messages."""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from sessiontui.config import DEFAULT_READY_TIMEOUT
from sessiontui.core.durations import WARN_AT, format_remaining
from sessiontui.core.errors import SessionKindError, SessiontuiError
from sessiontui.core.node import Node
from sessiontui.core.session_end import EndCause, SessionEnd, describe_end, left_open
from sessiontui.ui.messages import ForwardChanged, ForwardFailed

if TYPE_CHECKING:
    from datetime import datetime

    from textual.app import App
    from textual.notifications import SeverityLevel

    from sessiontui.core.access import Access
    from sessiontui.core.forwards import Forward
    from sessiontui.plugin.healing import HealingForward
    from sessiontui.plugin.output import Ending
    from sessiontui.plugin.supervisor import SessionSupervisor
    from sessiontui.ui.access import ActiveAccess
    from sessiontui.ui.screens.forward import ForwardRequest

EXPIRED = "expired"  # plugin.output.Ending.EXPIRED, without importing pexpect for a constant
STOPPED = "stopped"


@dataclass
class ForwardEntry:
    key: int
    node: Node
    request: ForwardRequest
    reason: str | None
    # the access it was opened under: it lives until that access ends, whatever is taken since
    access: ActiveAccess | None = None
    forward: Any = None  # core.forwards.Forward snapshot, None until StartSession answered
    session: HealingForward | None = None
    error: str = ""
    restarted: bool = False  # an expired forward already started again
    warned: set[tuple[str, int]] = field(default_factory=set)  # (end cause, WARN_AT threshold)
    # a database's tunnel (the databases panel): its name, and its client's command for a local
    # port, signed in through the environment so it holds no secret
    database: str = ""
    client_for: Callable[[int], str] | None = None

    def client(self) -> str:
        fw = self.forward
        if fw is None or not fw.local_port:
            return ""
        return self.client_for(int(fw.local_port)) if self.client_for else str(fw.client)

    @property
    def running(self) -> bool:
        if self.error:
            return False
        return self.forward is None or not self.forward.ended

    @property
    def ended_by_expiry(self) -> bool:
        fw = self.forward
        return fw is not None and fw.ended and fw.how == EXPIRED and not self.restarted


class ForwardBook:
    def __init__(
        self,
        host: App[Any],
        supervisor_for: Callable[[str, ActiveAccess | None], SessionSupervisor],
        held_like: Callable[[ActiveAccess], ActiveAccess | None],
        ready_timeout: float = DEFAULT_READY_TIMEOUT,
    ) -> None:
        self.app = host
        # (region, access) -> plugin.supervisor.SessionSupervisor under that access (blocking)
        self.supervisor_for = supervisor_for
        # the access held now with time left that is the same as one a forward was opened under
        # (the same role or permission set, taken again), None when there is none
        self.held_like = held_like
        self.ready_timeout = ready_timeout
        self._entries: dict[int, ForwardEntry] = {}
        self._keys = itertools.count(1)
        # access name -> why AWS refused it a forward for the forward's document: the dialog
        # says so before asking for ports (a shell still opens with that access)
        self._refused: dict[str, str] = {}

    def refusal(self, who: str) -> str | None:
        """What AWS said when `who` (an access's name) was refused a port forward, if it was."""
        return self._refused.get(who)

    def entries(self) -> list[ForwardEntry]:
        return list(self._entries.values())

    def running_count(self) -> int:
        return sum(1 for e in self._entries.values() if e.running)

    def expired_count(self) -> int:
        return sum(1 for e in self._entries.values() if e.ended_by_expiry)

    # ---- when they end ---------------------------------------------------------------------

    def _live(self) -> list[tuple[ForwardEntry, SessionEnd]]:
        out = []
        for entry in self.entries():
            fw = entry.forward
            if entry.running and fw is not None:
                end = fw.session_end()
                if end is not None:
                    out.append((entry, end))
        return out

    def soonest_end(self) -> SessionEnd | None:
        """The first running forward's end, for the header."""
        ends = [end for _, end in self._live()]
        return min(ends, key=lambda e: e.at) if ends else None

    def lines_for(self, node: Node | None, now: datetime) -> list[tuple[str, str]]:
        """(label, "time left (what ends it)") of this node's running forwards, for the details."""
        if node is None:
            return []
        return [
            (f"forward :{entry.forward.local_port or '…'}", describe_end(end, now))
            for entry, end in self._live()
            if entry.node.id == node.id
        ]

    def tick(self) -> None:
        """Warn before a forward's own end, as the header does for the role's (WARN_AT)."""
        services = getattr(self.app, "services", None)
        clock = getattr(services, "clock", None)
        if clock is None:
            return
        now = clock.now()
        for entry, end in self._live():
            if end.cause is EndCause.CREDENTIALS:
                continue  # the role's own warnings say it, once for all its sessions
            left = end.remaining(now)
            for threshold in WARN_AT:
                if left <= threshold and (end.cause, threshold) not in entry.warned:
                    entry.warned.add((end.cause, threshold))
                    fw = entry.forward
                    self.app.notify(
                        f"127.0.0.1:{fw.local_port} → {fw.destination}: its session ends in "
                        f"{format_remaining(left)} ({end.because})",
                        title="forward ending",
                        severity="error" if threshold <= min(WARN_AT) else "warning",
                        timeout=15,
                    )

    def start(
        self,
        node: Node,
        request: ForwardRequest,
        reason: str | None,
        access: ActiveAccess | None = None,
        who: str = "",
    ) -> ForwardEntry:
        entry = ForwardEntry(next(self._keys), node, request, reason, access)
        self._entries[entry.key] = entry

        def work() -> None:
            def changed(fw: Forward) -> None:
                self.app.post_message(ForwardChanged(entry.key, fw.copy()))

            try:
                from sessiontui.plugin.healing import start_healing_forward

                supervisor = self.supervisor_for(node.region, access)
                session = start_healing_forward(
                    supervisor,
                    node,
                    request.remote_port,
                    host=request.host,
                    local_port=request.local_port or 0,
                    node_name=node.display_name,
                    reason=reason,
                    ready_timeout=self.ready_timeout,
                    on_change=changed,
                )
            except SessionKindError as exc:
                self._refused[who] = exc.message
                self.app.post_message(ForwardFailed(entry.key, "\n".join(exc.lines())))
                return
            except SessiontuiError as exc:
                self.app.post_message(ForwardFailed(entry.key, "\n".join(exc.lines())))
                return
            except Exception as exc:
                self.app.post_message(ForwardFailed(entry.key, f"{type(exc).__name__}: {exc}"))
                return
            entry.session = session
            self._refused.pop(who, None)  # the policy changed: forwards open again
            self.app.post_message(ForwardChanged(entry.key, session.forward.copy()))

        self.app.run_worker(work, thread=True, group="forwards", exit_on_error=False)
        target = (
            f"{request.host}:{request.remote_port}" if request.host else f":{request.remote_port}"
        )
        self.app.notify(f"starting forward to {node.display_name}{target}…", timeout=3)
        return entry

    def changed(self, message: ForwardChanged) -> None:
        entry = self._entries.get(message.key)
        if entry is None:
            return
        before = entry.forward
        fw = entry.forward = message.forward
        screen = getattr(self.app, "main_screen", None)
        if screen is not None:
            screen.show_forwards()
        was_ready = before is not None and before.is_ready
        was_ended = before is not None and before.ended
        if fw.healing and (before is None or before.healing != fw.healing):
            self.app.notify(
                f"127.0.0.1:{fw.local_port} → {fw.destination}: {fw.healing}",
                title="forward healing",
                severity="warning",
                timeout=8,
            )
        if before is not None and fw.heals > before.heals and fw.is_ready:
            self.app.notify(
                f"127.0.0.1:{fw.local_port} → {fw.destination}: new session {fw.session_id}",
                title="forward healed",
                timeout=8,
            )
        elif fw.is_ready and not was_ready:
            self.app.notify(
                f"127.0.0.1:{fw.local_port} → {fw.destination}   {entry.client()}",
                title=f"forward ready ({entry.node.display_name})",
                timeout=10,
            )
        if fw.ended and not was_ended:
            severity: SeverityLevel = "information" if fw.how == STOPPED else "warning"
            where = f"127.0.0.1:{fw.local_port}" if fw.local_port else "forward"
            self.app.notify(
                f"{where} → {fw.destination} ended: {fw.reason or fw.how}",
                title="forward ended",
                severity=severity,
                timeout=10,
            )
            session = entry.session
            if session is not None and session.terminated is False and fw.session_id:
                # AWS refused to end it and still lists it as active: which, until when, why
                why = session.terminate_error or "TerminateSession was refused"
                now = self.app.services.clock.now()  # type: ignore[attr-defined]
                self.app.notify(
                    left_open(fw.session_id, why, fw.session_end(), now),
                    title="session left open",
                    severity="warning",
                    timeout=30,
                )

    def failed(self, message: ForwardFailed) -> None:
        entry = self._entries.get(message.key)
        if entry is None:
            return
        entry.error = message.message
        self.app.notify(
            message.message,
            title=f"forward to {entry.node.display_name} failed",
            severity="error",
            timeout=12,
        )

    def stop(self, entry: ForwardEntry) -> None:
        session = entry.session
        if session is None or not entry.running:
            return

        def work() -> None:
            with contextlib.suppress(Exception):
                session.stop()

        self.app.run_worker(work, thread=True, group="forwards", exit_on_error=False)

    def stop_all_blocking(self, how: Ending, why: str, *, under: Access | None = None) -> int:
        """From a worker thread: stop every running forward (or those opened under the access
        `under`, a core.access.Access); returns how many were asked."""
        count = 0
        for entry in self.entries():
            if under is not None and (entry.access is None or entry.access.access is not under):
                continue
            if entry.session is not None and entry.running:
                with contextlib.suppress(Exception):
                    entry.session.stop(how, why)
                count += 1
        return count

    def restart_expired(self) -> int:
        waiting = [e for e in self.entries() if e.ended_by_expiry]
        if not waiting:
            self.app.notify("no forward was ended by expiry", timeout=3)
            return 0
        started = 0
        missing: list[str] = []
        for entry in waiting:
            # under its own access taken again, never under whatever is active now
            access = self.held_like(entry.access) if entry.access is not None else None
            if entry.access is not None and access is None:
                missing.append(entry.access.name)
                continue
            entry.restarted = True
            port = entry.forward.local_port or entry.request.local_port
            self.start(
                entry.node, replace(entry.request, local_port=port or 0), entry.reason, access
            )
            started += 1
        if missing:
            names = ", ".join(dict.fromkeys(missing))
            self.app.notify(
                f"take {names} again first (r): its forwards start again under it",
                severity="warning",
            )
        return started
