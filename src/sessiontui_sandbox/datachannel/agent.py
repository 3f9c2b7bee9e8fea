"""The SSM agent's end of one session's data channel: the handshake, then a shell or a port
worker; every way the server ends a session becomes a channel_closed, never a bare close.

One SessionAgent per session, made on the first good connection and kept across reconnects.
"""

from __future__ import annotations

import contextlib
import json
import socket
import struct
import threading
import time
from typing import TYPE_CHECKING

from sessiontui_sandbox import ssm_sessions
from sessiontui_sandbox.datachannel import frames
from sessiontui_sandbox.datachannel.channel import Channel, Sender
from sessiontui_sandbox.datachannel.frames import ClientMessage
from sessiontui_sandbox.datachannel.workers import BasicWorker, MuxWorker, ShellWorker, Worker
from sessiontui_sandbox.demo import IDLE_SESSION_MINUTES

if TYPE_CHECKING:
    from websockets.sync.server import ServerConnection

    from sessiontui_sandbox.state import SandboxState, SessionRecord

SHELL_DOCUMENTS = {
    "SSM-SessionManagerRunShell",
    "AWS-StartInteractiveCommand",
    "AWS-StartNonInteractiveCommand",
}
LOCAL_PORT_DOCUMENTS = {
    "AWS-StartPortForwardingSession",
    "AWS-StartPortForwardingSessionToRemoteHost",
}
IDLE_REASON = "Your session timed out due to inactivity and has been terminated."
PORT_FAILED_REASON = (
    "Unable to start the port forwarding session: connection to destination failed."
)


def _first(params: dict[str, list[str]], name: str, default: str = "") -> str:
    values = params.get(name) or []
    return str(values[0]) if values else default


class SessionAgent:
    def __init__(self, state: SandboxState, record: SessionRecord, agent_version: str) -> None:
        self.state = state
        self.record = record
        self.agent_version = agent_version
        self.channel = Channel(frames.OUTPUT)
        self.worker: Worker | None = None
        self.handshake_sent = False
        self.ready = False
        self.ended = False
        self.end_output = ""
        self._lock = threading.Lock()
        self._conn: ServerConnection | None = None
        self._opened_at = 0.0  # time.monotonic() when the current websocket was taken
        self.closes = 0  # websockets the service closed at the end of their lifetime
        self._started = time.monotonic()
        self.last_activity = state.time()
        self.shell = record.document in SHELL_DOCUMENTS

    # -- the handshake ----------------------------------------------------------------------------
    def _properties(self) -> dict[str, str]:
        p = self.record.parameters
        if self.record.document == "AWS-StartSSHSession":
            return {"portNumber": _first(p, "portNumber", "22")}  # no type: standard streams
        return {
            "portNumber": _first(p, "portNumber", "80"),
            "localPortNumber": _first(p, "localPortNumber", "0"),
            "type": "LocalPortForwarding",
        }

    def _handshake_request(self) -> bytes:
        if self.shell:
            params: dict[str, object] = {"SessionType": "Standard_Stream", "Properties": {}}
        else:
            params = {"SessionType": "Port", "Properties": self._properties()}
        # Never KMSEncryption: the plugin would call the real KMS (ssm-data-channel.md §1).
        body = {
            "AgentVersion": self.agent_version,
            "RequestedClientActions": [{"ActionType": "SessionType", "ActionParameters": params}],
        }
        return json.dumps(body).encode()

    def _begin(self) -> None:
        """The plugin answered the handshake: complete it and start the session's worker."""
        with self._lock:
            if self.ready or self.ended:
                return
            self.ready = True
        elapsed = int((time.monotonic() - self._started) * 1e9)
        complete = {"HandshakeTimeToComplete": elapsed, "CustomerMessage": ""}
        self.channel.send(frames.P_HANDSHAKE_COMPLETE, json.dumps(complete).encode())
        self.worker = self._make_worker()
        self.worker.start()

    def _make_worker(self) -> Worker:
        rec = self.record
        if self.shell:
            return ShellWorker(
                rec.node_name or rec.target,
                self._send,
                self._shell_exited,
                command=_first(rec.parameters, "command"),
            )
        mux = rec.document in LOCAL_PORT_DOCUMENTS and frames.version_gt(
            self.agent_version, frames.MUX_AFTER
        )
        if mux:
            keepalive = not frames.version_gt(self.agent_version, frames.NO_KEEPALIVE_AFTER)
            return MuxWorker(rec.destination, self._send, keepalive)
        return BasicWorker(rec.destination, self._send, lambda: self.end(PORT_FAILED_REASON))

    def _send(self, payload_type: int, payload: bytes) -> object:
        self.last_activity = self.state.time()
        return self.channel.send(payload_type, payload)

    # -- one websocket ------------------------------------------------------------------------------
    def serve(self, conn: ServerConnection, silent: bool) -> None:
        """Run one connection until it closes; the caller authenticated it already."""
        from websockets.exceptions import ConnectionClosed

        send: Sender = conn.send
        self._conn = conn
        self._opened_at = time.monotonic()
        self.channel.attach(send)
        if not self.ended and self.state.session_status(self.record) == "Terminated":
            # Ended before its plugin ever connected (a watchdog, TerminateSession from elsewhere).
            self.end(self.record.end_reason)
        elif self.ended:
            self.channel.send_unsequenced(self._closed_message())
        else:
            ssm_sessions.reconnect(self.state, self.record)
            with self._lock:
                first = not self.handshake_sent and not silent
                self.handshake_sent = self.handshake_sent or first
            if first:
                self.channel.send(frames.P_HANDSHAKE_REQUEST, self._handshake_request())
        try:
            for raw in conn:
                if isinstance(raw, str):
                    continue  # a text frame after the first: nothing the agent reads
                msg = frames.decode(raw)
                if msg is not None:
                    for m in self.channel.receive(msg):
                        self._deliver(m)
        except ConnectionClosed:
            pass
        finally:
            self.channel.detach(send)
            if not self.channel.attached and not self.ended:
                # Dropped without the terminate flag: resumable, as in AWS.
                ssm_sessions.disconnect(self.state, self.record)

    def _deliver(self, msg: ClientMessage) -> None:
        if msg.message_type != frames.INPUT or self.ended:
            return
        self.last_activity = self.state.time()
        kind = msg.payload_type
        if kind == frames.P_HANDSHAKE_RESPONSE:
            self._begin()
            return
        worker = self.worker
        if worker is None:
            return
        if kind == frames.P_OUTPUT:
            worker.write(msg.payload)
        elif kind == frames.P_SIZE:
            try:
                size = json.loads(msg.payload)
                worker.resize(int(size["cols"]), int(size["rows"]))
            except (ValueError, KeyError, TypeError):
                pass
        elif kind == frames.P_FLAG and len(msg.payload) >= 4:
            value = int(struct.unpack(">I", msg.payload[:4])[0])
            if value == frames.FLAG_TERMINATE_SESSION:
                # The plugin's Ctrl-C: it does not wait for an answer.
                ssm_sessions.terminate(self.state, self.record, "", by=self.record.owner)
                self.end("")
            else:
                worker.flag(value)

    # -- endings ----------------------------------------------------------------------------------
    def _closed_message(self) -> ClientMessage:
        return frames.channel_closed(self.record.session_id, self.record.target, self.end_output)

    def end(self, output: str) -> None:
        """channel_closed with `output` ("" for a normal end), once; then stop the worker."""
        with self._lock:
            if self.ended:
                return
            self.ended = True
            self.end_output = output
        self.channel.send_unsequenced(self._closed_message())
        self.channel.close()
        if self.worker is not None:
            self.worker.stop()

    def _shell_exited(self) -> None:
        self.channel.wait_drained(2.0)  # the shell's last words before the plugin stops
        # Terminated first, so whoever reads the session after channel_closed sees it ended; the
        # tick that may notice it in between closes with the same empty reason.
        ssm_sessions.terminate(self.state, self.record, "")
        self.end("")

    def tick(self) -> None:
        """Every 0.5 s: server-side ends (TerminateSession from anyone, max duration, idle)."""
        if self.ended:
            return
        if self.state.session_status(self.record) == "Terminated":
            self.end(self.record.end_reason)
            return
        if self.state.time() - self.last_activity >= IDLE_SESSION_MINUTES * 60:
            ssm_sessions.terminate(self.state, self.record, IDLE_REASON)
            self.end(IDLE_REASON)
            return
        # on the real clock: moving the sandbox's clock (tests of expiry) must not close channels
        if time.monotonic() - self._opened_at >= self.state.faults.channel_lifetime:
            self._close_websocket()
        if self.worker is not None:
            self.worker.tick()

    def _close_websocket(self) -> None:
        """The service's periodic close: a close frame on the websocket, the session kept
        (Disconnected until the plugin resumes it with ResumeSession and reconnects)."""
        conn = self._conn
        if conn is None or not self.channel.attached:
            return
        self._opened_at = time.monotonic()  # once per websocket
        self.closes += 1

        def close() -> None:
            with contextlib.suppress(Exception):
                conn.close(1001, "the data channel reached its lifetime")

        # the close handshake may wait for the plugin: not on the thread that ticks every agent
        threading.Thread(target=close, name="sandbox-datachannel-close", daemon=True).start()

    def drop(self) -> bool:
        """Cut the websocket as a network blip would (no close frame, no channel_closed): the
        plugin resumes with ResumeSession and a fresh token."""
        conn = self._conn
        if conn is None or not self.channel.attached:
            return False
        with contextlib.suppress(OSError):
            conn.socket.shutdown(socket.SHUT_RDWR)
        return True

    def stop(self) -> None:
        """The sandbox is stopping."""
        self.channel.close()
        if self.worker is not None:
            self.worker.stop()
