"""The `garble` fault: bad answers as corporate proxies and broken networks give them.

`Faults.garble` maps a region (or "REGION/SERVICE", for one of the two) to a kind; every SSM
and EC2 call signed for that region (the listing services, as `throttle_rate`) gets:

  html502    HTTP 502 with a proxy's HTML error page (`<!DOCTYPE html>`, text/html), as
             Zscaler, Squid or a load balancer answer when their upstream fails
  truncated  the real answer (HTTP 200 mostly) cut in half (Content-Length matching the cut), as a
             connection dropped mid-body by a proxy leaves it: unclosed XML, unfinished JSON
  reset      no answer: the TCP connection is reset (RST), as a firewall does for an endpoint
             it blocks

The other services (STS, IAM) answer normally, so a role can still be taken.
"""

from __future__ import annotations

import contextlib
import socket
import struct
from collections.abc import Callable, Iterable
from typing import Any

KINDS = ("html502", "truncated", "reset")
SERVICES = {"ssm", "ec2"}
INNER = "sessiontui.garbled"  # environ key: this request is the truncated fault's real answer

StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]

PROXY_PAGE = b"""<!DOCTYPE html>
<html lang="en">
<head><title>502 Bad Gateway</title></head>
<body>
<h1>Bad Gateway</h1>
<p>The proxy server received an invalid response from an upstream server.</p>
<hr><address>corporate-proxy/4.2 at proxy.example.internal Port 8080</address>
</body>
</html>
"""


def validate(value: Any) -> dict[str, str]:
    """`{"REGION[/SERVICE]": kind}` as POST /_sandbox/control takes it; ValueError otherwise."""
    if not isinstance(value, dict):
        raise ValueError('garble must be an object: {"REGION": "html502"|"truncated"|"reset"}')
    out: dict[str, str] = {}
    for where, kind in value.items():
        region, _, service = str(where).partition("/")
        if not region or (service and service not in SERVICES):
            raise ValueError(f"garble key {where!r} must be REGION or REGION/ssm or REGION/ec2")
        if kind not in KINDS:
            raise ValueError(f"garble kind for {where!r} must be one of {', '.join(KINDS)}")
        out[str(where)] = str(kind)
    return out


def kind_for(garble: dict[str, str], region: str, service: str) -> str | None:
    if service not in SERVICES or not garble:
        return None
    return garble.get(f"{region}/{service}") or garble.get(region)


def serve(
    kind: str, environ: dict[str, Any], start_response: StartResponse, answer: WsgiApp
) -> Iterable[bytes]:
    """The garbled reply of `kind`; `answer` is the sandbox's real handler (for `truncated`)."""
    if kind == "reset":
        _reset(environ)
        # werkzeug treats a ConnectionError from the app as a dropped connection: no reply
        raise ConnectionResetError("sandbox fault: connection reset")
    if kind == "html502":
        start_response(
            "502 Bad Gateway",
            [
                ("Content-Type", "text/html; charset=utf-8"),
                ("Content-Length", str(len(PROXY_PAGE))),
            ],
        )
        return [PROXY_PAGE]
    status: list[Any] = []

    def keep(status_line: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
        status[:] = [status_line, headers]

    chunks = answer(environ, keep)
    try:
        body = b"".join(chunks)
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            close()
    cut = body[: max(1, len(body) // 2)]
    headers = [(k, v) for k, v in (status[1] if status else []) if k.lower() != "content-length"]
    start_response(status[0] if status else "200 OK", [*headers, ("Content-Length", str(len(cut)))])
    return [cut]


def _reset(environ: dict[str, Any]) -> None:
    """Make the kernel answer with RST: linger 0, then let the socket's real close happen.

    SHUT_RD sends nothing to the client but ends werkzeug's keep-alive read at once;
    close() marks the socket closed, and its file descriptor really closes (with RST, as
    linger is 0) when werkzeug lets go of its reader, before it would shut down for writing.
    """
    sock = environ.get("werkzeug.socket")
    if not isinstance(sock, socket.socket):
        return
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.shutdown(socket.SHUT_RD)
        sock.close()
