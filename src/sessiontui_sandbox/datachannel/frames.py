"""The binary ClientMessage of the data channel: encode, decode (with the checks the plugin makes),
acknowledgements, channel_closed and the OpenDataChannel text frame. Standard library only."""

from __future__ import annotations

import hashlib
import json
import struct
import time
import uuid
from dataclasses import dataclass, field

INPUT = "input_stream_data"
OUTPUT = "output_stream_data"
ACK = "acknowledge"
CHANNEL_CLOSED = "channel_closed"
START_PUBLICATION = "start_publication"
PAUSE_PUBLICATION = "pause_publication"

# PayloadType values (clientmessage.go:75-88)
P_OUTPUT = 1
P_ERROR = 2
P_SIZE = 3
P_PARAMETER = 4
P_HANDSHAKE_REQUEST = 5
P_HANDSHAKE_RESPONSE = 6
P_HANDSHAKE_COMPLETE = 7
P_FLAG = 10
P_STDERR = 11
P_EXIT_CODE = 12

# Flag payloads (a big-endian uint32)
FLAG_DISCONNECT_TO_PORT = 1
FLAG_TERMINATE_SESSION = 2
FLAG_CONNECT_TO_PORT_ERROR = 3

HEADER_LENGTH = 116  # what the plugin writes: the offset of PayloadLength
_HEAD = struct.Struct(">I32sIQqQ16s32sII")  # up to and including PayloadLength: 120 bytes
MAX_CHUNK = 1024  # the plugin cuts its input to this; the stand-in does the same


def _wire_uuid(u: uuid.UUID) -> bytes:
    """The plugin writes a uuid's last 8 bytes first (messageparser.go:415-453)."""
    b = u.bytes
    return b[8:] + b[:8]


def _read_uuid(raw: bytes) -> uuid.UUID:
    return uuid.UUID(bytes=raw[8:] + raw[:8])


@dataclass
class ClientMessage:
    message_type: str
    sequence: int = 0
    payload: bytes = b""
    payload_type: int = 0
    flags: int = 0
    message_id: uuid.UUID = field(default_factory=uuid.uuid4)
    created_ms: int = field(default_factory=lambda: int(time.time() * 1000))
    schema_version: int = 1

    def encode(self) -> bytes:
        digest = hashlib.sha256(self.payload).digest()
        head = _HEAD.pack(
            HEADER_LENGTH,
            self.message_type.encode("ascii").ljust(32, b" "),
            self.schema_version,
            self.created_ms,
            self.sequence,
            self.flags,
            _wire_uuid(self.message_id),
            digest,
            self.payload_type,
            len(self.payload),
        )
        return head + self.payload

    @property
    def flag(self) -> int | None:
        """The flag a P_FLAG message carries."""
        if self.payload_type != P_FLAG or len(self.payload) < 4:
            return None
        return int(struct.unpack(">I", self.payload[:4])[0])

    def json(self) -> object:
        return json.loads(self.payload or b"null")


def decode(data: bytes) -> ClientMessage | None:
    """The message, or None where the plugin would drop it silently (messageparser.go:225-247)."""
    if len(data) < _HEAD.size:
        return None
    (hlen, mtype, schema, created, seq, flags, mid, digest, ptype, _plen) = _HEAD.unpack_from(data)
    message_type = mtype.rstrip(b"\x00 ").lstrip(b"\x00 ").decode("ascii", "replace")
    # The payload is the rest of the frame, whatever PayloadLength says (messageparser.go:86).
    payload = data[hlen + 4 :] if hlen else data[_HEAD.size :]
    msg = ClientMessage(message_type, seq, payload, ptype, flags, _read_uuid(mid), created, schema)
    if message_type in (START_PUBLICATION, PAUSE_PUBLICATION):
        return msg
    if hlen == 0 or not message_type or created == 0:
        return None
    if payload and hashlib.sha256(payload).digest() != digest:
        return None
    return msg


def data(direction: str, sequence: int, payload_type: int, payload: bytes) -> ClientMessage:
    return ClientMessage(direction, sequence, payload, payload_type)


def flag(sequence: int, value: int) -> ClientMessage:
    return ClientMessage(INPUT, sequence, struct.pack(">I", value), P_FLAG)


def ack_for(msg: ClientMessage) -> ClientMessage:
    """The acknowledgement of `msg`, as the plugin sends it (seq 0, Flags 3, PayloadType 0)."""
    body = {
        "AcknowledgedMessageType": msg.message_type,
        "AcknowledgedMessageId": str(msg.message_id),
        "AcknowledgedMessageSequenceNumber": msg.sequence,
        "IsSequentialMessage": True,
    }
    return ClientMessage(ACK, 0, json.dumps(body, separators=(",", ":")).encode(), 0, flags=3)


def acked_sequence(msg: ClientMessage) -> int | None:
    """The sequence number an acknowledge message acknowledges: the only field the plugin reads."""
    try:
        body = msg.json()
        return int(body["AcknowledgedMessageSequenceNumber"])  # type: ignore[index]
    except (ValueError, TypeError, KeyError):
        return None


def channel_closed(session_id: str, target: str, output: str) -> ClientMessage:
    mid = uuid.uuid4()
    body = {
        "MessageId": str(mid),
        "CreatedDate": str(int(time.time() * 1000)),
        "DestinationId": target,
        "SessionId": session_id,
        "MessageType": CHANNEL_CLOSED,
        "SchemaVersion": 1,
        "Output": output,
    }
    return ClientMessage(CHANNEL_CLOSED, 0, json.dumps(body).encode(), 0, message_id=mid)


def closed_output(msg: ClientMessage) -> str:
    try:
        body = msg.json()
    except ValueError:
        return ""
    return str(body.get("Output") or "") if isinstance(body, dict) else ""


def open_data_channel(token: str, client_id: str, client_version: str) -> str:
    """The first (text) frame a client sends after every dial."""
    return json.dumps(
        {
            "MessageSchemaVersion": "1.0",
            "RequestId": str(uuid.uuid4()),
            "TokenValue": token,
            "ClientId": client_id,
            "ClientVersion": client_version,
        }
    )


def version_gt(version: str, threshold: str) -> bool:
    """The plugin's agent-version gate (versionvalidator.go): strictly greater, and the same
    number of numeric parts, else false."""
    try:
        a = [int(x) for x in version.split(".")]
        b = [int(x) for x in threshold.split(".")]
    except ValueError:
        return False
    return len(a) == len(b) and a > b


MUX_AFTER = "3.0.196.0"  # agents above this multiplex port forwards with smux
TERMINATE_FLAG_AFTER = "2.3.722.0"  # above this, Ctrl-C in basic mode sends the flag
NO_KEEPALIVE_AFTER = "3.1.1511.0"  # above this, smux keep-alive is off
