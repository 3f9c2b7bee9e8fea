"""The listing half of the benchmark: API calls by kind and client-side seconds for a large fleet.

The sandbox runs in its own process so this process's CPU time is the client's alone: botocore's
request building and parsing, merging, tags. Server time is excluded by construction.
"""

from __future__ import annotations

import contextlib
import math
import os
import resource
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench.measure import get_resources_floor
from sessiontui.core.node import Node


@contextmanager
def sandbox_process(
    size: int, accounts: int = 1, regions: list[str] | None = None
) -> Iterator[dict[str, str]]:
    """A `--fleet large` sandbox in a child process; yields its environment. Over several
    accounts, Identity Center sign-in codes are approved by the sandbox itself."""
    argv = [sys.executable, "-m", "sessiontui_sandbox", "--fleet", "large", "--size", str(size)]
    if accounts > 1:
        argv += ["--accounts", str(accounts), "--sso-auto-approve"]
    if regions:
        argv += ["--regions", ",".join(regions)]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
    env: dict[str, str] = {}
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith("export "):
                key, _, value = line[len("export ") :].rstrip("\n").partition("=")
                env[key] = value.strip("'")
            elif line.startswith("# sandbox on"):
                break
        if proc.poll() is not None:
            raise RuntimeError("the sandbox process died while seeding")
        env["BENCH_SANDBOX_PID"] = str(proc.pid)  # its CPU shows what bounds the wall time
        yield env
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def bench_env(sb_env: dict[str, str], tmp: str, root: Path) -> dict[str, str]:
    """The environment of the measured children: the sandbox's, caches and state in `tmp` (no
    operator's files), this checkout first on the path, no profile of the operator's."""
    env = {
        **os.environ,
        **sb_env,
        "XDG_CACHE_HOME": f"{tmp}/cache",
        "XDG_STATE_HOME": f"{tmp}/state",
        "PYTHONPATH": str(root) + os.pathsep + os.environ.get("PYTHONPATH", ""),
    }
    env.pop("AWS_PROFILE", None)
    return env


def stand_aside(pid: int, niceness: int = 19) -> None:
    """Lower the sandbox's priority, every thread of it (Linux's nice is per thread; the ones
    it starts later inherit it). The sandbox stands in for AWS, whose CPU is not the operator's:
    on this 2-core machine its one busy core beside the listing child took the TUI's cursor
    step p95 from 7.7 to 14.7 ms with no TUI work changed (docs/performance.md)."""
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError):
            os.setpriority(os.PRIO_PROCESS, int(task.name), niceness)


def measure_listing(env: dict[str, str], mode: str = "child") -> tuple[list[Node], dict[str, Any]]:
    """One listing of the sandbox's fleet, its API calls and client CPU, in every process it uses.

    mode "child": as the TUI lists, in a child process (its CPU is counted, boto3's import in it
    included); "lean": in this process, as `--list` does; "botocore": in this process with
    botocore parsing every field of every answer, the lean parsing's baseline.
    """
    from collections import Counter

    from sessiontui.aws import lean_answers
    from sessiontui.aws.clients import ClientFactory
    from sessiontui.aws.inventory import list_fleet
    from sessiontui.aws.listing_process import list_fleet_in_child
    from sessiontui.aws.metering import CallMeter

    os.environ.update(env)
    regions = ["us-east-1", "eu-west-1"]
    factory = ClientFactory()
    calls: Counter[str] = Counter()
    attach = lean_answers.attach
    if mode == "botocore":
        lean_answers.attach = lambda client: None
    try:
        if mode != "child":
            factory.client("ssm", regions[0])  # boto3's import here belongs to start-up
        children0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu0, wall0 = time.process_time(), time.perf_counter()
        if mode == "child":
            result = list_fleet_in_child(factory, regions, calls=calls)
        else:
            meter = CallMeter()
            result = list_fleet(factory, regions, meter=meter)
            calls = meter.calls
        cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu += (children.ru_utime - children0.ru_utime) + (children.ru_stime - children0.ru_stime)
    finally:
        lean_answers.attach = attach
    if result.errors:
        raise RuntimeError(f"listing failed: {result.errors}")
    nodes = result.nodes
    per_region = {r: [n for n in nodes if n.region == r] for r in regions}
    floor = {
        "DescribeInstanceProperties": sum(
            math.ceil(sum(n.managed for n in ns) / 1000) for ns in per_region.values()
        ),
        "DescribeInstanceInformation": 0,  # the fallback, for identities refused the newer call
        "DescribeInstances": sum(
            max(1, math.ceil(sum(not n.is_hybrid for n in ns) / 1000)) for ns in per_region.values()
        ),
        "GetResources": sum(get_resources_floor(ns) for ns in per_region.values()),
        "ListTagsForResource": 0,  # the per-node fallback, for identities denied GetResources
    }
    return nodes, {
        "api_calls": dict(sorted(calls.items())),
        "api_floor": floor,
        "api_at_floor": all(calls[k] <= v for k, v in floor.items()),
        "listing_client_cpu_s": round(cpu, 3),
        "listing_wall_s": round(wall, 3),
    }


def listing_ab(env: dict[str, str], rounds: int = 3) -> dict[str, Any]:
    """The listing through DescribeInstanceProperties (1,000 nodes a call) against the one an
    identity refused it makes (DescribeInstanceInformation, 50 a call, after one refusal per
    region), alternating in one run against one sandbox: calls, wall time and client CPU, medians.
    The refusal is the sandbox's own fault switch (its control endpoint, with its secret)."""
    import json
    import statistics
    import urllib.request

    def deny(actions: list[str]) -> None:
        request = urllib.request.Request(
            f"{env['AWS_ENDPOINT_URL']}/_sandbox/control",
            data=json.dumps({"denied_actions": actions}).encode(),
            method="POST",
            headers={
                "Content-Type": "application/json",
                "Authorization": f"Bearer {env['SESSIONTUI_SANDBOX_TOKEN']}",
            },
        )
        with urllib.request.urlopen(request, timeout=10):
            pass

    runs: dict[str, list[dict[str, Any]]] = {"properties": [], "information": []}
    try:
        for _ in range(rounds):
            for name, denied in (
                ("information", ["ssm:DescribeInstanceProperties"]),
                ("properties", []),
            ):
                deny(denied)
                _, figures = measure_listing(env, "child")
                runs[name].append(figures)
    finally:
        deny([])
    out: dict[str, Any] = {"rounds": rounds}
    for name, found in runs.items():
        out[name] = {
            "api_calls": found[-1]["api_calls"],
            "wall_s_median": round(statistics.median(f["listing_wall_s"] for f in found), 3),
            "client_cpu_s_median": round(
                statistics.median(f["listing_client_cpu_s"] for f in found), 3
            ),
            "wall_s": [f["listing_wall_s"] for f in found],
            "client_cpu_s": [f["listing_client_cpu_s"] for f in found],
        }
    return out
