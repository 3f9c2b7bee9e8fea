"""A session's true end: the earliest of credentials, max session and (without traffic) idle."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sessiontui.core.clock import FakeClock
from sessiontui.core.forwards import Forward
from sessiontui.core.session_end import (
    EndCause,
    SessionLimits,
    describe_end,
    session_end,
    shell_time_left,
)

START = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
LIMITS = SessionLimits(max_minutes=60, idle_minutes=20)


def forward(clock: FakeClock, credentials_left: float, limits: SessionLimits | None) -> Forward:
    return Forward(
        target="i-0abc",
        remote_port=5432,
        started_at=clock.now(),
        expires_at=clock.now() + timedelta(seconds=credentials_left),
        limits=limits,
        local_port=15432,
    )


def test_credentials_end_first() -> None:
    clock = FakeClock(START)
    fw = forward(clock, 600, LIMITS)
    fw.mark_connection(clock.now())  # traffic: idle does not count
    end = fw.session_end()
    assert end is not None and end.cause is EndCause.CREDENTIALS and end.because == "credentials"
    clock.advance(300)
    assert fw.remaining(clock.now()) == 300
    assert describe_end(end, clock.now()) == "0:05:00 (credentials)"
    clock.advance(900)
    assert fw.remaining(clock.now()) == 0


def test_max_session_ends_first_when_the_credentials_outlive_it() -> None:
    clock = FakeClock(START)
    fw = forward(clock, 2 * 3600, LIMITS)  # 2 h of credentials, the account's 60 min max
    fw.mark_connection(clock.now())
    clock.advance(25 * 60)
    end = fw.session_end()
    assert end is not None and end.cause is EndCause.MAX_SESSION
    assert end.because == "max session 60 min"
    assert end.at == START + timedelta(minutes=60)
    assert fw.remaining(clock.now()) == 35 * 60
    ready = fw.ready_json()
    assert ready["expires_at"] == "2026-12-01T14:00:00Z"  # still the credentials'
    assert ready["ends_at"] == "2026-12-01T13:00:00Z"
    assert ready["ends_because"] == "max session 60 min"


def test_idle_ends_first_for_a_forward_nobody_uses() -> None:
    clock = FakeClock(START)
    fw = forward(clock, 2 * 3600, LIMITS)
    end = fw.session_end()
    assert end is not None and end.cause is EndCause.IDLE and end.because == "idle"
    clock.advance(5 * 60)
    assert fw.remaining(clock.now()) == 15 * 60
    assert fw.ready_json()["ends_because"] == "idle"
    # a client came through: idle no longer predicts the end, the max session does
    fw.mark_connection(clock.now())
    after = fw.session_end()
    assert after is not None and after.cause is EndCause.MAX_SESSION


def test_idle_counts_from_the_last_traffic() -> None:
    clock = FakeClock(START)
    clock.advance(30 * 60)
    end = session_end(
        credentials_end=None,
        started_at=START,
        limits=LIMITS,
        idle=True,
        last_traffic_at=clock.now(),
    )
    # idle since 12:30 ends at 12:50, before the max session's 13:00
    assert end is not None and end.cause is EndCause.IDLE
    assert end.at == START + timedelta(minutes=50)


def test_nothing_known_nothing_ends_and_ties_go_to_credentials() -> None:
    assert session_end(credentials_end=None, started_at=START, limits=None, idle=True) is None
    assert describe_end(None, START) == "-"
    tie = session_end(
        credentials_end=START + timedelta(minutes=60),
        started_at=START,
        limits=SessionLimits(max_minutes=60),
        idle=False,
    )
    assert tie is not None and tie.cause is EndCause.CREDENTIALS


def test_shell_summary_says_what_was_left() -> None:
    clock = FakeClock(START)
    end = session_end(
        credentials_end=START + timedelta(hours=4), started_at=START, limits=LIMITS, idle=False
    )
    clock.advance(13 * 60)
    assert shell_time_left(end, clock.now()) == "; it had 0:47:00 left (max session 60 min)"
    clock.advance(3600)
    assert shell_time_left(end, clock.now()) == "; its max session 60 min end was reached"
    assert shell_time_left(None, clock.now()) == ""
