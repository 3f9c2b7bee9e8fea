"""Small local TCP services standing in for the ports behind port forwards.

Started lazily, one per (node, host, port), on 127.0.0.1 with an OS-chosen port, and reused.
"""

from __future__ import annotations

import contextlib
import socket
import socketserver
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sessiontui_sandbox.databases import DemoDatabases
    from sessiontui_sandbox.sshd import SandboxSshd

SSH_PORT = 22
HTTP_PORTS = {80, 8080, 443}
BANNERS = {5432: "PostgreSQL", 3306: "MySQL", 6379: "Redis"}
CHARGEN_PORT = 19  # RFC 864: bytes until the client hangs up (how fast a forward downloads)
_CHARGEN = bytes(range(32, 127)) * 700


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128  # socketserver's 5 drops bursts (20 forwarded connections at once)

    def __init__(self, greeting: str, http: bool, chargen: bool = False) -> None:
        self.greeting = greeting
        self.http = http
        self.chargen = chargen
        self.conns: set[socket.socket] = set()
        self.conns_lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), _Handler)


class _Handler(socketserver.BaseRequestHandler):
    server: _Server

    def handle(self) -> None:
        sock: socket.socket = self.request
        with self.server.conns_lock:
            self.server.conns.add(sock)
        try:
            if self.server.chargen:
                while True:
                    sock.sendall(_CHARGEN)
            elif self.server.http:
                self._http(sock)
            else:
                self._echo(sock)
        except OSError:
            pass
        finally:
            with self.server.conns_lock:
                self.server.conns.discard(sock)

    def _http(self, sock: socket.socket) -> None:
        data = b""
        while b"\r\n\r\n" not in data and b"\n\n" not in data and len(data) < 65536:
            chunk = sock.recv(4096)
            if not chunk:
                break
            data += chunk
        body = self.server.greeting.encode()
        head = (
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        )
        sock.sendall(head.encode() + body)

    def _echo(self, sock: socket.socket) -> None:
        sock.sendall(self.server.greeting.encode())
        while True:
            chunk = sock.recv(4096)
            if not chunk:
                return
            sock.sendall(chunk)


class LocalServices:
    """The services behind forwards; `get` returns where one listens, None for a closed port."""

    def __init__(self, sshd: SandboxSshd | None = None) -> None:
        self.sshd = sshd  # port 22 on a node (AWS-StartSSHSession, or a forward to 22)
        # the demo's databases (sandbox/databases.py): their endpoints, served by real servers
        self.databases: DemoDatabases | None = None
        self._servers: dict[tuple[str, str, int], tuple[_Server, threading.Thread]] = {}
        self._lock = threading.Lock()
        self._closed = False

    def get(self, node_id: str, node_name: str, host: str, port: int) -> tuple[str, int] | None:
        if port == SSH_PORT and not host:
            return self.sshd.address(node_id, node_name) if self.sshd is not None else None
        if host and self.databases is not None:
            served = self.databases.address(host, port)
            if served is not None:
                return served
        chargen = port == CHARGEN_PORT
        if port in HTTP_PORTS:
            where = f"{host} via {node_name}" if host else node_name
            greeting, http = f"hello from {where}\n", True
        elif chargen:
            greeting, http = "", False
        elif port in BANNERS:
            greeting = f"{BANNERS[port]} stand-in on {host or node_name} via {node_name}\r\n"
            http = False
        else:
            return None
        key = (node_id, host, port)
        with self._lock:
            if self._closed:
                return None
            found = self._servers.get(key)
            if found is None:
                server = _Server(greeting, http, chargen)
                thread = threading.Thread(
                    target=server.serve_forever,
                    kwargs={"poll_interval": 0.2},
                    name=f"sandbox-service-{node_id}-{port}",
                    daemon=True,
                )
                thread.start()
                found = (server, thread)
                self._servers[key] = found
        addr = found[0].server_address
        return str(addr[0]), int(addr[1])

    def count(self) -> int:
        with self._lock:
            return len(self._servers)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            servers = list(self._servers.values())
            self._servers.clear()
        if self.sshd is not None:
            self.sshd.close()
        if self.databases is not None:
            self.databases.close()
        for server, thread in servers:
            server.shutdown()
            server.server_close()
            with server.conns_lock:
                conns = list(server.conns)
            for sock in conns:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
            thread.join(timeout=5)
