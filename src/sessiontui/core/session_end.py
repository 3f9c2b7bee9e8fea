"""When a session really ends, and why: the earliest of three ends.

- its credentials' end (a role's temporary credentials; sessiontui ends the session then),
- its own maximum duration (the account's Session Manager `maxSessionDuration`, counted from the
  session's start, as DescribeSessions reports it),
- for a session without traffic, the idle timeout (`idleSessionTimeout`, counted from the start or
  the last traffic seen).

Pure: no clock of its own; callers pass `now`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from sessiontui.core.durations import format_remaining


class EndCause(StrEnum):
    CREDENTIALS = "credentials"
    MAX_SESSION = "max session"
    IDLE = "idle"


@dataclass(frozen=True)
class SessionLimits:
    """The account's Session Manager limits for one session, in minutes; None when unknown."""

    max_minutes: int | None = None
    idle_minutes: int | None = None


@dataclass(frozen=True)
class SessionEnd:
    at: datetime
    cause: EndCause
    max_minutes: int | None = None

    @property
    def because(self) -> str:
        """What the operator reads: "credentials", "max session 60 min", "idle"."""
        if self.cause is EndCause.MAX_SESSION and self.max_minutes:
            return f"max session {self.max_minutes} min"
        return str(self.cause)

    def remaining(self, now: datetime) -> float:
        return max(0.0, (self.at - _aware(now)).total_seconds())


def session_end(
    *,
    credentials_end: datetime | None,
    started_at: datetime | None,
    limits: SessionLimits | None,
    idle: bool,
    last_traffic_at: datetime | None = None,
) -> SessionEnd | None:
    """The earliest end; None when nothing ends the session (long-lived keys, no limits known).

    `idle` says the session carries no traffic now (a forward nobody is connected through); the
    idle timeout then counts from the last traffic, or from the start when there was none. Ties
    go to the cause listed first in EndCause: credentials, then max session, then idle.
    """
    ends: list[SessionEnd] = []
    if credentials_end is not None:
        ends.append(SessionEnd(_aware(credentials_end), EndCause.CREDENTIALS))
    if limits is not None and started_at is not None:
        start = _aware(started_at)
        if limits.max_minutes:
            at = start + timedelta(minutes=limits.max_minutes)
            ends.append(SessionEnd(at, EndCause.MAX_SESSION, limits.max_minutes))
        if idle and limits.idle_minutes:
            since = _aware(last_traffic_at) if last_traffic_at is not None else start
            ends.append(SessionEnd(since + timedelta(minutes=limits.idle_minutes), EndCause.IDLE))
    if not ends:
        return None
    order = list(EndCause)
    return min(ends, key=lambda e: (e.at, order.index(e.cause)))


def _aware(when: datetime) -> datetime:
    return when if when.tzinfo else when.replace(tzinfo=UTC)  # naive means UTC in this project


def describe_end(end: SessionEnd | None, now: datetime) -> str:
    """`0:42:10 (max session 60 min)`: the time left and what ends it; "-" when nothing does."""
    if end is None:
        return "-"
    return f"{format_remaining(end.remaining(now))} ({end.because})"


def shell_time_left(end: SessionEnd | None, now: datetime | None) -> str:
    """`; it had 0:47:10 left (max session 60 min)` for a shell's summary; "" when unknown."""
    if end is None or now is None:
        return ""
    left = end.remaining(now)
    if left <= 0:
        return f"; its {end.because} end was reached"
    return f"; it had {format_remaining(left)} left ({end.because})"


def left_open(session_id: str, why: str, end: SessionEnd | None, now: datetime) -> str:
    """What the operator is told when AWS refused to end a session this access started: which
    session stays open, until when, and why (the SSO guide's permission sets cannot end their own
    sessions: `${aws:username}` is undefined for an assumed role)."""
    until = (
        f" until {end.at:%H:%M} UTC at the latest ({end.because})"
        if end is not None and end.cause is not EndCause.CREDENTIALS and end.at > _aware(now)
        else " until the account's idle timeout or maximum session duration ends it"
    )
    return (
        f"session {session_id} stays open on AWS{until}: this access may not end it ({why}); "
        "sessiontui ends it at its next start with credentials that may"
    )
