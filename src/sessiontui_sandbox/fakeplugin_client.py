"""The stand-in plugin's data channel client: the same websocket, framing and channel state as the
sandbox's agent end (sandbox/datachannel), spoken from the plugin's side as AWS's plugin does:
OpenDataChannel after every dial, acks, resends, the handshake, ResumeSession on a lost socket.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sessiontui_sandbox.datachannel import frames
from sessiontui_sandbox.datachannel.channel import Channel
from sessiontui_sandbox.datachannel.frames import ClientMessage

if TYPE_CHECKING:
    from websockets.sync.client import ClientConnection

    from sessiontui_sandbox.fakeplugin_support import SsmApi

DIALS = 7  # Open, then the retryer's six Reconnects (sessionhandler.go:33-54)
RESEND_AFTER = 0.2  # the plugin's initial RetransmissionTimeout
SHELL_TYPES = {"Standard_Stream", "InteractiveCommands", "NonInteractiveCommands"}

Say = Callable[[str], None]


class DataChannelClient:
    def __init__(
        self, session_id: str, url: str, token: str, version: str, api: SsmApi, say: Say
    ) -> None:
        self.session_id = session_id
        self.url = url
        self.token = token
        self.version = version
        self.api = api
        self.say = say
        self.client_id = str(uuid.uuid4())  # one per run, the same across reconnects
        self.channel = Channel(frames.INPUT, resend_after=RESEND_AFTER)
        self.agent_version = ""
        self.session_type = ""
        self.properties: dict[str, Any] = {}
        self.ready = threading.Event()
        self._handler: Callable[[ClientMessage], None] | None = None
        self._held: list[ClientMessage] = []
        self._lock = threading.Lock()
        self._conn: ClientConnection | None = None
        self.on_closed: Callable[[str], None] = self._default_closed
        self.before_exit: Callable[[], None] = lambda: None

    # -- dialing ----------------------------------------------------------------------------------
    def _dial_once(self) -> bool:
        from websockets.sync.client import connect

        try:
            conn = connect(
                self.url,
                compression=None,
                open_timeout=45,
                max_size=None,
                ping_interval=None,
                close_timeout=1,
                legacy=True,
            )
        except Exception:
            return False
        try:
            conn.send(frames.open_data_channel(self.token, self.client_id, self.version))
        except Exception:
            return False
        self._conn = conn
        self.channel.attach(conn.send)
        return True

    def dial(self) -> bool:
        delay = 0.1
        for _ in range(DIALS):
            if self._dial_once():
                return True
            time.sleep(delay)
            delay = delay * 2 if delay < 5 else 0.1
        return False

    def start(self) -> None:
        threading.Thread(target=self._read_forever, name="plugin-read", daemon=True).start()
        threading.Thread(target=self._resend_forever, name="plugin-resend", daemon=True).start()

    def _resend_forever(self) -> None:
        while not self.channel.closed:
            time.sleep(0.1)
            self.channel.resend_due()

    def _resume(self) -> bool:
        """A lost socket: a fresh token from ResumeSession, then the same StreamUrl again."""
        for _ in range(6):
            reply = self.api.call("ResumeSession", {"SessionId": self.session_id})
            if reply is not None:
                token = reply.get("TokenValue")
                if not token:
                    self.before_exit()
                    self.say(f"Session: {self.session_id} timed out.\n")
                    os._exit(0)
                self.token = str(token)
                if self.dial():
                    return True
            time.sleep(0.5)
        return False

    def _read_forever(self) -> None:
        from websockets.exceptions import ConnectionClosed

        while True:
            conn = self._conn
            try:
                assert conn is not None
                raw = conn.recv()
            except (ConnectionClosed, AssertionError):
                if conn is not None:
                    self.channel.detach(conn.send)
                if self.channel.closed or not self._resume():
                    return
                continue
            if isinstance(raw, str):
                continue
            msg = frames.decode(raw)
            if msg is None:
                continue
            for m in self.channel.receive(msg):
                self._dispatch(m)

    # -- what the agent says ------------------------------------------------------------------------
    def _dispatch(self, msg: ClientMessage) -> None:
        if msg.message_type == frames.CHANNEL_CLOSED:
            self.on_closed(frames.closed_output(msg))
            return
        if msg.message_type != frames.OUTPUT:
            return
        if msg.payload_type == frames.P_HANDSHAKE_REQUEST:
            self._answer_handshake(msg)
        elif msg.payload_type == frames.P_HANDSHAKE_COMPLETE:
            with contextlib.suppress(ValueError, AttributeError):
                note = json.loads(msg.payload).get("CustomerMessage")
                if note:
                    self.say(f"{note}\n")
            self.ready.set()
        else:
            with self._lock:
                handler = self._handler
                if handler is None:
                    self._held.append(msg)
                    return
            handler(msg)

    def _answer_handshake(self, msg: ClientMessage) -> None:
        body = json.loads(msg.payload or b"{}")
        self.agent_version = str(body.get("AgentVersion") or "")
        processed = []
        for action in body.get("RequestedClientActions") or []:
            kind = action.get("ActionType")
            if kind == "SessionType":
                params = action.get("ActionParameters") or {}
                self.session_type = str(params.get("SessionType") or "")
                self.properties = dict(params.get("Properties") or {})
                status, error = 1, ""
            else:
                status, error = 3, f"Unsupported action {kind}"
            processed.append(
                {"ActionType": kind, "ActionStatus": status, "ActionResult": None, "Error": error}
            )
        reply = {"ClientVersion": self.version, "ProcessedClientActions": processed, "Errors": None}
        self.channel.send(frames.P_HANDSHAKE_RESPONSE, json.dumps(reply).encode())

    def set_handler(self, handler: Callable[[ClientMessage], None]) -> None:
        """Where output goes from now on; what came before it is handed over first."""
        with self._lock:
            held, self._held = self._held, []
            for msg in held:
                handler(msg)
            self._handler = handler

    def _default_closed(self, output: str) -> None:
        self.before_exit()
        if output:
            self.say(f"\n\nSessionId: {self.session_id} : {output}\n\n")
        else:
            self.say(f"\n\nExiting session with sessionId: {self.session_id}.\n\n")
        os._exit(0)

    # -- what the plugin says -------------------------------------------------------------------------
    def send_output(self, data: bytes) -> None:
        for i in range(0, len(data), frames.MAX_CHUNK):
            self.channel.send(frames.P_OUTPUT, data[i : i + frames.MAX_CHUNK])

    def send_size(self, cols: int, rows: int) -> None:
        self.channel.send(frames.P_SIZE, json.dumps({"cols": cols, "rows": rows}).encode())

    def send_flag(self, value: int) -> None:
        self.channel.send(frames.P_FLAG, value.to_bytes(4, "big"), wait=1.0)
