"""What the UI thread did in each timed step: its CPU time, the collector's passes and, when
traced, the timers that fired, the messages it handled, the frames, layouts and lines it drew.

A step's wall time on a shared machine moves with the machine; what the UI thread did in it does
not. Counting it per step is how the slow tail's causes are told from the machine's.
"""

from __future__ import annotations

import cProfile
import gc
import math
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any


def percentile(samples: list[float], q: float) -> float:
    """The q-th percentile (0-100), nearest-rank: a value that was measured, not interpolated."""
    if not samples:
        return 0.0
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def spread(samples: list[float]) -> dict[str, float]:
    """p50, p95, p99 and the worst, in the samples' unit, and how many there were."""
    return {
        "n": len(samples),
        "p50": round(percentile(samples, 50), 2),
        "p95": round(percentile(samples, 95), 2),
        "p99": round(percentile(samples, 99), 2),
        "max": round(max(samples, default=0.0), 2),
    }


@dataclass
class Step:
    kind: str  # "cursor" or "key"
    first_ms: float = 0.0  # to the first painted frame that shows the key's effect
    done_ms: float = 0.0  # to the frame after it: the details pane has caught up
    cpu_ms: float = 0.0  # the UI thread's CPU time over the whole step
    first_cpu_ms: float = 0.0  # the same, to the first painted frame (what the key waited for)
    # (generation, ms, CPU ms) per pass: on a shared machine the wall time moves, the CPU does not
    gc: list[tuple[int, float, float]] = field(default_factory=list)
    timers: Counter[str] = field(default_factory=Counter)
    messages: Counter[str] = field(default_factory=Counter)
    frames: int = 0
    layouts: int = 0
    lines: Counter[str] = field(default_factory=Counter)  # lines rendered per widget class

    def summary(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "kind": self.kind,
            "first_ms": round(self.first_ms, 2),
            "done_ms": round(self.done_ms, 2),
            "cpu_ms": round(self.cpu_ms, 2),
            "first_cpu_ms": round(self.first_cpu_ms, 2),
        }
        if self.gc:
            out["gc"] = [(g, round(ms, 2), round(cpu, 2)) for g, ms, cpu in self.gc]
        for name in ("timers", "messages", "lines"):
            counts = getattr(self, name)
            if counts:
                out[name] = dict(counts.most_common())
        if self.frames or self.layouts:
            out["frames"], out["layouts"] = self.frames, self.layouts
        return out


class StepTrace:
    """Counts per step. The collector's passes and CPU time always (they cost nothing); with
    `detailed`, Textual's timers, message dispatch, frames, layouts and line renders too, by
    wrapping its methods (which costs some time, so the detailed figures are for finding causes,
    not for the targets)."""

    def __init__(self, detailed: bool = False, profile: str = "") -> None:
        self.step: Step | None = None
        # with a path: one cProfile over every step's span (and nothing between), written there
        self._profile_path = profile
        self._profiler: cProfile.Profile | None = cProfile.Profile() if profile else None
        self.steps: list[Step] = []
        self._gc_started = (0.0, 0.0)
        self._cpu0 = 0.0
        gc.callbacks.append(self._on_gc)
        if detailed:
            self._wrap()

    def _on_gc(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._gc_started = (time.perf_counter(), time.thread_time())
        elif self.step is not None:
            wall, cpu = self._gc_started
            ms = (time.perf_counter() - wall) * 1000
            self.step.gc.append((info["generation"], ms, (time.thread_time() - cpu) * 1000))

    def begin(self, kind: str) -> None:
        self.step = Step(kind)
        self._cpu0 = time.thread_time()
        if self._profiler is not None:
            self._profiler.enable()

    def first_frame(self) -> None:
        """The key's first frame is painted: the CPU so far is what the key waited behind."""
        if self.step is not None:
            self.step.first_cpu_ms = (time.thread_time() - self._cpu0) * 1000

    def end(self, first_ms: float, done_ms: float) -> Step:
        if self._profiler is not None:
            self._profiler.disable()
        step = self.step
        assert step is not None
        step.cpu_ms = (time.thread_time() - self._cpu0) * 1000
        step.first_ms, step.done_ms = first_ms, done_ms
        self.steps.append(step)
        self.step = None
        return step

    def save_profile(self) -> None:
        if self._profiler is not None:
            self._profiler.dump_stats(self._profile_path)

    def slowest(self, kind: str, n: int = 10) -> list[dict[str, Any]]:
        mine = [s for s in self.steps if s.kind == kind]
        return [s.summary() for s in sorted(mine, key=lambda s: -s.done_ms)[:n]]

    def cpu(self, kind: str) -> dict[str, float]:
        """The spread of the UI thread's CPU time per step: what a busy machine moves least."""
        return spread([s.cpu_ms for s in self.steps if s.kind == kind])

    def first_cpu(self, kind: str) -> dict[str, float]:
        """The spread of the UI thread's CPU time per step up to its first painted frame: work
        put off to the frame after it shows in `cpu`, not here."""
        return spread([s.first_cpu_ms for s in self.steps if s.kind == kind])

    def collections(self, kind: str) -> dict[str, int]:
        """How many of these steps had a pass of each generation in them."""
        counts: Counter[str] = Counter()
        for s in self.steps:
            if s.kind == kind:
                counts.update({f"gen{g}": 1 for g in {g for g, _, _ in s.gc}})
        return dict(sorted(counts.items()))

    def median_step(self, kind: str) -> dict[str, Any]:
        mine = sorted((s for s in self.steps if s.kind == kind), key=lambda s: s.done_ms)
        return mine[len(mine) // 2].summary() if mine else {}

    def _wrap(self) -> None:
        from textual.message_pump import MessagePump
        from textual.screen import Screen
        from textual.timer import Timer
        from textual.widget import Widget

        trace = self
        tick, dispatch = Timer._tick, MessagePump._dispatch_message
        layout, frame = Screen._refresh_layout, Screen._compositor_refresh
        render_lines = Widget.render_lines

        async def traced_tick(timer: Timer, *, next_timer: float, count: int) -> None:
            if trace.step is not None:
                callback = timer._callback
                name = getattr(callback, "__qualname__", None) or timer.name
                trace.step.timers[str(name)] += 1
            await tick(timer, next_timer=next_timer, count=count)

        async def traced_dispatch(pump: MessagePump, message: Any) -> None:
            if trace.step is not None:
                trace.step.messages[f"{type(pump).__name__}.{type(message).__name__}"] += 1
            await dispatch(pump, message)

        def traced_layout(screen: Screen[Any], *args: Any, **kw: Any) -> None:
            if trace.step is not None:
                trace.step.layouts += 1
            layout(screen, *args, **kw)

        def traced_frame(screen: Screen[Any]) -> None:
            if trace.step is not None:
                trace.step.frames += 1
            frame(screen)

        def traced_render_lines(widget: Widget, crop: Any) -> Any:
            if trace.step is not None:
                trace.step.lines[type(widget).__name__] += crop.height
            return render_lines(widget, crop)

        Timer._tick = traced_tick  # type: ignore[method-assign,assignment]
        MessagePump._dispatch_message = traced_dispatch  # type: ignore[method-assign,assignment]
        Screen._refresh_layout = traced_layout  # type: ignore[method-assign,assignment]
        Screen._compositor_refresh = traced_frame  # type: ignore[method-assign,assignment]
        Widget.render_lines = traced_render_lines  # type: ignore[method-assign,assignment]
