"""The sandbox's own endpoints (`/_sandbox/*`) answer its operator only.

Anything on the machine can reach 127.0.0.1, and so can any web page the operator's browser
opens (directly, or through a DNS name rebound to 127.0.0.1). So:

- control calls (faults, the approver, the MFA code helper, call counts) carry the secret the
  sandbox drew at start, as `Authorization: Bearer SECRET`; it lives in the sandbox's 0600 pointer
  file and in the Sandbox object, never in a constant;
- every request names the sandbox itself as Host (127.0.0.1:PORT or localhost:PORT), which a
  rebound DNS name does not;
- a request with an Origin (browsers always send one on POST and on websockets) must come from
  the sandbox's own pages;
- its HTML forms carry a CSRF token bound to what the form acts on.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

LOOPBACK_NAMES = ("127.0.0.1", "localhost")
CSRF_FIELD = "csrf"


def own_hosts(host: str, ports: Iterable[int]) -> set[str]:
    """HOST:PORT values that name the sandbox itself."""
    names = {host, *LOOPBACK_NAMES}
    return {f"{name}:{port}" for name in names for port in ports}


def endpoint_hosts(endpoint_url: str) -> set[str]:
    """own_hosts for the sandbox's HTTP endpoint (http://HOST:PORT)."""
    parts = urlsplit(endpoint_url)
    if parts.hostname is None or parts.port is None:
        return set()
    return own_hosts(parts.hostname, [parts.port])


def origin_allowed(origin: str, allowed: set[str]) -> bool:
    """Whether an Origin header names one of `allowed` (scheme://host:port); "null" never does."""
    return origin.strip().rstrip("/").lower() in {a.lower() for a in allowed}


def refusal(environ: Mapping[str, Any], endpoint_url: str) -> str | None:
    """Why a request to a `/_sandbox/*` URL comes from somewhere else, or None."""
    hosts = endpoint_hosts(endpoint_url)
    host = str(environ.get("HTTP_HOST", "")).lower()
    if host not in {h.lower() for h in hosts}:
        return f"the Host {host!r} is not this sandbox"
    origin = environ.get("HTTP_ORIGIN")
    if origin is not None and not origin_allowed(str(origin), {f"http://{h}" for h in hosts}):
        return f"cross-origin request from {origin!r} refused"
    return None


def bearer(token: str) -> dict[str, str]:
    """The header a control call carries."""
    return {"Authorization": f"Bearer {token}"}


def has_token(environ: Mapping[str, Any], token: str) -> bool:
    scheme, _, sent = str(environ.get("HTTP_AUTHORIZATION", "")).partition(" ")
    return scheme == "Bearer" and hmac.compare_digest(sent.strip().encode(), token.encode())


def csrf_token(key: bytes, bound_to: str) -> str:
    """A form's CSRF token: only this sandbox can make it, and only for that one form."""
    return hmac.new(key, bound_to.encode(), hashlib.sha256).hexdigest()


def same_token(expected: str, sent: str) -> bool:
    return hmac.compare_digest(expected.encode(), sent.encode())
