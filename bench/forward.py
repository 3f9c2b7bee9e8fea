"""Child process: the speed of a port forward through AWS's plugin and the sandbox's data
channel, against the same bytes over a direct TCP connection to the same destination (the floor).

Three measures, in one run, on one demo Sandbox started here:
- download: BENCH_FORWARD_MB MiB read from a chargen service (port 19) behind the node, through
  the forward and then directly;
- echo: the same amount written to an echo service and read back (bound by the upload: AWS's
  plugin sends at most 1024 bytes a message and sleeps 1 ms after each);
- set-up: 20 connections opened at once through the one multiplexed (smux) forward, until each
  has the service's greeting, and the same 20 directly.
The plugin is AWS's (plugin.locate.find_real_plugin); without one the stand-in is measured and
the result says so.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
from typing import Any

MIB = 1024 * 1024
TOTAL = int(float(os.environ.get("BENCH_FORWARD_MB", "8")) * MIB)
ECHO = TOTAL // 4  # the upload is slow by design (see above): a quarter keeps the run short
PARALLEL = 20
HOST, PORT = "bench.internal", 5432  # an echo service behind the node, with a one-line greeting


def _greeting(sock: socket.socket) -> bytes:
    data = b""
    while not data.endswith(b"\r\n"):
        chunk = sock.recv(4096)
        if not chunk:
            raise RuntimeError(f"closed before the greeting: {data!r}")
        data += chunk
    return data


def echo_seconds(addr: tuple[str, int], total: int) -> float:
    """Seconds to send `total` bytes and have them all back (after the greeting)."""
    with socket.create_connection(addr, timeout=60) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        _greeting(sock)
        block = os.urandom(64 * 1024)
        began = time.perf_counter()

        def write() -> None:
            sent = 0
            while sent < total:
                n = min(len(block), total - sent)
                sock.sendall(block[:n])
                sent += n

        writer = threading.Thread(target=write, daemon=True)
        writer.start()
        got = 0
        while got < total:
            chunk = sock.recv(256 * 1024)
            if not chunk:
                raise RuntimeError(f"closed after {got} of {total} bytes")
            got += len(chunk)
        took = time.perf_counter() - began
        writer.join()
    return took


def download_seconds(addr: tuple[str, int], total: int) -> float:
    with socket.create_connection(addr, timeout=60) as sock:
        began = time.perf_counter()
        got = 0
        while got < total:
            chunk = sock.recv(256 * 1024)
            if not chunk:
                raise RuntimeError(f"closed after {got} of {total} bytes")
            got += len(chunk)
        return time.perf_counter() - began


def _open_forward(plugin: Any, ssm: Any, creds: Any, target: str, host: str, port: int) -> Any:
    from sessiontui.aws.sessions import start_session
    from sessiontui.plugin.command import build_command

    started = start_session(
        ssm,
        target,
        document="AWS-StartPortForwardingSessionToRemoteHost",
        parameters={"host": [host], "portNumber": [str(port)], "localPortNumber": ["0"]},
    )
    cmd = build_command(plugin, started, creds)
    proc = subprocess.Popen(
        cmd.argv, env=cmd.env, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True
    )
    assert proc.stdout is not None
    for line in proc.stdout:
        m = re.match(r"Port (\d+) opened", line.strip())
        if m:
            threading.Thread(target=proc.stdout.read, daemon=True).start()
            return proc, started.session_id, ("127.0.0.1", int(m.group(1)))
    raise RuntimeError("the plugin opened no port")


def setup_seconds(addr: tuple[str, int], n: int) -> float:
    """Seconds until `n` connections opened at once all have the greeting."""
    barrier = threading.Barrier(n + 1)
    errors: list[BaseException] = []
    socks: list[socket.socket] = []

    def one() -> None:
        barrier.wait()
        try:
            sock = socket.create_connection(addr, timeout=30)
            socks.append(sock)
            _greeting(sock)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=one, daemon=True) for _ in range(n)]
    for t in threads:
        t.start()
    barrier.wait()
    began = time.perf_counter()
    for t in threads:
        t.join()
    took = time.perf_counter() - began
    for sock in socks:
        sock.close()
    if errors:
        raise RuntimeError(f"{len(errors)} of {n} connections failed: {errors[0]!r}")
    return took


def main() -> int:
    import boto3

    from sessiontui.core.credentials import Credentials
    from sessiontui.plugin.locate import find_real_plugin, locate_plugin
    from sessiontui_sandbox import Sandbox
    from sessiontui_sandbox.ssm_nodes import node_name

    real, why = find_real_plugin()
    with Sandbox() as sb:
        region = sb.regions[0]
        plugin = locate_plugin(str(real or sb.plugin_path))
        raw = sb.role_credentials("FleetAdmin")
        creds = Credentials(
            raw["AccessKeyId"], raw["SecretAccessKey"], raw["SessionToken"], raw["Expiration"]
        )
        ssm = boto3.client(
            "ssm", region_name=region, endpoint_url=sb.endpoint_url, **creds.boto_kwargs()
        )
        node = next(
            n
            for n in sb.state.nodes[region].values()
            if n.ping_status == "Online" and n.platform_type == "Linux"
        )
        name = node_name(region, node, node.instance_id)
        direct_echo = sb.state.services.get(node.instance_id, name, HOST, PORT)
        direct_gen = sb.state.services.get(node.instance_id, name, HOST, 19)
        forwards = [
            _open_forward(plugin, ssm, creds, node.instance_id, HOST, p) for p in (PORT, 19)
        ]
        try:
            (_, _, echo), (_, _, gen) = forwards
            echo_seconds(echo, MIB)  # warm: the first stream, the destination's first dial
            timings = {
                "download": (download_seconds(gen, TOTAL), download_seconds(direct_gen, TOTAL)),
                "echo": (echo_seconds(echo, ECHO), echo_seconds(direct_echo, ECHO)),
                "setup": (setup_seconds(echo, PARALLEL), setup_seconds(direct_echo, PARALLEL)),
            }
        finally:
            for proc, sid, _ in forwards:
                proc.terminate()
                proc.wait(timeout=10)
                ssm.terminate_session(SessionId=sid)
    mb = TOTAL / MIB
    result: dict[str, Any] = {
        "plugin": "real" if real else "stand-in",
        "plugin_version": plugin.version,
        "why_not_real": why,
        "parallel_connections": PARALLEL,
    }
    for part, size in (("download", mb), ("echo", ECHO / MIB)):
        fwd, floor = timings[part]
        result[f"{part}_mib"] = size
        result[f"{part}_forward_mib_s"] = round(size / fwd, 2)
        result[f"{part}_direct_mib_s"] = round(size / floor, 2)
        result[f"{part}_ratio"] = round(floor / fwd, 4)  # forward speed / the floor's
    fwd, floor = timings["setup"]
    result["setup_forward_s"] = round(fwd, 4)
    result["setup_direct_s"] = round(floor, 4)
    result["setup_ratio"] = round(fwd / floor, 1)  # times the floor's set-up time
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
