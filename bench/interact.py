"""Child process: keystrokes and cursor steps on the real app with the cached fleet.

The listing is replayed from the cache as pages (recorded pages), so timings measure the UI alone.
BENCH_STEPS (400) cursor steps and as many keys, each timed to its first painted frame and to the
frame that completes it (the details pane caught up), with what the UI thread did in each
(bench.steps; BENCH_TRACE=1 counts timers, messages, frames and lines too, BENCH_PROFILE=PATH
writes a cProfile of the steps alone).
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import sys
import time
from collections.abc import Callable
from typing import Any

from bench.measure import p95, rss_mb
from bench.steps import StepTrace, spread

QUERY = "web-1"
STEPS = int(os.environ.get("BENCH_STEPS", "400"))  # per figure: a p99 rests on its 4-5 worst
SCROLL_RUN = 90  # cursor steps from the top before going back: 44 within the window, 46 scrolling
TRACE = bool(os.environ.get("BENCH_TRACE"))  # count timers, messages, frames, lines per step
SHOW_SLOWEST = 10
PAUSE = 1.2  # seconds, between runs of steps: longer than the UI's 1 s tick


def replayed(services: Any, nodes: list[Any]) -> None:
    """The app's refresh answered from `nodes` in pages of 50, for every account: the UI is
    measured, not the listing."""

    def replay(
        factory: Any,
        regions: list[str],
        on_nodes: Any = None,
        on_error: Any = None,
        cancel: Any = None,
    ) -> Any:
        from sessiontui.aws.fleet_result import FleetResult

        for i in range(0, len(nodes), 50):
            if on_nodes:
                on_nodes(nodes[i].region, nodes[i : i + 50])
        return FleetResult(nodes=nodes)

    services.list_fleet = replay
    services.list_fleets = None  # assigned after construction: the replay serves every account


def _services() -> Any:
    from sessiontui.cli import build_parser
    from sessiontui.runtime import Runtime
    from sessiontui.ui.launch import services_from_runtime

    args = build_parser().parse_args(json.loads(os.environ.get("BENCH_ARGS", "[]")))
    rt_cm = Runtime.open(args)
    rt = rt_cm.__enter__()
    services = services_from_runtime(rt)
    # the organisation run's cache is keyed by its --roles; the UI is measured on it alone, so
    # the roles are not taken again (their dialogs would take the keys)
    services.initial_roles, services.initial_role = [], None
    loaded = rt.inventory_cache().load()
    nodes = list(loaded[0]) if loaded else []
    replayed(services, nodes)
    return services, len(nodes)


async def _next_frame(app: Any) -> None:
    painted = asyncio.Event()
    app.screen.call_after_refresh(painted.set)
    await asyncio.wait_for(painted.wait(), 5)


async def _settled(
    app: Any,
    processed: Callable[[], bool],
    key: str,
    char: str | None,
    trace: StepTrace | None = None,
    kind: str = "cursor",
) -> tuple[float, float]:
    """Milliseconds from a key entering the driver (as a real keypress does) to the painted frame
    that shows its effect, and to the frame after it (where the details pane catches up).

    The screen is left to go idle before the next sample, as between keys a person types.
    """
    from textual import events

    if trace is not None:
        trace.begin(kind)
    start = time.perf_counter()
    app._driver.send_message(events.Key(key, char))
    deadline = start + 5
    while not processed():
        if time.perf_counter() > deadline:
            raise TimeoutError(f"key {key!r} was not processed")
        await asyncio.sleep(0)
    await _next_frame(app)
    first = (time.perf_counter() - start) * 1000
    if trace is not None:
        trace.first_frame()
    await _next_frame(app)
    second = (time.perf_counter() - start) * 1000
    if trace is not None:
        trace.end(first, second)
    await asyncio.sleep(0.02)  # keys arrive tens of ms apart, even with auto-repeat
    return first, second


async def cursor_steps(
    app: Any, nodes: Any, trace: StepTrace, count: int
) -> tuple[list[float], list[float]]:
    """`count` steps down, from the top in runs of SCROLL_RUN: about half move the cursor within
    the window (45 rows fit) and half scroll the list, as before 400 steps were taken."""
    first: list[float] = []
    done: list[float] = []
    while len(first) < count:
        if len(first) % SCROLL_RUN == 0:
            nodes.move_cursor(0)
            # a pause, as an operator makes: the collector's passes beyond the young generation
            # run in such pauses (ui.collector), and here, not in the timed steps
            await asyncio.sleep(PAUSE)
        want = nodes.cursor + 1
        a, b = await _settled(app, lambda w=want: nodes.cursor == w, "down", None, trace)
        first.append(a)
        done.append(b)
    return first, done


async def filter_keys(
    app: Any, nodes: Any, field: Any, trace: StepTrace, count: int
) -> tuple[list[float], list[float]]:
    """`count` keys into the filter: QUERY typed and deleted again, round after round."""
    first: list[float] = []
    done: list[float] = []
    while len(first) < count:
        for ch in QUERY:
            want = field.value + ch
            a, b = await _settled(
                app,
                lambda w=want: nodes.current_query.text == w,
                ch if ch.isalnum() else "minus",
                ch,
                trace,
                "key",
            )
            first.append(a)
            done.append(b)
        for _ in QUERY:
            want = field.value[:-1]
            a, b = await _settled(
                app, lambda w=want: nodes.current_query.text == w, "backspace", None, trace, "key"
            )
            first.append(a)
            done.append(b)
        rounds = len(first) // (2 * len(QUERY))
        await asyncio.sleep(PAUSE if rounds % 9 == 0 else 0.05 * (rounds % 4))
    return first, done


def figures(
    prefix: str, cursor: tuple[list[float], list[float]], keys: tuple[list[float], list[float]]
) -> dict[str, Any]:
    """The spread of each: first painted frame and completed step, cursor steps and keys."""
    return {
        f"{prefix}cursor_first_ms": spread(cursor[0]),
        f"{prefix}cursor_done_ms": spread(cursor[1]),
        f"{prefix}key_first_ms": spread(keys[0]),
        f"{prefix}key_done_ms": spread(keys[1]),
    }


async def run() -> dict[str, Any]:
    from sessiontui.ui.app import SessiontuiApp
    from sessiontui.ui.widgets.node_list import NodeList

    # as `sessiontui` launches (cli._run): the collector paused until the first frame, then what
    # start-up made exempted from it (ui.collector.startup_done); before, start-up's objects
    # stayed in the collector's generations, and its full passes over them fell into the steps
    gc.disable()
    services, _ = _services()
    app = SessiontuiApp(services)
    trace = StepTrace(detailed=TRACE, profile=os.environ.get("BENCH_PROFILE", ""))
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause(0.5)
        # the replayed refresh settles: its worker ends, then the screen applies its last rows a
        # turn at a time (150 a frame: at 50,000 nodes, seconds after the worker); "at rest"
        # is after both, or the first steps were measured with those turns in them
        for _ in range(600):
            await pilot.pause(0.05)
            if not any(w.is_running for w in app.workers) and not app.main_screen.listing:
                break
        nodes = app.screen.query_one(NodeList)
        nodes.focus()
        await pilot.pause()
        cursor = await cursor_steps(app, nodes, trace, STEPS)
        await pilot.press("slash")
        await pilot.pause()
        field = app.screen.query_one("#filter")
        keys = await filter_keys(app, nodes, field, trace, STEPS)
        shown = nodes.total_count
    trace.save_profile()
    return {
        "nodes": shown,
        "keystroke_p95_ms": round(p95(keys[0]), 2),
        "keystroke_median_ms": round(sorted(keys[0])[len(keys[0]) // 2], 2),
        "cursor_p95_ms": round(p95(cursor[0]), 2),
        "cursor_with_details_p95_ms": round(p95(cursor[1]), 2),
        "keystroke_with_details_p95_ms": round(p95(keys[1]), 2),
        "cursor_median_ms": round(sorted(cursor[0])[len(cursor[0]) // 2], 2),
        "keystrokes": len(keys[0]),
        **figures("", cursor, keys),
        "cursor_cpu_ms": trace.cpu("cursor"),
        "key_cpu_ms": trace.cpu("key"),
        "cursor_steps_with_gc": trace.collections("cursor"),
        "keys_with_gc": trace.collections("key"),
        "slowest_cursor_steps": trace.slowest("cursor", SHOW_SLOWEST),
        "median_cursor_step": trace.median_step("cursor"),
        "slowest_keys": trace.slowest("key", SHOW_SLOWEST),
        "median_key": trace.median_step("key"),
        "rss_mb": round(rss_mb(), 1),
    }


def main() -> None:
    print(json.dumps(asyncio.run(run())), flush=True)


if __name__ == "__main__":
    sys.exit(main())
