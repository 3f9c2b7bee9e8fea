"""smux v1 frames (xtaci/smux, as the plugin vendors it): `ver u8 | cmd u8 | len u16 LE |
sid u32 LE` then `len` bytes. No windows or acks in v1. Standard library only."""

from __future__ import annotations

import struct

VERSION = 1
SYN, FIN, PSH, NOP = 0, 1, 2, 3
_HEAD = struct.Struct("<BBHI")
MAX_FRAME = 32768  # the client's MaxFrameSize


class ProtocolError(ValueError):
    """A frame of another smux version: the session cannot go on."""


def frame(cmd: int, sid: int, data: bytes = b"") -> bytes:
    return _HEAD.pack(VERSION, cmd, len(data), sid) + data


def push(sid: int, data: bytes) -> bytes:
    """PSH frames carrying `data`, cut to the client's frame size."""
    return b"".join(
        frame(PSH, sid, data[i : i + MAX_FRAME]) for i in range(0, len(data), MAX_FRAME)
    ) or frame(PSH, sid)


class Reader:
    """Frames out of a byte stream that arrives in arbitrary pieces."""

    def __init__(self) -> None:
        self._buf = bytearray()

    def feed(self, data: bytes) -> list[tuple[int, int, bytes]]:
        self._buf += data
        out: list[tuple[int, int, bytes]] = []
        while len(self._buf) >= _HEAD.size:
            ver, cmd, length, sid = _HEAD.unpack_from(self._buf)
            if ver != VERSION:
                raise ProtocolError(f"smux version {ver}")
            if len(self._buf) < _HEAD.size + length:
                break
            body = bytes(self._buf[_HEAD.size : _HEAD.size + length])
            del self._buf[: _HEAD.size + length]
            out.append((cmd, sid, body))
        return out
