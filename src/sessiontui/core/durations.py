"""Durations as operators type them, and the AWS rules that bound them."""

from __future__ import annotations

import re
from datetime import datetime

from sessiontui.core.errors import AuthError, UsageError

MIN_DURATION = 900  # AssumeRole's floor
CHAINED_MAX = 3600  # role chaining caps at one hour
DEFAULT_ROLE_MAX = 3600  # a role's MaxSessionDuration when nobody changed it
ABSOLUTE_MAX = 12 * 3600

_PART = re.compile(r"(\d+)\s*([hms]?)")
_UNITS = {"h": 3600, "m": 60, "s": 1, "": 1}


def parse_duration(text: str | int) -> int:
    """`900`, `900s`, `45m`, `2h`, `1h30m` -> seconds."""
    if isinstance(text, int):
        if text <= 0:
            raise UsageError(f"duration must be positive, got {text}")
        return text
    s = text.strip().lower().replace(" ", "")
    if not s or not re.fullmatch(r"(\d+[hms]?)+", s):
        raise UsageError(f"cannot read duration {text!r}", "write it as 900s, 45m, 2h or 1h30m")
    total = sum(int(n) * _UNITS[u] for n, u in _PART.findall(s))
    if total <= 0:
        raise UsageError(f"duration must be positive, got {text!r}")
    return total


def format_duration(seconds: int) -> str:
    """Short human form: 2h, 45m, 1h30m, 90s."""
    h, rest = divmod(int(seconds), 3600)
    m, s = divmod(rest, 60)
    out = (f"{h}h" if h else "") + (f"{m}m" if m else "") + (f"{s}s" if s else "")
    return out or "0s"


def format_remaining(seconds: float) -> str:
    """h:mm:ss, never negative."""
    total = max(0, int(seconds))
    h, rest = divmod(total, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}"


def remaining_seconds(expires_at: datetime, now: datetime) -> float:
    return max(0.0, (expires_at - now).total_seconds())


def check_duration(seconds: int, role_max: int | None, chained: bool) -> None:
    """Refuse what AWS would refuse, before spending an MFA code on it."""
    if seconds < MIN_DURATION:
        raise UsageError(f"duration {format_duration(seconds)} is below the AWS minimum of 15m")
    limit = role_max if role_max is not None else ABSOLUTE_MAX
    if seconds > limit:
        raise AuthError(
            f"duration {format_duration(seconds)} is over the role's maximum of "
            f"{format_duration(limit)}",
            "choose a shorter --duration",
        )
    if chained and seconds > CHAINED_MAX:
        raise AuthError(
            f"duration {format_duration(seconds)} is over 1h, the cap for a role assumed "
            "from role credentials (role chaining)",
            "choose --duration 1h or less, or assume from user credentials",
        )


def chaining_warning(chained: bool, seconds: int) -> str | None:
    if chained:
        return "assuming from role credentials: AWS caps role chaining at 1h"
    return None


# Countdown thresholds: a notice at 10 and 2 minutes; red in the last 2.
WARN_AT = (600, 120)
CRITICAL_BELOW = 120
