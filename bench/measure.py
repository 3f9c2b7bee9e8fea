"""Shared measuring helpers for the benchmark: percentiles and peak memory."""

from __future__ import annotations

import resource
import statistics


def p95(samples: list[float]) -> float:
    if not samples:
        return 0.0
    if len(samples) < 20:
        return max(samples)
    return statistics.quantiles(samples, n=20)[18]


def rss_mb() -> float:
    """This process's peak resident memory in MiB.

    VmHWM belongs to the process's own address space, which exec replaces. getrusage's ru_maxrss
    does not reset across fork and exec: a child would report its parent's peak instead.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
