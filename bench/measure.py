"""Shared measuring helpers for the benchmark: percentiles and peak memory."""

from __future__ import annotations

import compileall
import math
import resource
import statistics
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sessiontui.core.node import Node


def p95(samples: list[float]) -> float:
    if not samples:
        return 0.0
    if len(samples) < 20:
        return max(samples)
    return statistics.quantiles(samples, n=20)[18]


class Steal:
    """The share of this machine's CPU time that its hypervisor gave to other guests meanwhile
    (/proc/stat's steal), in percent: a contended host slows every figure, the TUI's own work
    included (measured: a rest cursor p95 of 15 ms at 12.5 % steal, against 5.5 ms at none)."""

    def __init__(self) -> None:
        self._start = self._read()

    @staticmethod
    def _read() -> tuple[int, int]:
        try:
            with open("/proc/stat", encoding="ascii") as fh:
                fields = [int(v) for v in fh.readline().split()[1:9]]
        except (OSError, ValueError):
            return 0, 0
        return fields[7], sum(fields)

    def percent(self) -> float:
        steal, total = self._read()
        spent = total - self._start[1]
        return round(100 * (steal - self._start[0]) / spent, 1) if spent > 0 else 0.0


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


def launches_and_keys(child: Any, env: dict[str, str], root: Path, launches: int) -> dict[str, Any]:
    """First frame over `launches` real launches (median and every run), then keystrokes, cursor
    steps and peak memory on the same cache: the figures both bench runs report alike."""
    # An installed sessiontui starts from compiled bytecode (pip compiles at install); an
    # editable checkout under PYTHONDONTWRITEBYTECODE would compile every changed module on
    # every launch and time the compiler instead.
    compileall.compile_dir(str(root / "src" / "sessiontui"), quiet=1)
    print(f"first frame ({launches} launches)...", file=sys.stderr, flush=True)
    frames = [
        child("bench.first_frame", env, repr(time.time()))["first_frame_s"] for _ in range(launches)
    ]
    print("keystrokes and cursor...", file=sys.stderr, flush=True)
    ui = child("bench.interact", env)
    return {
        "first_frame_s": round(statistics.median(frames), 3),
        "first_frame_runs_s": [round(f, 3) for f in frames],
        "keystroke_p95_ms": ui["keystroke_p95_ms"],
        "cursor_p95_ms": ui["cursor_p95_ms"],
        "rss_mb": ui["rss_mb"],
        "interact": ui,
    }


def get_resources_floor(region_nodes: list[Node]) -> int:
    """Tagging API GetResources pages for one region's (and account's) hybrid nodes' tags: 100
    tagged nodes a page, one page where any hybrid node is (a region without any asks nothing)."""
    hybrids = [n for n in region_nodes if n.is_hybrid]
    if not hybrids:
        return 0
    return max(1, math.ceil(sum(bool(n.tags) for n in hybrids) / 100))
