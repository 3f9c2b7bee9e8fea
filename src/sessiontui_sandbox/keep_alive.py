"""HTTP/1.1 keep-alive for the sandbox's werkzeug server, as AWS's endpoints keep connections.

werkzeug's development server ends every connection after one answer (`Connection: close`), so
every call into the sandbox paid a resolver lookup, a TCP connect and a socket's set-up and
close that no AWS endpoint makes a client pay: at 4,000 nodes, about a third of the client's CPU
for a listing. A connection stays open when the request is HTTP/1.1, did not ask to close, and
its body has a known length; that body is read whole before the app runs, so nothing unread is
left on the socket in front of the next request line. werkzeug then "drains" the socket after
each answer, which on a kept connection would swallow the next request: reads other than the
request line and headers see an empty stream while a kept request is under way.
"""

from __future__ import annotations

import io
from typing import Any

MAX_KEPT_BODY = 16 * 1024 * 1024  # larger bodies stream as werkzeug reads them, and close


class KeptReader:
    """The handler's rfile: lines pass through (request lines, headers); reads do not while the
    request's body was already taken off the socket."""

    def __init__(self, raw: Any) -> None:
        self.raw = raw
        self.body_taken = False

    def readline(self, limit: int = -1) -> bytes:
        line: bytes = self.raw.readline(limit)
        return line

    def read(self, size: int = -1) -> bytes:
        return b"" if self.body_taken else self.raw.read(size)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.raw, name)


def keeps(handler: Any) -> bool:
    """Whether this request's connection may stay open after the answer."""
    headers = handler.headers
    connection = headers.get("Connection", "").lower()
    length = headers.get("Content-Length", "0").strip()
    return (
        handler.request_version == "HTTP/1.1"
        and "close" not in connection
        and "upgrade" not in connection
        and "chunked" not in headers.get("Transfer-Encoding", "").lower()
        and length.isdigit()
        and int(length) <= MAX_KEPT_BODY
    )


def take_body(handler: Any, environ: dict[str, Any]) -> None:
    """Read a kept request's body off the socket into wsgi.input; close the others."""
    reader: KeptReader = handler.rfile
    reader.body_taken = False
    if not keeps(handler):
        handler.close_connection = True
        handler.keep_alive = False
        return
    length = int(handler.headers.get("Content-Length", "0").strip())
    body = reader.raw.read(length) if length else b""
    environ["wsgi.input"] = io.BytesIO(body)
    reader.body_taken = True
    handler.keep_alive = True
