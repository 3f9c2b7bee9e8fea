"""A port forward as the operator sees it: where it listens, what it reaches, how it is doing.

Pure model: the plugin runner feeds it what the plugin printed; the TUI and the CLI read it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sessiontui.core.session_end import SessionEnd, SessionLimits, session_end

LOCALHOST = "127.0.0.1"


class ForwardState(StrEnum):
    STARTING = "starting"  # StartSession done, plugin running, no "Port N opened" yet
    READY = "ready"  # the plugin listens on the local port
    CONNECTED = "connected"  # at least one local client came through
    ENDED = "ended"


def client_hint(remote_port: int, local_port: int) -> str:
    """What an operator would type to use the forward, guessed from the well-known remote port."""
    if remote_port == 5432:
        return f"psql -h {LOCALHOST} -p {local_port}"
    if remote_port == 3306:
        return f"mysql -h {LOCALHOST} -P {local_port}"
    if remote_port == 6379:
        return f"redis-cli -p {local_port}"
    if remote_port in (80, 8080):
        return f"http://{LOCALHOST}:{local_port}"
    if remote_port == 443:
        return f"https://{LOCALHOST}:{local_port}"
    return f"{LOCALHOST}:{local_port}"


@dataclass
class Forward:
    """One forward's state. Transitions only move forward; ENDED is final."""

    target: str
    remote_port: int
    host: str | None = None  # a host behind the node (RDS, cache); None: the node itself
    requested_local_port: int = 0  # 0: the plugin picks one
    node_name: str = ""
    region: str = ""
    session_id: str | None = None
    local_port: int | None = None  # known once the plugin printed "Port N opened"
    state: ForwardState = ForwardState.STARTING
    reason: str = ""  # why it ended, in the operator's words
    how: str = ""  # machine-readable ending (see plugin.output.Ending)
    connections: int = 0
    started_at: datetime | None = None
    ended_at: datetime | None = None
    expires_at: datetime | None = None  # when the role's credentials end; the forward dies then
    limits: SessionLimits | None = None  # the account's max session / idle timeout, when known
    last_traffic_at: datetime | None = None  # the last local client that came through
    heals: int = 0  # new sessions started on the same port after the server ended one
    healing: str = ""  # while a new session is being started: what happened, in plain words

    @property
    def ended(self) -> bool:
        return self.state is ForwardState.ENDED

    @property
    def is_ready(self) -> bool:
        return self.state in (ForwardState.READY, ForwardState.CONNECTED)

    @property
    def client(self) -> str:
        """`psql -h 127.0.0.1 -p 15432` and the like; "" until the local port is known."""
        if self.local_port is None:
            return ""
        return client_hint(self.remote_port, self.local_port)

    @property
    def destination(self) -> str:
        where = self.host or self.node_name or self.target
        return f"{where}:{self.remote_port}"

    def session_end(self) -> SessionEnd | None:
        """The session's real end: credentials, max session or (nobody connected yet) idle."""
        return session_end(
            credentials_end=self.expires_at,
            started_at=self.started_at,
            limits=self.limits,
            idle=self.connections == 0,
            last_traffic_at=self.last_traffic_at,
        )

    def remaining(self, now: datetime) -> float | None:
        """Seconds until the session's real end (see session_end); None when nothing ends it."""
        end = self.session_end()
        return None if end is None else end.remaining(now)

    def copy(self) -> Forward:
        return replace(self)

    # Transitions: return True when the state changed, so callers know whether to notify.

    def mark_session(self, session_id: str) -> bool:
        if self.ended or self.session_id == session_id:
            return False
        self.session_id = session_id
        return True

    def mark_ready(self, local_port: int) -> bool:
        if self.ended or self.is_ready:
            return False
        self.local_port = local_port
        self.state = ForwardState.READY
        return True

    def mark_connection(self, when: datetime | None = None) -> bool:
        if self.ended:
            return False
        self.connections += 1
        self.last_traffic_at = when or self.last_traffic_at
        self.state = ForwardState.CONNECTED
        return True

    def mark_ended(self, how: str, reason: str, when: datetime | None = None) -> bool:
        if self.ended:
            return False
        self.state = ForwardState.ENDED
        self.how = how
        self.reason = reason
        self.ended_at = when
        return True

    def ready_json(self) -> dict[str, Any]:
        """The `--connect --forward --json` ready line (design.md)."""
        end = self.session_end()
        return {
            "session_id": self.session_id,
            "target": self.target,
            "local_port": self.local_port,
            "host": self.host,
            "remote_port": self.remote_port,
            "expires_at": _iso(self.expires_at),
            "ends_at": _iso(end.at) if end else None,
            "ends_because": end.because if end else None,
        }


def _iso(when: datetime | None) -> str | None:
    if when is None:
        return None
    aware = when if when.tzinfo else when.replace(tzinfo=UTC)  # naive means UTC in this project
    return aware.astimezone(UTC).isoformat().replace("+00:00", "Z")
