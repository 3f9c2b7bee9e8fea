"""Start, stop, the large fleet and `python -m sessiontui_sandbox`, each in a fresh interpreter.

A fresh process because only one Sandbox runs per process and the session fixture holds it.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

LIFECYCLE = textwrap.dedent(
    """
    import json, socket, threading, boto3
    from sessiontui_sandbox import Sandbox
    before = {t.name for t in threading.enumerate()}
    sb = Sandbox(fleet="large", size=200)
    with sb:
        port, tmp = sb.port, sb.tmpdir
        ssm = boto3.client("ssm", region_name="eu-west-1", endpoint_url=sb.endpoint_url,
                           aws_access_key_id=sb.env()["AWS_ACCESS_KEY_ID"],
                           aws_secret_access_key=sb.env()["AWS_SECRET_ACCESS_KEY"])
        nodes = [i for p in ssm.get_paginator("describe_instance_information").paginate(
                 PaginationConfig={"PageSize": 50}) for i in p["InstanceInformationList"]]
        sb.state.services.get("i-1", "n", "", 80)
        start = sb.start_seconds
    sb.stop()
    after = {t.name for t in threading.enumerate()}
    probe = socket.socket()
    refused = probe.connect_ex(("127.0.0.1", port)) != 0
    again = Sandbox(fleet="empty")
    again.start(); again.stop()
    print(json.dumps({"nodes": len(nodes),
                      "hybrid": sum(n["InstanceId"].startswith("mi-") for n in nodes),
                      "leaked": sorted(after - before), "refused": refused,
                      "tmp_gone": not tmp.exists(), "start": start}))
    """
)


def test_start_stop_is_clean_idempotent_and_large_fleet_seeds() -> None:
    out = subprocess.run(
        [sys.executable, "-c", LIFECYCLE], capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["nodes"] == 100  # half of 200 in each region
    assert result["hybrid"] == 10
    assert result["leaked"] == []
    assert result["refused"] and result["tmp_gone"]
    assert result["start"] < 10


def test_module_prints_exports_and_stops_on_sigterm() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "sessiontui_sandbox", "--fleet", "empty"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        lines = []
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            line = proc.stdout.readline() if proc.stdout else ""
            if not line or line.startswith("#"):
                break
            lines.append(line)
        exports = dict(line.removeprefix("export ").strip().split("=", 1) for line in lines)
        assert exports["AWS_ENDPOINT_URL"].startswith("http://127.0.0.1:")
        assert "SESSIONTUI_CONFIG" in exports and "AWS_PROFILE" not in exports
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
