"""Child process: keystrokes and cursor steps on the real app with the cached fleet, via Pilot.

The listing is replayed from the cache as pages (recorded pages), so timings measure the UI alone.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from collections.abc import Callable
from typing import Any

from bench.measure import p95, rss_mb

QUERY = "web-1"


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

    def replay(
        factory: Any,
        regions: list[str],
        on_nodes: Any = None,
        on_error: Any = None,
        cancel: Any = None,
    ) -> Any:
        from sessiontui.aws.inventory import FleetResult

        for i in range(0, len(nodes), 50):
            if on_nodes:
                on_nodes(nodes[i].region, nodes[i : i + 50])
        return FleetResult(nodes=nodes)

    services.list_fleet = replay
    services.list_fleets = None  # assigned after construction: the replay serves every account
    return services, len(nodes)


async def _next_frame(app: Any) -> None:
    painted = asyncio.Event()
    app.screen.call_after_refresh(painted.set)
    await asyncio.wait_for(painted.wait(), 5)


async def _settled(
    app: Any, processed: Callable[[], bool], key: str, char: str | None
) -> tuple[float, float]:
    """Milliseconds from a key entering the driver (as a real keypress does) to the painted frame
    that shows its effect, and to the frame after it (where the details pane catches up).

    The screen is left to go idle before the next sample, as between keys a person types.
    """
    from textual import events

    start = time.perf_counter()
    app._driver.send_message(events.Key(key, char))
    deadline = start + 5
    while not processed():
        if time.perf_counter() > deadline:
            raise TimeoutError(f"key {key!r} was not processed")
        await asyncio.sleep(0)
    await _next_frame(app)
    first = (time.perf_counter() - start) * 1000
    await _next_frame(app)
    second = (time.perf_counter() - start) * 1000
    await asyncio.sleep(0.02)  # keys arrive tens of ms apart, even with auto-repeat
    return first, second


async def run() -> dict[str, Any]:
    from sessiontui.ui.app import SessiontuiApp
    from sessiontui.ui.widgets.node_list import NodeList

    services, _ = _services()
    app = SessiontuiApp(services)
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause(0.5)
        for _ in range(200):  # the replayed refresh settles
            await pilot.pause(0.05)
            if not any(w.is_running for w in app.workers):
                break
        nodes = app.screen.query_one(NodeList)
        nodes.focus()
        await pilot.pause()
        cursor, cursor_all = [], []
        for _ in range(100):  # 45 rows fit: about half the steps scroll the list
            want = nodes.cursor + 1
            frame, both = await _settled(app, lambda w=want: nodes.cursor == w, "down", None)
            cursor.append(frame)
            cursor_all.append(both)
        await pilot.press("slash")
        await pilot.pause()
        field = app.screen.query_one("#filter")
        keys, keys_all = [], []
        for round_ in range(4):
            for ch in QUERY:
                want = field.value + ch
                frame, both = await _settled(
                    app,
                    lambda w=want: nodes.current_query.text == w,
                    ch if ch.isalnum() else "minus",
                    ch,
                )
                keys.append(frame)
                keys_all.append(both)
            for _ in QUERY:
                want = field.value[:-1]
                frame, both = await _settled(
                    app, lambda w=want: nodes.current_query.text == w, "backspace", None
                )
                keys.append(frame)
                keys_all.append(both)
            await pilot.pause(0.05 * round_)
        shown = nodes.total_count
    return {
        "nodes": shown,
        "keystroke_p95_ms": round(p95(keys), 2),
        "keystroke_median_ms": round(sorted(keys)[len(keys) // 2], 2),
        "cursor_p95_ms": round(p95(cursor), 2),
        "cursor_with_details_p95_ms": round(p95(cursor_all), 2),
        "keystroke_with_details_p95_ms": round(p95(keys_all), 2),
        "cursor_median_ms": round(sorted(cursor)[len(cursor) // 2], 2),
        "keystrokes": len(keys),
        "rss_mb": round(rss_mb(), 1),
    }


def main() -> None:
    print(json.dumps(asyncio.run(run())), flush=True)


if __name__ == "__main__":
    sys.exit(main())
