"""The slow tenth's targets (issue 28), checked on the spread of each figure.

At rest (the cached fleet, bench.interact) and during a live refresh (bench.live), for cursor
steps: the first painted frame p95 <= 10 ms and p99 <= 20 ms, the completed step (the details
pane caught up) p95 <= 16 ms, one frame at 60 Hz, and no step over 50 ms; for keys into the
filter, the first painted frame p95 <= 30 ms.
"""

from __future__ import annotations

from typing import Any

LIMITS = (
    ("cursor_first_ms", "p95", 10),
    ("cursor_first_ms", "p99", 20),
    ("cursor_done_ms", "p95", 16),
    ("cursor_done_ms", "max", 50),
    ("key_first_ms", "p95", 30),
)


def checks(figures: dict[str, Any], prefix: str, where: str) -> dict[str, bool]:
    """Each limit against `figures[prefix + name]`, named `where.name.stat`."""
    return {
        f"{where}.{name}.{stat}": figures[prefix + name][stat] <= limit
        for name, stat, limit in LIMITS
    }


def steps_report(rest: dict[str, Any], live: dict[str, Any]) -> dict[str, Any]:
    """The figures the targets read, side by side, and which limits each met."""
    met = {**checks(rest, "", "rest"), **checks(live, "live_", "live")}
    return {
        "rest": {k: rest[k] for k in ("cursor_first_ms", "cursor_done_ms", "key_first_ms")},
        "live": {
            k: live[f"live_{k}"] for k in ("cursor_first_ms", "cursor_done_ms", "key_first_ms")
        },
        "after_refresh": {
            k: live[f"rest_{k}"] for k in ("cursor_first_ms", "cursor_done_ms", "key_first_ms")
        },
        "missed": sorted(k for k, ok in met.items() if not ok),
        "met": all(met.values()),
    }
