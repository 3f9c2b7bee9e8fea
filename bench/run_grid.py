"""Child process: Run Command over 1,000 nodes of the large fleet, watched in the TUI's grid.

The run is the product's (operations.run_command through ui/screens/run.RunScreen, its thread
worker and its messages) with FleetAdmin's credentials against the `--fleet large` sandbox,
whose scripts run for real (`hostname`, one bash a node). While results stream in, a cursor
step goes into the grid every ~30 ms, timed from the key entering the driver to the painted frame
that shows it (as bench.live times the fleet list). Every AWS call is counted on the client
(aws.metering), and each poll's ListCommandInvocations pages are set against its floor: one page
per 50 nodes of the commands still running. Prints one JSON line.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import statistics
import sys
import time
from typing import Any

from bench.interact import _settled
from bench.measure import Steal, p95

NODES = 1000


class _Metered:
    """The access's client factory, every client it makes counted by one meter."""

    def __init__(self, factory: Any, meter: Any) -> None:
        self.factory = factory
        self.meter = meter

    def client(self, service: str, region: str | None = None) -> Any:
        return self.meter.attach(self.factory.client(service, region))


def _setup() -> tuple[Any, Any, list[Any], Any]:
    from sessiontui.aws.metering import CallMeter
    from sessiontui.cli import build_parser
    from sessiontui.operations.fleets import stamp
    from sessiontui.operations.run_command import CommandRun, RunSpec, plan
    from sessiontui.runtime import Runtime
    from sessiontui.stores.inventory import InventoryCache

    rt = Runtime.open(build_parser().parse_args(["--role", "FleetAdmin"])).__enter__()
    access = rt.access("FleetAdmin")
    loaded = InventoryCache(None, None, ["us-east-1", "eu-west-1"], rt.endpoint_url).load()
    fleet = stamp(loaded[0], access) if loaded else []  # listed with the access, as --run lists
    chosen = sorted(
        (n for n in fleet if n.connectable and n.platform == "Linux" and not n.is_hybrid),
        key=lambda n: (n.region, n.id),
    )[:NODES]
    if len(chosen) < NODES:
        raise RuntimeError(f"the cached fleet has {len(chosen)} connectable Linux nodes")
    meter = CallMeter()
    factory = _Metered(rt.factory_for(access), meter)
    spec = RunSpec(script="hostname")
    preview, planned = plan(chosen, [access], spec)
    if len(planned) < NODES:
        raise RuntimeError("\n".join(preview.lines()[:5]))
    run = CommandRun(planned, spec, lambda _access: factory, rt.audit, rt.clock)
    return run, meter, chosen, rt


async def measure() -> dict[str, Any]:
    from textual.app import App
    from textual.widgets import DataTable

    from sessiontui.ui.screens.run import RunScreen

    run, meter, chosen, _rt = _setup()
    pages_per_poll: list[tuple[int, int]] = []  # (pages, floor) for each poll
    poll = run.poll

    def counted() -> list[Any]:
        running = [c for c in run.commands if not all(r.done for r in c.runs.values())]
        floor = sum(math.ceil(len(c.runs) / 50) for c in running)
        before = meter.calls["ListCommandInvocations"]
        finished = poll()
        pages_per_poll.append((meter.calls["ListCommandInvocations"] - before, floor))
        return finished

    run.poll = counted  # type: ignore[method-assign]
    send = run.send
    sent: list[float] = []
    sending: list[float] = []  # when the first SendCommand went out: the run's start

    def timed_send() -> list[str]:
        start = time.perf_counter()
        sending.append(start)
        try:
            return send()
        finally:
            sent.append(time.perf_counter() - start)

    run.send = timed_send  # type: ignore[method-assign]

    class GridApp(App[None]):
        def on_mount(self) -> None:
            self.push_screen(RunScreen(run, run.runs, f"run: hostname on {NODES} nodes"))

    app = GridApp()
    cpu0 = time.process_time()
    async with app.run_test(size=(160, 48)) as pilot:
        began = time.perf_counter()
        while not isinstance(app.screen, RunScreen):
            await asyncio.sleep(0.005)
        screen = app.screen
        grid = screen.query_one("#run-grid", DataTable)
        grid.focus()
        steal = Steal()
        first_result = all_results = None
        steps: list[float] = []
        while not screen.finished and time.perf_counter() - began < 600:
            if first_result is None and sending and any(r.done for r in screen.rows):
                first_result = time.perf_counter() - sending[0]
            if grid.cursor_row >= grid.row_count - 2:
                grid.move_cursor(row=0)
                await asyncio.sleep(0.02)
            row = grid.cursor_row
            frame, _ = await _settled(app, lambda r=row: grid.cursor_row != r, "down", None)
            steps.append(frame)
            await asyncio.sleep(0.01)
        all_results = time.perf_counter() - (sending[0] if sending else began)
        await pilot.pause(0.2)
        rest: list[float] = []  # the same steps with nothing streaming: the grid's own cost
        for _ in range(100):
            if grid.cursor_row >= grid.row_count - 2:
                grid.move_cursor(row=0)
                await asyncio.sleep(0.02)
            row = grid.cursor_row
            frame, _ = await _settled(app, lambda r=row: grid.cursor_row != r, "down", None)
            rest.append(frame)
        statuses: dict[str, int] = {}
        for r in screen.rows:
            statuses[r.status] = statuses.get(r.status, 0) + 1
    cpu = time.process_time() - cpu0
    over = [(p, f) for p, f in pages_per_poll if p > f]
    return {
        "nodes": len(chosen),
        "commands": len(run.commands),
        "first_result_s": round(first_result or all_results, 2),
        "all_results_s": round(all_results, 1),
        "statuses": statuses,
        "grid_cursor_p95_ms": round(p95(steps), 2),
        "grid_cursor_median_ms": round(statistics.median(steps), 2) if steps else 0.0,
        "grid_cursor_samples": len(steps),
        "rest_grid_cursor_p95_ms": round(p95(rest), 2),
        "rest_grid_cursor_median_ms": round(statistics.median(rest), 2),
        "load_average_1m": round(os.getloadavg()[0], 1),
        "send_s": round(sent[0], 1) if sent else None,
        "polls": len(pages_per_poll),
        "list_invocations_pages": sum(p for p, _ in pages_per_poll),
        "list_invocations_floor": sum(f for _, f in pages_per_poll),
        "polls_over_floor": len(over),
        "api_calls": dict(sorted(meter.calls.items())),
        "client_cpu_s": round(cpu, 2),
        "steal_pct": steal.percent(),
    }


def main() -> None:
    print(json.dumps(asyncio.run(measure())), flush=True)


if __name__ == "__main__":
    sys.exit(main())
