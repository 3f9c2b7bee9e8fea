"""One injectable clock: the countdown, the cache and MFA windows all read the same time."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """Timezone-aware UTC now."""
        ...

    def time(self) -> float:
        """Seconds since the epoch, as time.time()."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    def time(self) -> float:
        return time.time()


class FakeClock:
    """A clock that only moves when told to; for tests, snapshots and the benchmark."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2026, 11, 21, 12, 0, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self._now

    def time(self) -> float:
        return self._now.timestamp()

    def advance(self, seconds: float) -> None:
        self._now += timedelta(seconds=seconds)

    def set(self, when: datetime) -> None:
        self._now = when


SYSTEM_CLOCK = SystemClock()
