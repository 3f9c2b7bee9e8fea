"""Child process: cursor steps and keystrokes while the real listing streams in, then after it.

argv[1] is "child" (the TUI's listing in its own process, as shipped) or "inline" (the listing in
the TUI's interpreter, as before), so one bench run compares them. The app starts on the cached
fleet, as an operator's does, and its start-up refresh lists the sandbox for real. While that
listing runs, a cursor step goes in every 30 ms; a loop-lag probe (a 5 ms sleep, and how late it
wakes) records the longest stall of the event loop, which bounds the worst frame. When the listing
has finished the same is measured again at rest. Prints one JSON line.

The app starts as `sessiontui` does: the collector paused until the first frame (cli._run). From
typing in the filter to arrowing, a tenth of a second passes, as for a person.
"""

from __future__ import annotations

import asyncio
import gc
import json
import sys
import time
from typing import Any

from bench.interact import QUERY, _settled
from bench.measure import Steal, p95


def _services(mode: str) -> Any:
    from sessiontui.cli import build_parser
    from sessiontui.runtime import Runtime
    from sessiontui.ui.launch import services_from_runtime

    rt = Runtime.open(build_parser().parse_args([])).__enter__()
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

    async def _run(self) -> None:
        while True:
            start = time.perf_counter()
            await asyncio.sleep(0.005)
            late = (time.perf_counter() - start) * 1000 - 5
            self.samples.append(late)
            self.worst = max(self.worst, late)

    def start(self) -> None:
        self.worst, self.samples = 0.0, []
        self._task = asyncio.get_running_loop().create_task(self._run())

    def stop(self) -> float:
        if self._task is not None:
            self._task.cancel()
        return round(self.worst, 1)


async def _cursor_steps(app: Any, nodes: Any, until: Any, limit: int) -> list[float]:
    out: list[float] = []
    while len(out) < limit and not until():
        if nodes.cursor >= nodes.visible_count - 2:
            nodes.move_cursor(0)
            await asyncio.sleep(0.02)
        # rows arriving move the cursor's index but keep its node: a step is the node changing
        before = nodes.selected_node
        frame, _ = await _settled(app, lambda b=before: nodes.selected_node is not b, "down", None)
        out.append(frame)
        await asyncio.sleep(0.01)  # with _settled's own 20 ms: a step every ~30 ms
    return out


async def _keys(app: Any, pilot: Any, nodes: Any) -> list[float]:
    await pilot.press("slash")
    await pilot.pause()
    field = app.screen.query_one("#filter")
    out: list[float] = []
    for ch in QUERY:
        want = field.value + ch
        frame, _ = await _settled(
            app,
            lambda w=want: nodes.current_query.text == w,
            ch if ch.isalnum() else "minus",
            ch,
        )
        out.append(frame)
    for _ in QUERY:
        want = field.value[:-1]
        frame, _ = await _settled(
            app, lambda w=want: nodes.current_query.text == w, "backspace", None
        )
        out.append(frame)
    await pilot.press("escape")
    await pilot.pause()
    nodes.focus()
    # from typing to arrowing takes a person a tenth of a second or more: the focus change's
    # repaint (footer, list) is not the first cursor step's
    await asyncio.sleep(0.1)
    return out


async def run(mode: str) -> dict[str, Any]:
    from sessiontui.ui.app import SessiontuiApp
    from sessiontui.ui.widgets.node_list import NodeList

    # as `sessiontui` launches (cli._run): the collector paused until the first frame, then what
    # start-up made exempted from it (ui.collector.startup_done)
    gc.disable()
    app = SessiontuiApp(_services(mode))
    probe = LagProbe()
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
        live_cursor: list[float] = []
        live_keys: list[float] = []
        while listing():
            live_keys += await _keys(app, pilot, nodes)
            live_cursor += await _cursor_steps(app, nodes, lambda: not listing(), 50)
        live_worst = probe.stop()
        live_steal = steal.percent()
        listed_s = time.perf_counter() - began
        await pilot.pause(0.5)
        steal = Steal()
        probe.start()
        rest_cursor = await _cursor_steps(app, nodes, lambda: False, 100)
        rest_keys = await _keys(app, pilot, nodes)
        rest_worst = probe.stop()
        rest_steal = steal.percent()
        total = nodes.total_count
    return {
        "mode": mode,
        "nodes": total,
        "listing_wall_s": round(listed_s, 1),
        "live_cursor_p95_ms": round(p95(live_cursor), 2),
        "live_keystroke_p95_ms": round(p95(live_keys), 2),
        "live_worst_frame_ms": live_worst,
        "live_samples": len(live_cursor) + len(live_keys),
        "rest_cursor_p95_ms": round(p95(rest_cursor), 2),
        "rest_keystroke_p95_ms": round(p95(rest_keys), 2),
        "rest_worst_frame_ms": rest_worst,
        "live_steal_pct": live_steal,
        "rest_steal_pct": rest_steal,
    }


def main() -> None:
    mode = sys.argv[1] if len(sys.argv) > 1 else "child"
    if len(sys.argv) > 2:  # a profile of the UI's thread, for finding what stalls a frame
        import cProfile
        import pstats

        prof = cProfile.Profile()
        result = prof.runcall(asyncio.run, run(mode))
        pstats.Stats(prof, stream=sys.stderr).sort_stats("tottime").print_stats(30)
    else:
        result = asyncio.run(run(mode))
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    sys.exit(main())
