"""RDS IAM database authentication in front of the sandbox's real PostgreSQL.

One front per demo endpoint (writer, reader), on 127.0.0.1 with a free port; the data channel
joins a forward to it. It speaks PostgreSQL's protocol only as far as RDS does before a session
exists: it answers SSLRequest with TLS (a certificate of its own, as RDS presents Amazon's), reads
the startup message, asks for a cleartext password, and checks that password as an RDS IAM token:
a SigV4 presigned `connect` for this endpoint's host and port and the startup's user, signed for
`rds-db` in this region with a key the sandbox issued, neither the token nor the key expired, and
the identity's IAM policies (when it has any) allowing `rds-db:connect`. Anything else is refused
with the error RDS sends (28P01, "PAM authentication failed for user ..."). Only then is the client
joined to the real server's Unix socket, whose trust authentication finishes the sign-in.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import socket
import ssl
import struct
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl

from sessiontui_sandbox.auth import secret_of, verify_presigned
from sessiontui_sandbox.state import SandboxState

SSL_REQUEST = 80877103
GSSENC_REQUEST = 80877104
CANCEL_REQUEST = 80877102
PROTOCOL_3 = 196608
MAX_TOKEN_SECONDS = 900  # RDS refuses tokens presigned for longer than 15 minutes
READ_SIZE = 65536


@dataclass(frozen=True)
class Endpoint:
    """What a token must name: the endpoint's host and port, its region and account."""

    host: str
    port: int
    region: str
    account: str
    resource_id: str  # the cluster's DbClusterResourceId, as in rds-db:connect's ARN


def check_token(
    state: SandboxState, endpoint: Endpoint, user: str, token: str, allows: Callable[..., bool]
) -> str:
    """Why RDS would refuse this token for `user` at `endpoint` ("" when it accepts it). The reason
    goes to the sandbox's log only: the client gets PostgreSQL's one message, as from RDS."""
    where, sep, query = token.partition("/?")
    if not sep:
        return "not a presigned URL"
    if where != f"{endpoint.host}:{endpoint.port}":
        return f"signed for {where}, not {endpoint.host}:{endpoint.port}"
    fields = parse_qsl(query, keep_blank_values=True)
    values = dict(fields)
    if values.get("Action") != "connect":
        return "not a connect action"
    if values.get("DBUser") != user:
        return f"signed for user {values.get('DBUser')!r}, not {user!r}"
    key, _, scope = values.get("X-Amz-Credential", "").partition("/")
    parts = scope.split("/")
    if len(parts) != 4 or parts[2] != "rds-db" or parts[3] != "aws4_request":
        return "not signed for rds-db"
    if parts[1] != endpoint.region:
        return f"signed for region {parts[1]}, not {endpoint.region}"
    known = secret_of(state, key)
    if known is None:
        return "signed with a key the sandbox never issued"
    secret, session_token = known
    if session_token is not None and values.get("X-Amz-Security-Token") != session_token:
        return "the session token does not go with the key"
    try:
        signed_at = dt.datetime.strptime(values.get("X-Amz-Date", ""), "%Y%m%dT%H%M%SZ")
        expires = int(values.get("X-Amz-Expires", ""))
    except ValueError:
        return "no valid date or expiry"
    now = state.now()
    start = signed_at.replace(tzinfo=dt.UTC)
    if expires > MAX_TOKEN_SECONDS or expires < 1:
        return f"expiry of {expires}s is over {MAX_TOKEN_SECONDS}s"
    if now > start + dt.timedelta(seconds=expires):
        return "the token has expired"
    if start > now + dt.timedelta(minutes=5):
        return "the token is signed in the future"
    if not verify_presigned(secret, "GET", "/", query, {"host": where}, b"", "rds-db"):
        return "the signature does not match"
    issued = state.keys.get(key)
    if issued is not None and issued.expiration <= now:
        return "the signing credentials have expired"
    arn = (
        f"arn:aws:rds-db:{endpoint.region}:{endpoint.account}:dbuser:{endpoint.resource_id}/{user}"
    )
    if not allows(key, "rds-db:connect", arn, endpoint.region):
        return f"IAM does not allow rds-db:connect on {arn}"
    return ""


def _error(user: str) -> bytes:
    fields = [
        b"SFATAL",
        b"VFATAL",
        b"C28P01",
        f'MPAM authentication failed for user "{user}"'.encode(),
    ]
    body = b"".join(f + b"\0" for f in fields) + b"\0"
    return b"E" + struct.pack(">I", len(body) + 4) + body


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise ConnectionError("closed")
        data += chunk
    return data


def _read_startup(sock: socket.socket) -> tuple[int, bytes]:
    (length,) = struct.unpack(">I", _recv_exact(sock, 4))
    if not 8 <= length <= 10000:
        raise ConnectionError("bad startup length")
    body = _recv_exact(sock, length - 4)
    return struct.unpack(">I", body[:4])[0], struct.pack(">I", length) + body


def _startup_params(message: bytes) -> dict[str, str]:
    words = message[8:].split(b"\0")
    pairs = zip(words[0::2], words[1::2], strict=False)
    return {k.decode(errors="replace"): v.decode(errors="replace") for k, v in pairs if k}


class PgIamFront:
    """Listens for one endpoint; `address` is where the data channel joins forwards."""

    def __init__(
        self,
        state: SandboxState,
        endpoint: Endpoint,
        backend: Callable[[], Path],
        tls: ssl.SSLContext,
        allows: Callable[..., bool],
        log: Callable[[str], None],
    ) -> None:
        self.state = state
        self.endpoint = endpoint
        self._backend = backend
        self._tls = tls
        self._allows = allows
        self._log = log
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._conns: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._closed = False
        self.refusals: list[str] = []  # why each refused sign-in was refused, for tests
        threading.Thread(target=self._accept, name="sandbox-pg-front", daemon=True).start()

    @property
    def address(self) -> tuple[str, int]:
        host, port = self._listener.getsockname()[:2]
        return str(host), int(port)

    def _accept(self) -> None:
        while True:
            try:
                sock, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(sock,), daemon=True).start()

    def _track(self, sock: socket.socket, add: bool) -> None:
        with self._lock:
            (self._conns.add if add else self._conns.discard)(sock)

    def _serve(self, raw: socket.socket) -> None:
        sock: socket.socket = raw
        self._track(raw, True)
        try:
            code, message = _read_startup(sock)
            if code == GSSENC_REQUEST:
                sock.sendall(b"N")
                code, message = _read_startup(sock)
            if code == SSL_REQUEST:
                sock.sendall(b"S")
                sock = self._tls.wrap_socket(sock, server_side=True)
                self._track(sock, True)
                code, message = _read_startup(sock)
            if code != PROTOCOL_3:
                return  # cancel requests and old protocols: RDS's front would drop them too
            params = _startup_params(message)
            user = params.get("user", "")
            sock.sendall(b"R" + struct.pack(">II", 8, 3))  # AuthenticationCleartextPassword
            kind = _recv_exact(sock, 1)
            (length,) = struct.unpack(">I", _recv_exact(sock, 4))
            if kind != b"p" or not 5 <= length <= 20000:
                return
            token = _recv_exact(sock, length - 4).rstrip(b"\0").decode(errors="replace")
            why = check_token(self.state, self.endpoint, user, token, self._allows)
            if why:
                self.refusals.append(why)
                self._log(f"refused IAM sign-in for {user!r} at {self.endpoint.host}: {why}")
                sock.sendall(_error(user))
                return
            self._join(sock, message)
        except (OSError, ConnectionError, ssl.SSLError, struct.error, RuntimeError):
            pass
        finally:
            for s in {sock, raw}:
                self._track(s, False)
                with contextlib.suppress(OSError):
                    s.close()

    def _join(self, client: socket.socket, startup: bytes) -> None:
        server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            server.connect(str(self._backend()))
            server.sendall(startup)
            self._track(server, True)
            done = threading.Event()

            def pump(src: socket.socket, dst: socket.socket) -> None:
                with contextlib.suppress(OSError, ssl.SSLError):
                    while data := src.recv(READ_SIZE):
                        dst.sendall(data)
                done.set()

            threading.Thread(target=pump, args=(server, client), daemon=True).start()
            pump(client, server)
            done.wait(timeout=1)
        finally:
            self._track(server, False)
            with contextlib.suppress(OSError):
                server.close()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            conns = list(self._conns)
        with contextlib.suppress(OSError):
            self._listener.close()
        for sock in conns:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
