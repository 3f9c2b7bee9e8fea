"""TOTP window maths: which 30-second window a moment falls in, and how long until the next.

AWS refuses an MFA code it has already accepted, so the app remembers the last *window* it used per
device (never the code) and waits for the next one. Pure functions over the injectable clock.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from sessiontui.core.clock import Clock

STEP = 30  # seconds per TOTP window (RFC 6238 default, what AWS virtual MFA devices use)


def window_of(timestamp: float, step: int = STEP) -> int:
    return int(timestamp // step)


def current_window(clock: Clock, step: int = STEP) -> int:
    return window_of(clock.time(), step)


def window_start(window: int, step: int = STEP) -> float:
    return float(window * step)


def seconds_left_in_window(clock: Clock, step: int = STEP) -> float:
    """How long the code shown now stays current (for the MFA modal's countdown)."""
    t = clock.time()
    return window_start(window_of(t, step) + 1, step) - t


def seconds_until_next_window(clock: Clock, step: int = STEP) -> float:
    """How long until a fresh code exists; the same instant as the end of the current window."""
    return seconds_left_in_window(clock, step)


def seconds_until_window(window: int, clock: Clock, step: int = STEP) -> float:
    return max(0.0, window_start(window, step) - clock.time())


def whole_seconds(seconds: float) -> int:
    """Seconds as a person counts them down: 0.2 s left is "1s", never "0s" while still waiting."""
    return max(1, math.ceil(seconds)) if seconds > 0 else 0


def wait_for_window(
    window: int,
    clock: Clock,
    sleep: Callable[[float], None],
    on_tick: Callable[[int], None] | None = None,
    step: int = STEP,
) -> None:
    """Block until `window` has begun, calling `on_tick(seconds_left)` about once a second.

    `sleep` is injected so tests can pass a fake clock's `advance`. `on_tick` may raise to cancel
    (the UI does so when the operator closes the modal).
    """
    while True:
        left = seconds_until_window(window, clock, step)
        if left <= 0 or current_window(clock, step) >= window:
            return
        if on_tick is not None:
            on_tick(whole_seconds(left))
        # sleep to the next whole-second boundary of the countdown, so ticks read 12, 11, 10, ...
        fraction = left - math.floor(left)
        sleep(fraction if fraction > 1e-6 else min(1.0, left))
