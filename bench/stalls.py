"""Where the event loop's stalls go: a watchdog thread samples the UI thread's stack while the
loop's heartbeat is late (BENCH_STALLS=1 in bench.live).

LagProbe says how long the worst stall was, not what it was. Every 2 ms this thread looks at the
heartbeat LagProbe's loop leaves; when it is more than LATE_MS old, the UI thread's innermost
frames are taken (sys._current_frames) and counted per stall. A stall whose samples all show one
function is that function's; one the watchdog could not sample at all held the GIL in C (a
sort, a json.dumps) or the machine did not run us.
"""

from __future__ import annotations

import sys
import threading
import time
import traceback
from collections import Counter
from typing import Any

LATE_MS = 20.0  # a heartbeat older than this is a stall
DEPTH = 8  # innermost frames kept per sample


class StallSampler:
    def __init__(self, thread_id: int) -> None:
        self.beat = time.perf_counter()
        self._thread_id = thread_id
        self._stop = threading.Event()
        self._stalls: list[dict[str, Any]] = []
        self._current: dict[str, Any] | None = None
        self._thread = threading.Thread(target=self._watch, name="stall-sampler", daemon=True)

    def start(self) -> None:
        self.beat = time.perf_counter()
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(1)
        self._close()

    def _close(self) -> None:
        if self._current is not None:
            self._stalls.append(self._current)
            self._current = None

    def _watch(self) -> None:
        last = time.perf_counter()
        while not self._stop.wait(0.002):
            now = time.perf_counter()
            gap = (now - last) * 1000  # this thread's own lateness: the GIL or the machine
            last = now
            late = (now - self.beat) * 1000
            if late < LATE_MS:
                self._close()
                continue
            frame = sys._current_frames().get(self._thread_id)
            stack = traceback.extract_stack(frame, limit=DEPTH) if frame is not None else []
            where = " <- ".join(
                f"{f.filename.rsplit('/', 2)[-1]}:{f.lineno}:{f.name}" for f in reversed(stack)
            )
            if self._current is None:
                self._current = {"since_ms": round(late, 1), "samples": Counter(), "gaps": []}
            self._current["ms"] = round(late, 1)
            self._current["samples"][where] += 1
            if gap > 10:
                self._current["gaps"].append(round(gap, 1))

    def worst(self, count: int = 8) -> list[dict[str, Any]]:
        """The longest stalls, each with its most sampled stacks and the sampler's own gaps."""
        self._close()
        out = []
        for stall in sorted(self._stalls, key=lambda s: -s["ms"])[:count]:
            out.append(
                {
                    "ms": stall["ms"],
                    "sampler_gaps_ms": stall["gaps"][:10],
                    "stacks": stall["samples"].most_common(4),
                }
            )
        return out
