"""Child process: cursor steps and keystrokes while the real listing streams in, then after it.

argv[1] is "child" (the TUI's listing in its own process, as shipped) or "inline" (the listing in
the TUI's interpreter, as before), so one bench run compares them. The app starts on the cached
fleet, as an operator's does, and its start-up refresh lists the sandbox for real (every account,
with the organisation run's BENCH_ARGS roles). While rows stream in, rounds of ten filter keys and
ten cursor steps (one every ~30 ms), and the operator's refresh again when a listing ends, until
each figure has BENCH_STEPS samples (400); a loop-lag probe (a 5 ms sleep, and how late it wakes)
records the longest stall of the event loop. When the listing has finished the same is measured
again at rest. Each figure is a spread (p50, p95, p99, worst) of the first painted frame and of
the completed step. Prints one JSON line.

The app starts as `sessiontui` does: the collector paused until the first frame (cli._run). From
typing in the filter to arrowing, a tenth of a second passes, as for a person.
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import sys
import threading
import time
from typing import Any

from bench.interact import PAUSE, QUERY, STEPS, TRACE, _settled, figures
from bench.measure import Steal, p95
from bench.stalls import StallSampler
from bench.steps import StepTrace

STALLS = os.environ.get("BENCH_STALLS") == "1"


def _services(mode: str) -> Any:
    from sessiontui.cli import build_parser
    from sessiontui.runtime import Runtime
    from sessiontui.ui.launch import services_from_runtime

    # the organisation run's --role per account (bench/org.py): taken after the first frame, as
    # an operator's are, and every account listed for real
    args = build_parser().parse_args(json.loads(os.environ.get("BENCH_ARGS", "[]")))
    rt = Runtime.open(args).__enter__()
    services = services_from_runtime(rt)
    if mode == "inline":
        from sessiontui.aws.inventory import list_fleet

        def inline(factory: Any, regions: list[str], **kw: Any) -> Any:
            return list_fleet(factory, regions, **kw)

        services.list_fleet = inline
        services.list_fleets = None  # every account inline too
    # the whole cached fleet before the refresh, as after a first launch
    loaded = rt.inventory_cache().load()
    services.cached_nodes = list(loaded[0]) if loaded else None
    services.cached_rest = None
    return services


class LagProbe:
    """How late a short sleep wakes: the event loop's longest stall, in ms."""

    def __init__(self) -> None:
        self.worst = 0.0
        self.samples: list[float] = []
        self._task: asyncio.Task[None] | None = None
        self.stalls: StallSampler | None = None  # with BENCH_STALLS=1: what the stalls were

    async def _run(self) -> None:
        while True:
            start = time.perf_counter()
            if self.stalls is not None:
                self.stalls.beat = start
            await asyncio.sleep(0.005)
            late = (time.perf_counter() - start) * 1000 - 5
            self.samples.append(late)
            self.worst = max(self.worst, late)

    def start(self) -> None:
        self.worst, self.samples = 0.0, []
        self._task = asyncio.get_running_loop().create_task(self._run())
        if STALLS:
            self.stalls = StallSampler(threading.get_ident())
            self.stalls.start()

    def stop(self) -> float:
        if self._task is not None:
            self._task.cancel()
        if self.stalls is not None:
            self.stalls.stop()
        return round(self.worst, 1)

    def worst_stalls(self) -> list[dict[str, Any]]:
        return self.stalls.worst() if self.stalls is not None else []


Samples = tuple[list[float], list[float]]  # first painted frame, completed step (ms)


async def _cursor_steps(
    app: Any, nodes: Any, until: Any, limit: int, trace: StepTrace, out: Samples
) -> None:
    taken = 0
    while taken < limit and not until():
        if nodes.cursor >= nodes.visible_count - 2:
            nodes.move_cursor(0)
            await asyncio.sleep(0.02)
        # rows arriving move the cursor's index but keep its node: a step is the node changing
        before = nodes.selected_node
        frame, done = await _settled(
            app, lambda b=before: nodes.selected_node is not b, "down", None, trace
        )
        out[0].append(frame)
        out[1].append(done)
        taken += 1
        await asyncio.sleep(0.01)  # with _settled's own 20 ms: a step every ~30 ms


async def _keys(app: Any, pilot: Any, nodes: Any, trace: StepTrace, out: Samples) -> None:
    await pilot.press("slash")
    await pilot.pause()
    field = app.screen.query_one("#filter")
    for ch in QUERY:
        want = field.value + ch
        frame, done = await _settled(
            app,
            lambda w=want: nodes.current_query.text == w,
            ch if ch.isalnum() else "minus",
            ch,
            trace,
            "key",
        )
        out[0].append(frame)
        out[1].append(done)
    for _ in QUERY:
        want = field.value[:-1]
        frame, done = await _settled(
            app, lambda w=want: nodes.current_query.text == w, "backspace", None, trace, "key"
        )
        out[0].append(frame)
        out[1].append(done)
    await pilot.press("escape")
    await pilot.pause()
    nodes.focus()
    # from typing to arrowing takes a person a tenth of a second or more: the focus change's
    # repaint (footer, list) is not the first cursor step's
    await asyncio.sleep(0.1)


async def run(mode: str, steps: int) -> dict[str, Any]:
    from sessiontui.ui.app import SessiontuiApp
    from sessiontui.ui.widgets.node_list import NodeList

    # as `sessiontui` launches (cli._run): the collector paused until the first frame, then what
    # start-up made exempted from it (ui.collector.startup_done)
    gc.disable()
    t0 = time.perf_counter()

    def phase(name: str) -> None:  # on stderr: where a long run spends its time
        print(f"bench.live {time.perf_counter() - t0:7.1f} s: {name}", file=sys.stderr, flush=True)

    app = SessiontuiApp(_services(mode))
    phase("services")
    probe = LagProbe()
    live_trace, rest_trace = StepTrace(detailed=TRACE), StepTrace(detailed=TRACE)
    async with app.run_test(size=(160, 48)) as pilot:
        nodes = app.screen.query_one(NodeList)
        nodes.focus()
        began = time.perf_counter()
        steal = Steal()
        probe.start()

        def listing() -> bool:
            return any(w.is_running and w.group == "inventory" for w in app.workers)

        while not listing() and time.perf_counter() - began < 10:
            await asyncio.sleep(0.01)
        phase("listing")
        live_cursor: Samples = ([], [])
        live_keys: Samples = ([], [])
        refreshes = 1
        # rounds of ten keys and ten steps while rows stream in; a refresh again (the operator's
        # R) until each figure has its samples
        while len(live_cursor[0]) < steps or len(live_keys[0]) < steps:
            if not listing():
                await asyncio.sleep(PAUSE)
                app.screen.action_refresh()
                refreshes += 1
                continue
            if len(live_keys[0]) < steps:
                await _keys(app, pilot, nodes, live_trace, live_keys)
            await _cursor_steps(app, nodes, lambda: not listing(), 10, live_trace, live_cursor)
        live_worst = probe.stop()
        live_stalls = probe.worst_stalls()
        live_steal = steal.percent()
        listed_s = time.perf_counter() - began
        phase("live samples taken")
        while listing():  # the last refresh ends before the rest is measured
            await asyncio.sleep(0.1)
        phase("listed")
        await pilot.pause(0.5)
        steal = Steal()
        probe.start()
        rest_cursor: Samples = ([], [])
        rest_keys: Samples = ([], [])
        while len(rest_cursor[0]) < steps:
            await asyncio.sleep(PAUSE)  # the operator pauses now and then (ui.collector)
            await _cursor_steps(app, nodes, lambda: False, 45, rest_trace, rest_cursor)
        while len(rest_keys[0]) < steps:
            await _keys(app, pilot, nodes, rest_trace, rest_keys)
            if len(rest_keys[0]) % 90 == 0:
                await asyncio.sleep(PAUSE)
        rest_worst = probe.stop()
        rest_stalls = probe.worst_stalls()
        rest_steal = steal.percent()
        total = nodes.total_count
        phase("rest samples taken")
    phase("app closed")
    return {
        "mode": mode,
        "nodes": total,
        "listing_wall_s": round(listed_s, 1),
        "refreshes": refreshes,
        "live_cursor_p95_ms": round(p95(live_cursor[0]), 2),
        "live_keystroke_p95_ms": round(p95(live_keys[0]), 2),
        "live_worst_frame_ms": live_worst,
        "live_samples": len(live_cursor[0]) + len(live_keys[0]),
        **figures("live_", live_cursor, live_keys),
        "rest_cursor_p95_ms": round(p95(rest_cursor[0]), 2),
        "rest_keystroke_p95_ms": round(p95(rest_keys[0]), 2),
        "rest_worst_frame_ms": rest_worst,
        **figures("rest_", rest_cursor, rest_keys),
        "live_steal_pct": live_steal,
        "rest_steal_pct": rest_steal,
        "live_cursor_cpu_ms": live_trace.cpu("cursor"),
        "live_key_cpu_ms": live_trace.cpu("key"),
        "rest_cursor_cpu_ms": rest_trace.cpu("cursor"),
        "rest_key_cpu_ms": rest_trace.cpu("key"),
        "live_slowest_cursor_steps": live_trace.slowest("cursor", 6),
        "live_slowest_keys": live_trace.slowest("key", 4),
        "rest_slowest_cursor_steps": rest_trace.slowest("cursor", 6),
        "rest_slowest_keys": rest_trace.slowest("key", 4),
        **({"live_stalls": live_stalls, "rest_stalls": rest_stalls} if STALLS else {}),
    }


def main() -> None:
    mode = sys.argv[1] if len(sys.argv) > 1 else "child"
    # fewer samples for the runs kept for comparison only (beside a busy sandbox, inline)
    steps = int(os.environ.get("BENCH_LIVE_STEPS", STEPS))
    if len(sys.argv) > 2:  # a profile of the UI's thread, for finding what stalls a frame
        import cProfile
        import pstats

        prof = cProfile.Profile()
        result = prof.runcall(asyncio.run, run(mode, steps))
        pstats.Stats(prof, stream=sys.stderr).sort_stats("tottime").print_stats(30)
    else:
        result = asyncio.run(run(mode, steps))
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    sys.exit(main())
