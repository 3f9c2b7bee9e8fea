"""The sandbox's OpenSSH servers (sandbox/sshd.py): none until a session needs one, port 22 of a
node is its sshd for port forwards too, and stopping the sandbox stops them."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from cli_support import alive, cli_env, lasting_code
from sessiontui_sandbox import Sandbox, sshd

pytestmark = pytest.mark.skipif(bool(sshd.missing()), reason=sshd.missing() or "sshd available")


def _banner(port: int) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        return s.recv(256)


def _sshd_pids(sb: Any) -> list[int]:
    folder = sb.ssh.folder
    return [int(p.read_text()) for p in Path(folder).glob("sshd-*.pid")]


def test_sshd_starts_on_first_need_answers_port_22_forwards_and_stops_with_the_sandbox(
    tmp_path: Path,
) -> None:
    with Sandbox() as sb:
        assert sb.ssh is not None and sb.ssh.running() == {}  # sandbox start pays nothing for it
        folder = Path(sb.ssh.folder)
        assert not folder.exists()
        env = cli_env(sb, tmp_path)
        code = lasting_code(sb)
        argv = ["--connect", "prod-web-01", "--forward", "0:22", "--json", "--role", "ProdOps"]
        proc = subprocess.Popen(
            [sys.executable, "-m", "sessiontui", *argv, "--reason", "SSHD-1", "--mfa-code", code],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            stdin=subprocess.DEVNULL,
        )
        try:
            assert proc.stdout is not None
            line = proc.stdout.readline()
            assert line, proc.communicate(timeout=10)[1]
            ready = json.loads(line)
            # through the forward, the node's port 22 is a real OpenSSH server
            assert _banner(ready["local_port"]).startswith(b"SSH-2.0-OpenSSH_")
            running = sb.ssh.running()
            assert list(running) == [ready["target"]]
            assert _banner(running[ready["target"]]).startswith(b"SSH-2.0-OpenSSH_")
            conf = (folder / f"sshd-{ready['target']}.conf").read_text()
            assert "ListenAddress 127.0.0.1:" in conf and "UsePAM no" in conf
            assert "PasswordAuthentication no" in conf and 'SSM_NODE_NAME=prod-web-01"' in conf
        finally:
            proc.terminate()
            proc.wait(timeout=20)
        pids = _sshd_pids(sb)
        assert pids and all(alive(p) for p in pids)
    deadline = time.monotonic() + 10
    while any(alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(alive(p) for p in pids)
    assert not folder.exists()  # the keys went with the temp folder
