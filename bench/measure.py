"""Shared timing helpers for the benchmark: percentiles and Pilot-driven frame timing."""

from __future__ import annotations

import resource
import statistics
import time
from collections.abc import Awaitable, Callable


def p95(samples: list[float]) -> float:
    if not samples:
        return 0.0
    if len(samples) < 20:
        return max(samples)
    return statistics.quantiles(samples, n=20)[18]


def rss_mb() -> float:
    # ru_maxrss is KiB on Linux: the peak, which is what a user's machine has to have free
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def timed(
    action: Callable[[], Awaitable[None]], settle: Callable[[], Awaitable[None]]
) -> float:
    """Milliseconds from an input to the frame that shows its effect."""
    start = time.perf_counter()
    await action()
    await settle()
    return (time.perf_counter() - start) * 1000
