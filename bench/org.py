"""`BENCH_NODES=50000 BENCH_ACCOUNTS=10 make bench`: the fleet at the size of an organisation.

A `--fleet large` sandbox in its own process spreads the nodes over BENCH_ACCOUNTS accounts and
three regions, with an Identity Center user holding a permission set in each. This process signs
in through the real device flow (`sessiontui --sso-login`, approved by the sandbox), takes every
account's permission set as `--role fleet-NN/AdminAccess` does, and lists them all as the TUI
lists one fleet across accounts: one listing child, every account and region side by side under
the cap on calls in flight, each account with its own credentials. API calls are counted per
account and region against the floor; the child's CPU and the wall time are recorded beside the
sandbox's own CPU, which shows what bounds the wall time. The union is saved as the cache the
TUI reads when started with those roles; then the first frame (the real launch path with the ten
`--role`s), keystrokes, cursor steps and peak memory are measured on it as for 10,000 nodes.
"""

from __future__ import annotations

import json
import math
import os
import resource
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from bench.measure import get_resources_floor

ORG_REGIONS = ["us-east-1", "eu-west-1", "ap-southeast-2"]
ORG_TARGETS = {"first_frame_s": 0.5, "keystroke_p95_ms": 30, "cursor_p95_ms": 10, "rss_mb": 300}


def roles(accounts: int) -> list[str]:
    from sessiontui_sandbox.accounts import ADMIN_ACCESS, large_accounts

    return [f"{a.name}/{ADMIN_ACCESS.name}" for a in large_accounts(accounts)]


def role_args(accounts: int) -> list[str]:
    return [arg for role in roles(accounts) for arg in ("--role", role)]


def sign_in(env: dict[str, str]) -> None:
    """The real `sessiontui --sso-login`, as an operator's first step of the day."""
    out = subprocess.run(
        [sys.executable, "-m", "sessiontui", "--sso-login", "sandbox", "--no-browser"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if out.returncode != 0:
        raise RuntimeError(f"--sso-login failed ({out.returncode}): {out.stderr[-2000:]}")


def _sandbox_cpu(pid: int) -> float:
    """utime + stime of the sandbox process, from /proc (it is not our child's child)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure_org_listing(accounts: int) -> tuple[list[Any], dict[str, Any]]:
    """Every account's fleet in one listing child, as the TUI lists them; calls against the floor."""
    from sessiontui.aws.listing_process import list_fleets_in_child
    from sessiontui.cli import build_parser
    from sessiontui.operations.fleets import stamp
    from sessiontui.runtime import Runtime

    args = build_parser().parse_args(role_args(accounts))
    with Runtime.open(args) as rt:
        accesses = rt.accesses()
        factories = [rt.factory_for(a) for a in accesses]
        calls: Counter[str] = Counter()
        children0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu0, wall0 = time.process_time(), time.perf_counter()
        sandbox_cpu0 = _sandbox_cpu(int(os.environ["BENCH_SANDBOX_PID"]))
        results = list_fleets_in_child(factories, list(rt.regions), calls=calls)
        wall = time.perf_counter() - wall0
        sandbox_cpu = _sandbox_cpu(int(os.environ["BENCH_SANDBOX_PID"])) - sandbox_cpu0
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = time.process_time() - cpu0
        cpu += (children.ru_utime - children0.ru_utime) + (children.ru_stime - children0.ru_stime)
        errors = [e for r in results for e in r.errors]
        if errors:
            raise RuntimeError(f"listing failed: {errors[:5]}")
        nodes = [
            n for access, r in zip(accesses, results, strict=True) for n in stamp(r.nodes, access)
        ]
        rt._save_inventory(nodes)
        regions = list(rt.regions)
    floor: Counter[str] = Counter()
    for access, result in zip(accesses, results, strict=True):
        for region in regions:
            ns = [n for n in result.nodes if n.region == region]
            floor["DescribeInstanceProperties"] += math.ceil(sum(n.managed for n in ns) / 1000)
            floor["DescribeInstanceInformation"] += 0  # the fallback is not taken
            floor["DescribeInstances"] += max(1, math.ceil(sum(not n.is_hybrid for n in ns) / 1000))
            floor["GetResources"] += get_resources_floor(ns)
            floor["ListTagsForResource"] += 0  # the per-node fallback is not taken
        del access
    return nodes, {
        "accounts": len(accesses),
        "regions": regions,
        "api_calls": dict(sorted(calls.items())),
        "api_floor": dict(sorted(floor.items())),
        "api_at_floor": all(calls[k] <= v for k, v in floor.items()),
        "listing_client_cpu_s": round(cpu, 2),
        "listing_wall_s": round(wall, 1),
        "listing_sandbox_cpu_s": round(sandbox_cpu, 1),
        # the sandbox is one Python process: its CPU over the wall time is how busy it kept
        # its one interpreter (near 1.0: the sandbox bounds the wall time, not the client)
        "sandbox_busy": round(sandbox_cpu / wall, 2) if wall else None,
    }


def run(size: int, accounts: int, child: Any, launches: int) -> dict[str, Any]:
    import tempfile

    from bench.listing import bench_env, sandbox_process, stand_aside
    from bench.measure import launches_and_keys
    from bench.tail import steps_report

    root = Path(__file__).resolve().parent.parent
    with (
        tempfile.TemporaryDirectory(prefix="sessiontui-bench-org-") as tmp,
        sandbox_process(size, accounts, ORG_REGIONS) as sb_env,
    ):
        env = {
            **bench_env(sb_env, tmp, root),
            "HOME": f"{tmp}/home",  # the AWS CLI's token cache, ours alone
            "BENCH_ARGS": json.dumps(role_args(accounts)),
        }
        os.environ.update(
            {
                k: v
                for k, v in env.items()
                if k.startswith(("AWS_", "XDG_", "SESSIONTUI_", "BENCH_")) or k == "HOME"
            }
        )
        print("signing in to Identity Center (device flow)...", file=sys.stderr, flush=True)
        sign_in(env)
        print(
            f"listing {size} nodes over {accounts} accounts and {len(ORG_REGIONS)} regions...",
            file=sys.stderr,
            flush=True,
        )
        nodes, listing = measure_org_listing(accounts)
        figures = launches_and_keys(child, env, root, launches)
        stand_aside(int(sb_env["BENCH_SANDBOX_PID"]))  # AWS's CPU is not the operator's
        print("during a live refresh of every account...", file=sys.stderr, flush=True)
        live = child("bench.live", env, "child")
    steps = steps_report(figures["interact"], live)
    result: dict[str, Any] = {
        "nodes": len(nodes),
        **{k: v for k, v in figures.items() if k != "interact"},
        **listing,
        "steps": steps,
        "interact": figures["interact"],
        "live": live,
    }
    result["targets_met"] = (
        result["nodes"] >= size
        and all(result[k] <= v for k, v in ORG_TARGETS.items())
        and listing["api_at_floor"]
        and steps["met"]
    )
    return result
