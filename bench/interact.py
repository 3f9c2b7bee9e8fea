"""Child process: keystrokes and cursor steps on the real app with the cached fleet, via Pilot.

The listing is replayed from the cache as pages (recorded pages), so timings measure the UI alone.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from typing import Any

from bench.measure import p95, rss_mb

QUERY = "web-1"


def _services() -> Any:
    from sessiontui.cli import build_parser
    from sessiontui.runtime import Runtime
    from sessiontui.ui.launch import services_from_runtime

    args = build_parser().parse_args([])
    rt_cm = Runtime.open(args)
    rt = rt_cm.__enter__()
    services = services_from_runtime(rt)
    nodes = list(services.cached_nodes or [])

    def replay(factory: Any, regions: list[str], on_nodes: Any = None, on_error: Any = None) -> Any:
        from sessiontui.aws.inventory import FleetResult

        for i in range(0, len(nodes), 50):
            if on_nodes:
                on_nodes(nodes[i].region, nodes[i : i + 50])
        return FleetResult(nodes=nodes)

    services.list_fleet = replay
    return services, len(nodes)


async def run() -> dict[str, Any]:
    from sessiontui.ui.app import SessiontuiApp
    from sessiontui.ui.widgets.node_list import NodeList

    services, _ = _services()
    app = SessiontuiApp(services)
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause(0.5)
        for _ in range(100):  # the replayed refresh settles
            await pilot.pause(0.05)
            if app.workers._workers == set() or not any(w.is_running for w in app.workers):
                break
        nodes = app.screen.query_one(NodeList)
        nodes.focus()
        await pilot.pause()
        cursor = []
        for _ in range(60):
            t = time.perf_counter()
            await pilot.press("down")
            await pilot.pause()
            cursor.append((time.perf_counter() - t) * 1000)
        await pilot.press("slash")
        await pilot.pause()
        keys = []
        for typed, ch in enumerate(QUERY * 4, start=1):
            t = time.perf_counter()
            await pilot.press(ch)
            await pilot.pause()
            keys.append((time.perf_counter() - t) * 1000)
            if typed % len(QUERY) == 0:
                for _ in range(len(QUERY)):
                    t = time.perf_counter()
                    await pilot.press("backspace")
                    await pilot.pause()
                    keys.append((time.perf_counter() - t) * 1000)
        shown = nodes.total_count
    return {
        "nodes": shown,
        "keystroke_p95_ms": round(p95(keys), 2),
        "cursor_p95_ms": round(p95(cursor), 2),
        "keystrokes": len(keys),
        "rss_mb": round(rss_mb(), 1),
    }


def main() -> None:
    print(json.dumps(asyncio.run(run())), flush=True)


if __name__ == "__main__":
    sys.exit(main())
