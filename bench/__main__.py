"""`make bench`: the 10,000-node fleet, measured. The last line printed is one JSON object.

Method (docs/performance.md): a `--fleet large` sandbox in its own process holds 10,000 nodes in
two regions (10% hybrid). This process lists it through the real inventory code, counting API calls
and its own CPU seconds, and saves the inventory cache the app reads at start. Then child processes
measure, on that cache: the real launch path to the first frame with rows; keystrokes into the filter
and cursor steps via Pilot; and Textual's DataTable holding the same fleet, as the baseline. Last,
bench.forward: bytes and connection set-up through a port forward (AWS's plugin against the
sandbox's data channel) against a direct TCP connection, the floor. Then bench.run_grid: Run
Command on 1,000 of its nodes watched in the TUI's grid (first and last result, cursor steps while
results stream in, ListCommandInvocations pages per poll against one per 50 nodes, client CPU).
Last, bench.jump, which removes the inventory cache: the quick jump to a shell prompt, an SSH
banner and cached credentials against the AWS CLI, and the TUI's first rows with no cache
(issue 25).

With BENCH_ACCOUNTS above one, the organisation-scale run instead (bench/org.py).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench.listing import bench_env, listing_ab, measure_listing, sandbox_process, stand_aside
from bench.measure import launches_and_keys
from bench.tail import steps_report

SIZE = int(os.environ.get("BENCH_NODES", "10000"))
ACCOUNTS = int(os.environ.get("BENCH_ACCOUNTS", "1"))  # more than one: the organisation run
LAUNCHES = 7  # first-frame launches; the median is reported (one launch swings by +-30% here)
TARGETS = {
    "first_frame_s": 0.5,
    "keystroke_p95_ms": 30,
    "cursor_p95_ms": 10,
    "rss_mb": 200,
    "live_cursor_p95_ms": 10,
    "live_keystroke_p95_ms": 30,
    "live_worst_frame_ms": 50,
    "listing_client_cpu_s": 5,
    "run_grid_cursor_p95_ms": 30,
}


def _child(module: str, env: dict[str, str], *extra: str) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-m", module, *extra],
        env=env,
        capture_output=True,
        text=True,
        timeout=1500,
    )
    if out.returncode != 0:
        raise RuntimeError(f"{module} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main() -> int:
    if ACCOUNTS > 1:
        from bench import org

        print(json.dumps(org.run(SIZE, ACCOUNTS, _child, LAUNCHES)))
        return 0
    root = Path(__file__).resolve().parent.parent
    with (
        tempfile.TemporaryDirectory(prefix="sessiontui-bench-") as tmp,
        sandbox_process(SIZE) as sb_env,
    ):
        env = bench_env(sb_env, tmp, root)
        os.environ.update(
            {k: v for k, v in env.items() if k.startswith(("AWS_", "XDG_", "SESSIONTUI_"))}
        )
        print(f"listing {SIZE} nodes from the sandbox...", file=sys.stderr, flush=True)
        nodes, listing = measure_listing(sb_env, "child")
        print("listing again in this process, lean, then as botocore parses...", file=sys.stderr)
        for mode in ("lean", "botocore"):
            _, other = measure_listing(sb_env, mode)
            listing[f"listing_client_cpu_{mode}_s"] = other["listing_client_cpu_s"]

        print(
            "the listing's SSM call, alternating the new and the refused identity's...",
            file=sys.stderr,
        )
        listing["listing_ssm_call_ab"] = listing_ab(sb_env)

        from sessiontui.stores.inventory import InventoryCache

        InventoryCache(None, None, ["us-east-1", "eu-west-1"], sb_env.get("AWS_ENDPOINT_URL")).save(
            nodes
        )
        figures = launches_and_keys(_child, env, root, LAUNCHES)
        print("DataTable baseline...", file=sys.stderr, flush=True)
        baseline = _child("bench.baseline_child", env)
        print("a port forward through the plugin and the data channel...", file=sys.stderr)
        forward = _child("bench.forward", env)
        # kept for comparison with earlier sessions: fewer samples (their limits are not targets)
        before = {**env, "BENCH_LIVE_STEPS": "100"}
        print("during a live refresh, the sandbox at its usual priority...", file=sys.stderr)
        live_beside_sandbox = _child("bench.live", before, "child")
        stand_aside(int(sb_env["BENCH_SANDBOX_PID"]))  # AWS's CPU is not the operator's
        print("during a live refresh, listing in its own process...", file=sys.stderr)
        live = _child("bench.live", env, "child")
        print("during a live refresh, listing in the UI's interpreter (before)...", file=sys.stderr)
        live_inline = _child("bench.live", before, "inline")
        print("Run Command on 1,000 nodes, watched in the grid...", file=sys.stderr, flush=True)
        run_grid = _child("bench.run_grid", env, "child")  # its nodes from the inventory cache
        from bench import jump

        # the quick jump, with no inventory cache (issue 25: it removes the cache before each
        # launch, so it comes last); the sandbox still stands aside
        quick = jump.run(env)
    steps = steps_report(figures["interact"], live)
    result: dict[str, Any] = {
        "nodes": len(nodes),
        **{k: v for k, v in figures.items() if k != "interact"},
        **listing,
        "live_cursor_p95_ms": live["live_cursor_p95_ms"],
        "live_keystroke_p95_ms": live["live_keystroke_p95_ms"],
        "live_worst_frame_ms": live["live_worst_frame_ms"],
        "steps": steps,
        "interact": figures["interact"],
        "live": live,
        "live_inline_listing": live_inline,
        "live_sandbox_not_niced": live_beside_sandbox,
        "datatable_baseline": baseline,
        "forward": forward,
        **{k: quick.get(k) for k in jump.TARGETS},
        "jump_to_prompt_s": quick.get("jump_to_prompt_s"),
        "aws_cli_to_prompt_s": quick.get("aws_cli_to_prompt_s"),
        "quick_jump": quick,
        "run_grid_cursor_p95_ms": run_grid["grid_cursor_p95_ms"],
        "run_command": run_grid,
    }
    result["targets_met"] = (
        result["nodes"] >= 10000
        and all(result[k] <= v for k, v in TARGETS.items())
        and listing["api_at_floor"]
        and bool(quick.get("met"))
        and run_grid["polls_over_floor"] == 0
        and steps["met"]
    )
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
