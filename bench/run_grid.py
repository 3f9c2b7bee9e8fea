"""Child process: Run Command over 1,000 nodes of the large fleet, watched in the TUI's grid.

The run is the product's (operations.run_command through ui/screens/run.RunScreen, its thread
worker and its messages) with FleetAdmin's credentials against the `--fleet large` sandbox,
whose scripts run for real (`hostname`, one bash a node). While results stream in, a cursor
step goes into the grid every ~30 ms, timed from the key entering the driver to the painted frame
that shows it (as bench.live times the fleet list). Every AWS call is counted on the client
(aws.metering), and each poll's ListCommandInvocations pages are set against its floor: one page
per 50 nodes of the commands still running. Prints one JSON line.

The app is launched as `sessiontui` launches it (cli._run): the collector paused until the fleet
screen's first frame, which exempts what start-up made and turns it back on for young passes only
(ui.collector.startup_done), the operator's pauses giving the older passes their time
(RECLAIM.if_idle on the fleet screen's tick). The grid is pushed over that fleet screen, as `e`
pushes it. Before, a bare App held the grid under Python's usual collector thresholds: a
different program from the one shipped. Steps come in runs of SCROLL_RUN from the top with a
pause between runs, as bench.interact's; BENCH_PROFILE=PATH (BENCH_PROFILE_REST=PATH) writes a
cProfile of the steps alone while results stream in (at rest), BENCH_TRACE=1 counts each step's
timers, messages, frames and lines, and BENCH_STALLS=1 samples the UI thread's stack in the event
loop's stalls while results stream in (bench.stalls).

Alone (`python -m bench.run_grid`): a sandbox of BENCH_NODES nodes of its own (10,000), listed
into an inventory cache, niced as `make bench` nices it, then this in a child process.
"""

from __future__ import annotations

import asyncio
import gc
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.interact import PAUSE, SCROLL_RUN, TRACE, _settled
from bench.measure import Steal, p95
from bench.stalls import StallSampler
from bench.steps import StepTrace, spread

NODES = 1000
REST_STEPS = 200
STALLS = os.environ.get("BENCH_STALLS") == "1"  # sample the UI thread's stack in its stalls


class _Metered:
    """The access's client factory, every client it makes counted by one meter."""

    def __init__(self, factory: Any, meter: Any) -> None:
        self.factory = factory
        self.meter = meter

    def client(self, service: str, region: str | None = None) -> Any:
        return self.meter.attach(self.factory.client(service, region))


def _setup() -> tuple[Any, Any, list[Any], Any]:
    """The run (planned, not sent), its meter, its nodes, and the app's services on the same
    runtime: the cached fleet, its refresh replayed from the cache (the UI's cost alone)."""
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
    return run, meter, chosen, _app_services(rt, loaded[0] if loaded else [])


def _app_services(rt: Any, nodes: list[Any]) -> Any:
    """As bench.interact's: the cached fleet on the fleet screen, its start-up refresh replayed
    from the cache in pages; no role taken at start (the run holds FleetAdmin already)."""
    from bench.interact import replayed
    from sessiontui.ui.launch import services_from_runtime

    services = services_from_runtime(rt)
    services.initial_roles, services.initial_role = [], None
    services.cached_nodes, services.cached_rest = list(nodes), None
    replayed(services, nodes)
    return services


async def _step(app: Any, grid: Any, trace: StepTrace, steps: list[float]) -> None:
    """One cursor step down, timed to its first painted frame. Runs of SCROLL_RUN from the top,
    after a pause, as bench.interact steps the fleet list: about half within the window, half
    scrolling it."""
    if len(steps) % SCROLL_RUN == 0:
        grid.move_cursor(row=0)
        await asyncio.sleep(PAUSE)  # an operator pauses now and then (ui.collector)
    row = grid.cursor_row
    frame, _ = await _settled(app, lambda r=row: grid.cursor_row != r, "down", None, trace)
    steps.append(frame)


async def measure() -> dict[str, Any]:
    from sessiontui.ui.app import SessiontuiApp
    from sessiontui.ui.screens.main import MainScreen
    from sessiontui.ui.screens.run import RunScreen

    # as `sessiontui` launches (cli._run): the collector paused until the fleet screen's first
    # frame (ui.collector.startup_done turns it back on, young passes only)
    gc.disable()
    run, meter, chosen, services = _setup()
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
    app = SessiontuiApp(services)
    # BENCH_PROFILE: a profile of the steps while results stream in; BENCH_PROFILE_REST: at rest
    trace = StepTrace(detailed=TRACE, profile=os.environ.get("BENCH_PROFILE", ""))
    rest_trace = StepTrace(detailed=TRACE, profile=os.environ.get("BENCH_PROFILE_REST", ""))
    cpu0 = time.process_time()
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause(0.5)
        for _ in range(200):  # the replayed refresh settles, as the fleet an operator runs on
            await pilot.pause(0.05)
            if not any(w.is_running for w in app.workers):
                break
        assert isinstance(app.screen, MainScreen), app.screen
        collector = {"enabled": gc.isenabled(), "threshold": list(gc.get_threshold())}
        await asyncio.sleep(PAUSE)  # the operator reads the dialog, then the grid opens
        began = time.perf_counter()
        app.push_screen(RunScreen(run, run.runs, f"run: hostname on {NODES} nodes"))
        while not isinstance(app.screen, RunScreen) or not app.screen.query("#run-grid"):
            await asyncio.sleep(0.005)  # pushed, then composed
        screen = app.screen
        await pilot.pause()
        grid = screen.grid
        grid.focus()
        steal = Steal()
        stalls = _Heartbeat() if STALLS else None
        first_result = all_results = None
        steps: list[float] = []
        while not screen.finished and time.perf_counter() - began < 600:
            if first_result is None and sending and any(r.done for r in screen.rows):
                first_result = time.perf_counter() - sending[0]
            await _step(app, grid, trace, steps)
            await asyncio.sleep(0.01)
        all_results = time.perf_counter() - (sending[0] if sending else began)
        streaming_steal = steal.percent()
        streaming_stalls = stalls.stop() if stalls is not None else []
        await pilot.pause(0.2)
        steal = Steal()
        rest: list[float] = []  # the same steps with nothing streaming: the grid's own cost
        while len(rest) < REST_STEPS:
            await _step(app, grid, rest_trace, rest)
        rest_steal = steal.percent()
        statuses: dict[str, int] = {}
        for r in screen.rows:
            statuses[r.status] = statuses.get(r.status, 0) + 1
    cpu = time.process_time() - cpu0
    trace.save_profile()
    rest_trace.save_profile()
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
        "grid_cursor_first_ms": spread(steps),
        "rest_grid_cursor_p95_ms": round(p95(rest), 2),
        "rest_grid_cursor_median_ms": round(statistics.median(rest), 2),
        "rest_grid_cursor_first_ms": spread(rest),
        "grid_cursor_cpu_ms": trace.cpu("cursor"),  # the UI thread's, per step
        "rest_grid_cursor_cpu_ms": rest_trace.cpu("cursor"),
        "grid_cursor_first_cpu_ms": trace.first_cpu("cursor"),  # to the first frame alone
        "rest_grid_cursor_first_cpu_ms": rest_trace.first_cpu("cursor"),
        "collector_at_start": collector,
        "load_average_1m": round(os.getloadavg()[0], 1),
        "send_s": round(sent[0], 1) if sent else None,
        "polls": len(pages_per_poll),
        "list_invocations_pages": sum(p for p, _ in pages_per_poll),
        "list_invocations_floor": sum(f for _, f in pages_per_poll),
        "polls_over_floor": len(over),
        "api_calls": dict(sorted(meter.calls.items())),
        "client_cpu_s": round(cpu, 2),
        "steal_pct": streaming_steal,
        "rest_steal_pct": rest_steal,
        "slowest_cursor_steps": trace.slowest("cursor", 6),
        "rest_slowest_cursor_steps": rest_trace.slowest("cursor", 4),
        **({"streaming_stalls": streaming_stalls} if STALLS else {}),
    }


class _Heartbeat:
    """BENCH_STALLS=1: the event loop's heartbeat for a StallSampler while results stream in,
    so the slow steps' causes are sampled stacks, not guesses (as bench.live's LagProbe)."""

    def __init__(self) -> None:
        import threading

        self.sampler = StallSampler(threading.get_ident())
        self.sampler.start()
        self._task = asyncio.get_running_loop().create_task(self._beat())

    async def _beat(self) -> None:
        while True:
            self.sampler.beat = time.perf_counter()
            await asyncio.sleep(0.005)

    def stop(self) -> list[dict[str, Any]]:
        self._task.cancel()
        self.sampler.stop()
        return self.sampler.worst(6)


def child() -> None:
    print(json.dumps(asyncio.run(measure())), flush=True)


def main() -> int:
    """Alone: a sandbox of BENCH_NODES nodes of its own, listed into the inventory cache this
    reads, niced as `make bench` nices it by the time it gets here; then the child."""
    from bench.listing import bench_env, sandbox_process, stand_aside
    from bench.measure import compileall

    size = int(os.environ.get("BENCH_NODES", "10000"))
    root = Path(__file__).resolve().parent.parent
    compileall.compile_dir(str(root / "src" / "sessiontui"), quiet=1)  # as bench.measure does
    with (
        tempfile.TemporaryDirectory(prefix="sessiontui-run-grid-") as tmp,
        sandbox_process(size) as sb_env,
    ):
        env = bench_env(sb_env, tmp, root)
        os.environ.update(
            {k: v for k, v in env.items() if k.startswith(("AWS_", "XDG_", "SESSIONTUI_"))}
        )
        print(f"listing {size} nodes into the inventory cache...", file=sys.stderr, flush=True)
        _cache_fleet(sb_env)
        stand_aside(int(sb_env["BENCH_SANDBOX_PID"]))  # AWS's CPU is not the operator's
        print("Run Command on 1,000 nodes, watched in the grid...", file=sys.stderr, flush=True)
        out = subprocess.run(
            [sys.executable, "-m", "bench.run_grid", "child"],
            env=env,
            capture_output=True,
            text=True,
            timeout=1500,
        )
        if out.returncode != 0:
            raise RuntimeError(f"bench.run_grid failed:\n{out.stderr[-3000:]}")
        print(out.stdout.strip().splitlines()[-1], flush=True)
    return 0


def _cache_fleet(sb_env: dict[str, str]) -> None:
    from sessiontui.aws.clients import ClientFactory
    from sessiontui.aws.inventory import list_fleet
    from sessiontui.stores.inventory import InventoryCache

    regions = ["us-east-1", "eu-west-1"]
    result = list_fleet(ClientFactory(), regions)
    InventoryCache(None, None, regions, sb_env.get("AWS_ENDPOINT_URL")).save(result.nodes)


if __name__ == "__main__":
    sys.exit(child() if sys.argv[1:] == ["child"] else main())
