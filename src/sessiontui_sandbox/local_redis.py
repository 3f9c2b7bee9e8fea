"""A real Redis behind the demo's ElastiCache group, started lazily like the nodes' sshd.

Debian's `redis-server` on 127.0.0.1 with a free port and `requirepass` set to the AUTH token the
sandbox keeps in Secrets Manager. The configuration goes in on stdin (`redis-server -`), so the
token is in no process's argv and in no file.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

REDIS_SERVER = "redis-server"
START_TIMEOUT = 10.0


def missing() -> str:
    """Why the sandbox cannot run Redis here ("" when it can)."""
    if shutil.which(REDIS_SERVER) is None:
        return "redis-server is not installed (apt-get install redis-server)"
    return ""


class RedisError(RuntimeError):
    """Redis could not be started."""


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LocalRedis:
    """One server; `address()` starts it on first use."""

    def __init__(self, password: str) -> None:
        self._password = password
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None
        self._port = 0
        self._folder: Path | None = None
        self._closed = False

    def address(self) -> tuple[str, int]:
        with self._lock:
            if self._closed:
                raise RedisError("the sandbox is stopping")
            if self._proc is None or self._proc.poll() is not None:
                why = missing()
                if why:
                    raise RedisError(why)
                self._start()
            return "127.0.0.1", self._port

    def _start(self) -> None:
        self._folder = Path(tempfile.mkdtemp(prefix="sessiontui-redis-"))
        last = ""
        for _ in range(3):  # a free port may be taken between the probe and the bind
            port = _free_port()
            config = "\n".join(
                [
                    "bind 127.0.0.1",
                    f"port {port}",
                    f"dir {self._folder}",
                    'save ""',
                    "appendonly no",
                    "daemonize no",
                    "protected-mode yes",
                    f'requirepass "{self._password}"',
                    "",
                ]
            )
            proc = subprocess.Popen(
                [REDIS_SERVER, "-"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            assert proc.stdin is not None and proc.stdout is not None
            proc.stdin.write(config.encode())
            proc.stdin.close()
            deadline = time.monotonic() + START_TIMEOUT
            while time.monotonic() < deadline:
                with (
                    contextlib.suppress(OSError),
                    socket.create_connection(("127.0.0.1", port), timeout=0.5),
                ):
                    self._proc, self._port = proc, port
                    # its log goes nowhere: nobody reads the pipe after this
                    threading.Thread(target=_drain, args=(proc,), daemon=True).start()
                    return
                if proc.poll() is not None:
                    last = proc.stdout.read().decode(errors="replace").strip()[-200:]
                    break
                time.sleep(0.05)
            else:
                _stop(proc)
                last = "redis-server did not listen in time"
        raise RedisError(f"redis-server did not start: {last}")

    def close(self) -> None:
        with self._lock:
            self._closed = True
            proc, self._proc = self._proc, None
            folder, self._folder = self._folder, None
        if proc is not None:
            _stop(proc)
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)


def _drain(proc: subprocess.Popen[bytes]) -> None:
    assert proc.stdout is not None
    with contextlib.suppress(OSError, ValueError):
        while proc.stdout.read(4096):
            pass


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)
