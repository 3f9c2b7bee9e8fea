"""AWS Signature Version 4, both sides: the sandbox checks what a client signed, and the stand-in
plugin signs its own TerminateSession the way the real plugin's SDK does.

Only what AWS's query and JSON protocols use: one region and service per request, headers signed
as listed, the payload hashed whole. Standard library only: the stand-in plugin must start fast.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from datetime import UTC, datetime
from urllib.parse import parse_qsl, quote

ALGORITHM = "AWS4-HMAC-SHA256"


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode("utf-8"), hashlib.sha256).digest()


def _canonical_query(query: str) -> str:
    pairs = parse_qsl(query, keep_blank_values=True)
    return "&".join(f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}" for k, v in sorted(pairs))


def signature(
    *,
    secret: str,
    method: str,
    path: str,
    query: str,
    headers: Mapping[str, str],
    signed: list[str],
    payload_hash: str,
    amz_date: str,
    scope: str,
) -> str:
    """The hex signature of a request; `headers` keyed by lower-case name, `scope` is
    DATE/REGION/SERVICE/aws4_request."""
    canonical_headers = "".join(f"{h}:{' '.join(headers.get(h, '').split())}\n" for h in signed)
    canonical = "\n".join(
        [
            method.upper(),
            quote(path or "/", safe="/~"),
            _canonical_query(query),
            canonical_headers,
            ";".join(signed),
            payload_hash,
        ]
    )
    to_sign = "\n".join(
        [ALGORITHM, amz_date, scope, hashlib.sha256(canonical.encode("utf-8")).hexdigest()]
    )
    date, region, service, terminator = scope.split("/")
    key = _hmac(("AWS4" + secret).encode("utf-8"), date)
    for part in (region, service, terminator):
        key = _hmac(key, part)
    return hmac.new(key, to_sign.encode("utf-8"), hashlib.sha256).hexdigest()


def parse(header: str) -> tuple[str, str, list[str], str] | None:
    """(access key id, scope, signed headers, signature) of an Authorization header, or None."""
    if not header.startswith(ALGORITHM + " "):
        return None
    fields: dict[str, str] = {}
    for part in header[len(ALGORITHM) + 1 :].split(","):
        name, _, value = part.strip().partition("=")
        fields[name] = value.strip()
    credential, signed, sig = (
        fields.get(k, "") for k in ("Credential", "SignedHeaders", "Signature")
    )
    key, _, scope = credential.partition("/")
    if not (key and scope.count("/") == 3 and signed and sig):
        return None
    return key, scope, signed.split(";"), sig


def verify(
    *,
    secret: str,
    method: str,
    path: str,
    query: str,
    headers: Mapping[str, str],
    body: bytes,
    authorization: str,
) -> bool:
    """Whether `authorization` is this request signed with `secret` (headers keyed lower-case)."""
    parsed = parse(authorization)
    if parsed is None:
        return False
    _key, scope, signed, sig = parsed
    payload_hash = headers.get("x-amz-content-sha256") or hashlib.sha256(body).hexdigest()
    expected = signature(
        secret=secret,
        method=method,
        path=path,
        query=query,
        headers=headers,
        signed=signed,
        payload_hash=payload_hash,
        amz_date=headers.get("x-amz-date", ""),
        scope=scope,
    )
    return hmac.compare_digest(expected, sig)


def sign(
    *,
    access_key: str,
    secret: str,
    token: str | None,
    region: str,
    service: str,
    method: str,
    host: str,
    path: str,
    headers: dict[str, str],
    body: bytes,
    now: datetime | None = None,
) -> dict[str, str]:
    """`headers` plus X-Amz-Date, the session token and Authorization, as an SDK sends them."""
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    out = dict(headers)
    out["Host"] = host
    out["X-Amz-Date"] = stamp
    if token:
        out["X-Amz-Security-Token"] = token
    lower = {k.lower(): v for k, v in out.items()}
    signed = sorted(lower)
    scope = f"{stamp[:8]}/{region}/{service}/aws4_request"
    sig = signature(
        secret=secret,
        method=method,
        path=path,
        query="",
        headers=lower,
        signed=signed,
        payload_hash=hashlib.sha256(body).hexdigest(),
        amz_date=stamp,
        scope=scope,
    )
    out["Authorization"] = (
        f"{ALGORITHM} Credential={access_key}/{scope}, "
        f"SignedHeaders={';'.join(signed)}, Signature={sig}"
    )
    return out
