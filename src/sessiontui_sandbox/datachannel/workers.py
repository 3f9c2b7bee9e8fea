"""What runs behind a session on the node: a shell on a real pty, or connections to the port a
forward reaches (smux v1 streams, one basic connection, or standard-stream forwarding)."""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import termios
import threading
from collections.abc import Callable
from typing import Protocol

from sessiontui_sandbox.datachannel import frames, smux
from sessiontui_sandbox.node_host import SHELL_USER, host_env, write_rcfile

Send = Callable[[int, bytes], object]  # (payload type, payload): channel.send
READ_SIZE = 16384


class Worker(Protocol):
    def start(self) -> None: ...
    def write(self, data: bytes) -> None: ...
    def resize(self, cols: int, rows: int) -> None: ...
    def flag(self, value: int) -> None: ...
    def tick(self) -> None: ...
    def stop(self) -> None: ...


class ShellWorker:
    """bash on a pty whose controlling terminal it is (so \\x03 interrupts, sizes reach it)."""

    def __init__(self, node_name: str, send: Send, on_exit: Callable[[], None], command: str = ""):
        self.node_name = node_name
        self.send = send
        self.on_exit = on_exit
        self.command = command
        self.home = ""
        self.master = -1
        self.proc: subprocess.Popen[bytes] | None = None
        self._stopping = False

    def start(self) -> None:
        self.home = tempfile.mkdtemp(prefix="ssm-user-")
        rc = write_rcfile(self.home)
        env = {**host_env(self.node_name, self.home, SHELL_USER), "TERM": "xterm-256color"}
        master, slave = os.openpty()
        fcntl.ioctl(master, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
        argv = ["bash", "--noprofile", "--rcfile", rc, "-i"]
        if self.command:
            argv += ["-c", self.command]
        # The pty must be the shell's controlling terminal (so \x03 interrupts and sizes reach
        # it): a tiny launcher takes it, then becomes bash. No preexec_fn, which is unsafe in the
        # sandbox's threaded process.
        launcher = (
            "import fcntl, os, sys, termios; fcntl.ioctl(0, termios.TIOCSCTTY, 0); "
            "os.execvp(sys.argv[1], sys.argv[1:])"
        )
        self.proc = subprocess.Popen(
            [sys.executable, "-S", "-c", launcher, *argv],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=env,
            cwd=self.home,
            start_new_session=True,
            close_fds=True,
        )
        os.close(slave)
        self.master = master
        threading.Thread(target=self._read, name="sandbox-shell", daemon=True).start()

    def _read(self) -> None:
        while True:
            try:
                data = os.read(self.master, READ_SIZE)
            except OSError:
                data = b""
            if not data:
                break
            self.send(frames.P_OUTPUT, data)
        if self.proc is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=5)
        with contextlib.suppress(OSError):
            os.close(self.master)
        shutil.rmtree(self.home, ignore_errors=True)
        if not self._stopping:
            self.on_exit()

    def write(self, data: bytes) -> None:
        with contextlib.suppress(OSError):
            os.write(self.master, data)

    def resize(self, cols: int, rows: int) -> None:
        if cols > 0 and rows > 0:
            with contextlib.suppress(OSError):
                fcntl.ioctl(self.master, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))

    def flag(self, value: int) -> None:
        pass

    def tick(self) -> None:
        pass

    def stop(self) -> None:
        self._stopping = True
        if self.proc is not None and self.proc.poll() is None:
            for sig in (signal.SIGHUP, signal.SIGKILL):
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(self.proc.pid, sig)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=2)


def _dial(dest: tuple[str, int] | None) -> socket.socket | None:
    if dest is None:
        return None
    try:
        sock = socket.create_connection(dest, timeout=5)
    except OSError:
        return None
    sock.settimeout(None)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(OSError):
        sock.close()


class BasicWorker:
    """One connection to the destination at a time; its bytes are the Output payloads, raw.
    Basic port mode (old agents) and standard-stream forwarding (AWS-StartSSHSession) alike."""

    def __init__(
        self, dest: tuple[str, int] | None, send: Send, on_fail: Callable[[], None]
    ) -> None:
        self.dest = dest
        self.send = send
        self.on_fail = on_fail
        self.sock: socket.socket | None = None
        self._lock = threading.Lock()
        self._stopped = False

    def start(self) -> None:
        self._connect()

    def _connect(self) -> None:
        sock = _dial(self.dest)
        if sock is None:
            self.on_fail()
            return
        with self._lock:
            if self._stopped:
                _close(sock)
                return
            self.sock = sock
        threading.Thread(target=self._read, args=(sock,), name="sandbox-port", daemon=True).start()

    def _read(self, sock: socket.socket) -> None:
        # There is no frame for "the destination closed" in basic mode (ssm-data-channel.md §10).
        with contextlib.suppress(OSError):
            while True:
                data = sock.recv(READ_SIZE)
                if not data:
                    break
                self.send(frames.P_OUTPUT, data)

    def write(self, data: bytes) -> None:
        sock = self.sock
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.sendall(data)

    def resize(self, cols: int, rows: int) -> None:
        pass

    def flag(self, value: int) -> None:
        if value == frames.FLAG_DISCONNECT_TO_PORT:
            # The local client went away: a fresh destination connection for the next one.
            with self._lock:
                old, self.sock = self.sock, None
            if old is not None:
                _close(old)
            self._connect()

    def tick(self) -> None:
        pass

    def stop(self) -> None:
        with self._lock:
            self._stopped = True
            old, self.sock = self.sock, None
        if old is not None:
            _close(old)


class MuxWorker:
    """The smux v1 server end: each stream the plugin opens is one destination connection."""

    KEEPALIVE_SECONDS = 10.0

    def __init__(self, dest: tuple[str, int] | None, send: Send, keepalive: bool) -> None:
        self.dest = dest
        self.send = send
        self.keepalive = keepalive
        self.reader = smux.Reader()
        self.streams: dict[int, socket.socket] = {}
        self._lock = threading.Lock()
        self._ticks = 0
        self.failed = False

    def start(self) -> None:
        pass  # nothing goes out before the plugin speaks (its mux client may not exist yet)

    def write(self, data: bytes) -> None:
        try:
            parsed = self.reader.feed(data)
        except smux.ProtocolError:
            self.failed = True
            return
        for cmd, sid, body in parsed:
            if cmd == smux.SYN:
                self._open(sid)
            elif cmd == smux.PSH:
                with self._lock:
                    sock = self.streams.get(sid)
                if sock is not None:
                    with contextlib.suppress(OSError):
                        sock.sendall(body)
            elif cmd == smux.FIN:
                with self._lock:
                    sock = self.streams.get(sid)
                if sock is not None:
                    with contextlib.suppress(OSError):
                        sock.shutdown(socket.SHUT_WR)

    def _open(self, sid: int) -> None:
        sock = _dial(self.dest)
        if sock is None:
            self.send(frames.P_FLAG, struct.pack(">I", frames.FLAG_CONNECT_TO_PORT_ERROR))
            self.send(frames.P_OUTPUT, smux.frame(smux.FIN, sid))
            return
        with self._lock:
            self.streams[sid] = sock
        threading.Thread(
            target=self._read, args=(sid, sock), name="sandbox-mux", daemon=True
        ).start()

    def _read(self, sid: int, sock: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while True:
                data = sock.recv(READ_SIZE)
                if not data:
                    break
                self.send(frames.P_OUTPUT, smux.push(sid, data))
        self.send(frames.P_OUTPUT, smux.frame(smux.FIN, sid))
        with self._lock:
            self.streams.pop(sid, None)
        _close(sock)

    def resize(self, cols: int, rows: int) -> None:
        pass

    def flag(self, value: int) -> None:
        pass

    def tick(self) -> None:
        """Every 0.5 s: old agents' plugins close an smux session that is quiet for 30 s."""
        self._ticks += 1
        if self.keepalive and self._ticks % int(self.KEEPALIVE_SECONDS / 0.5) == 0:
            self.send(frames.P_OUTPUT, smux.frame(smux.NOP, 0))

    def stop(self) -> None:
        with self._lock:
            socks = list(self.streams.values())
            self.streams.clear()
        for sock in socks:
            _close(sock)
