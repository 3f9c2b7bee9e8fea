"""The data channel's websocket listener: its own loopback port beside the moto server (which
cannot hold a websocket), started and stopped with the Sandbox.

StreamUrl `ws://127.0.0.1:PORT/v1/data-channel/SESSION_ID?role=publish_subscribe`; a client is
who the TokenValue of its OpenDataChannel frame says (ssm-data-channel.md §2-3). Upgrade requests
signed with SigV4 (plugins from 1.2.688.0) must be signed by a key the sandbox issued; a browser's
upgrade (it carries an Origin) must come from the sandbox's own pages.
"""

from __future__ import annotations

import contextlib
import hmac
import json
import logging
import threading
from http import HTTPStatus
from typing import TYPE_CHECKING

from sessiontui_sandbox import auth, local_guard
from sessiontui_sandbox.datachannel.agent import SessionAgent

if TYPE_CHECKING:
    from websockets.http11 import Request, Response
    from websockets.sync.server import Server, ServerConnection

    from sessiontui_sandbox.state import SandboxState

log = logging.getLogger("sessiontui_sandbox")

PATH_PREFIX = "/v1/data-channel/"
OPEN_TIMEOUT = 45.0  # the plugin's own handshake timeout
TICK = 0.1


class DataChannelServer:
    def __init__(self, state: SandboxState, host: str = "127.0.0.1") -> None:
        self.state = state
        self.host = host
        self.port = 0
        self.agents: dict[str, SessionAgent] = {}
        self._lock = threading.Lock()
        self._server: Server | None = None
        self._threads: list[threading.Thread] = []
        self._stop = threading.Event()

    def url(self, session_id: str) -> str:
        return f"ws://{self.host}:{self.port}{PATH_PREFIX}{session_id}?role=publish_subscribe"

    def drop(self, session_ids: list[str]) -> int:
        """The `drop_channels` fault: cut these sessions' websockets; how many were open."""
        with self._lock:
            agents = [self.agents[s] for s in session_ids if s in self.agents]
        return sum(agent.drop() for agent in agents)

    # -- life -------------------------------------------------------------------------------------
    def start(self) -> DataChannelServer:
        from websockets.sync.server import serve

        self._server = serve(
            self._handle,
            self.host,
            0,
            process_request=self._check_upgrade,
            compression=None,  # the plugin never offers it
            max_size=None,
            ping_interval=None,  # the plugin pings us; we answer, as websockets does by itself
            open_timeout=OPEN_TIMEOUT,
            close_timeout=2,
            logger=logging.getLogger("sessiontui_sandbox.datachannel"),
        )
        self.port = int(self._server.socket.getsockname()[1])
        for target, name in ((self._server.serve_forever, "serve"), (self._tick_forever, "tick")):
            thread = threading.Thread(
                target=target, name=f"sandbox-datachannel-{name}", daemon=True
            )
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._server is not None:
            self._server.shutdown()
        with self._lock:
            agents = list(self.agents.values())
        for agent in agents:
            agent.stop()
        for thread in self._threads:
            thread.join(timeout=5)
        self._threads.clear()

    def _tick_forever(self) -> None:
        n = 0
        while not self._stop.wait(TICK):
            n += 1
            with self._lock:
                agents = list(self.agents.values())
            for agent in agents:
                try:
                    agent.channel.resend_due()
                    if n % 5 == 0:
                        agent.tick()
                except Exception:
                    log.exception("data channel tick failed for %s", agent.record.session_id)

    # -- one connection -----------------------------------------------------------------------------
    def _check_upgrade(self, conn: ServerConnection, request: Request) -> Response | None:
        path = request.path.split("?", 1)[0]
        if not path.startswith(PATH_PREFIX):
            return conn.respond(HTTPStatus.NOT_FOUND, "no such data channel\n")
        origin = request.headers.get("Origin")
        if origin is not None and not local_guard.origin_allowed(origin, self._own_origins()):
            # a web page's script: browsers always say where it came from; plugins send none
            return conn.respond(HTTPStatus.FORBIDDEN, "cross-origin websocket refused\n")
        authorization = request.headers.get("Authorization")
        if authorization and not self._signature_ok(request, authorization):
            return conn.respond(HTTPStatus.FORBIDDEN, "signature does not match\n")
        return None

    def _signature_ok(self, request: Request, authorization: str) -> bool:
        """Newer plugins sign the upgrade: with a key the sandbox issued, or it is refused."""
        path, _, query = request.path.partition("?")
        headers = {name.lower(): value for name, value in request.headers.raw_items()}
        return auth.websocket_signed_by_issuer(self.state, path, query, headers, authorization)

    def _own_origins(self) -> set[str]:
        """The sandbox's own pages (its HTTP endpoint) and this listener, by any loopback name."""
        ports = {self.port}
        endpoint = self.state.endpoint_url
        if endpoint:
            ports.add(int(endpoint.rsplit(":", 1)[1]))
        return {
            f"{scheme}://{host}"
            for scheme in ("http", "ws")
            for host in local_guard.own_hosts(self.host, ports)
        }

    def _handle(self, conn: ServerConnection) -> None:
        assert conn.request is not None
        session_id = conn.request.path.split("?", 1)[0][len(PATH_PREFIX) :]
        try:
            first = conn.recv(timeout=OPEN_TIMEOUT)
            token = str(json.loads(first).get("TokenValue", ""))
        except Exception:
            conn.close(1008, "expected OpenDataChannel")
            return
        record = self.state.sessions.get(session_id)
        if record is None or not hmac.compare_digest(token.encode(), record.token.encode()):
            # The plugin takes a close as a read error and resumes with a fresh token (§8).
            conn.close(1008, "bad token")
            return
        with self._lock:
            agent = self.agents.get(session_id)
            if agent is None:
                node = self.state.find_node(record.region, record.target)
                version = node.agent_version if node is not None else "3.3.987.0"
                agent = SessionAgent(self.state, record, version)
                self.agents[session_id] = agent
        silent = record.target in self.state.faults.silent_agents
        agent.serve(conn, silent)
        with contextlib.suppress(Exception):
            conn.close()
