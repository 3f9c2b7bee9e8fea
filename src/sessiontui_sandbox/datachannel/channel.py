"""One side of a session's data channel: sequence numbers, acknowledgements, resends and de-dup.

The state outlives a websocket: the plugin reconnects (after ResumeSession) with its counters and
unacked buffer intact, so this side must keep its own across connections too (ssm-data-channel.md
§5, §8). Used by the sandbox's agent (sending output_stream_data) and by the stand-in plugin
(sending input_stream_data). Standard library only.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable

from sessiontui_sandbox.datachannel import frames
from sessiontui_sandbox.datachannel.frames import ClientMessage

Sender = Callable[[bytes], None]
# Unacked messages in flight. A bound matters: a peer that writes its acks from the loop that reads
# our data (the plugin does) would stop reading once its acks fill our socket, while we block
# writing to it. 64 messages keep every buffer far from full.
WINDOW = 64


class Channel:
    def __init__(self, out_type: str, resend_after: float = 0.5) -> None:
        self.out_type = out_type
        self.resend_after = resend_after
        self._cond = threading.Condition()
        self._send_lock = threading.Lock()  # frames leave in the order they were numbered
        self._sender: Sender | None = None
        self.next_out = 0
        self.unacked: dict[int, tuple[bytes, float]] = {}
        self.expected_in = 0
        self._early: dict[int, ClientMessage] = {}
        self.closed = False

    # -- the websocket of the moment ---------------------------------------------------------------
    def attach(self, sender: Sender) -> None:
        """A new connection: what it missed goes out again at once."""
        with self._cond:
            self._sender = sender
            pending = sorted(self.unacked.items())
        for seq, (raw, _) in pending:
            self._transmit(raw)
            with self._cond:
                if seq in self.unacked:
                    self.unacked[seq] = (raw, time.monotonic())

    def detach(self, sender: Sender) -> None:
        with self._cond:
            if self._sender == sender:
                self._sender = None

    @property
    def attached(self) -> bool:
        return self._sender is not None

    def _transmit(self, raw: bytes) -> bool:
        sender = self._sender
        if sender is None:
            return False
        try:
            with self._send_lock:
                sender(raw)
        except Exception:  # a socket going away: the resend covers it
            return False
        return True

    # -- sending ----------------------------------------------------------------------------------
    def send(self, payload_type: int, payload: bytes, wait: float | None = None) -> int | None:
        """Number and send one data message, kept until acked; blocks while the window is full
        (up to `wait` seconds; None: until the channel closes). Its sequence number, or None when
        the channel closed first."""
        deadline = None if wait is None else time.monotonic() + wait
        with self._cond:
            while len(self.unacked) >= WINDOW and not self.closed:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    break
                self._cond.wait(0.5 if left is None else min(left, 0.5))
            if self.closed:
                return None
            seq = self.next_out
            self.next_out += 1
            raw = frames.data(self.out_type, seq, payload_type, payload).encode()
            self.unacked[seq] = (raw, time.monotonic())
            # Under the condition's lock, so numbering and sending order agree.
            self._transmit(raw)
        return seq

    def send_unsequenced(self, msg: ClientMessage) -> bool:
        """Acks and channel_closed: not numbered, not kept."""
        return self._transmit(msg.encode())

    def resend_due(self) -> int:
        """Send again what has waited longer than resend_after for its ack; how many."""
        now = time.monotonic()
        with self._cond:
            if self.closed:
                return 0
            due = [
                (s, raw)
                for s, (raw, at) in sorted(self.unacked.items())
                if now - at >= self.resend_after
            ]
            for seq, raw in due:
                self.unacked[seq] = (raw, now)
        sent = 0
        for _seq, raw in due:
            sent += self._transmit(raw)
        return sent

    def close(self) -> None:
        with self._cond:
            self.closed = True
            self._cond.notify_all()

    def wait_drained(self, timeout: float) -> bool:
        """Until everything sent is acked (or timeout): before a last channel_closed."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self.unacked:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(min(left, 0.1))
        return True

    # -- receiving ---------------------------------------------------------------------------------
    def receive(self, msg: ClientMessage) -> list[ClientMessage]:
        """Take one decoded message; the data messages now deliverable, in sequence order. Every
        data message is acked, duplicates included (the peer resends until it is)."""
        if msg.message_type == frames.ACK:
            seq = frames.acked_sequence(msg)
            if seq is not None:
                with self._cond:
                    self.unacked.pop(seq, None)
                    self._cond.notify_all()
            return []
        if msg.message_type not in (frames.INPUT, frames.OUTPUT):
            return [msg]  # channel_closed and the like: for the caller, unsequenced
        with contextlib.suppress(Exception):
            self.send_unsequenced(frames.ack_for(msg))
        out: list[ClientMessage] = []
        with self._cond:
            if msg.sequence < self.expected_in:
                return []
            if msg.sequence > self.expected_in:
                self._early[msg.sequence] = msg
                return []
            out.append(msg)
            self.expected_in += 1
            while self.expected_in in self._early:
                out.append(self._early.pop(self.expected_in))
                self.expected_in += 1
        return out
