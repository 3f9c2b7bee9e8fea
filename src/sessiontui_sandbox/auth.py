"""Who signed a request, checked as AWS checks it: the access key must be one the sandbox issued
(the demo operator's, whose secret is drawn at each start, or a temporary key from its STS,
Identity Center or node access), the session token its own, and the SigV4 signature made with
its secret. Anything else is refused in the words AWS uses for it.

Without this, any local user could sign with a made-up key and be taken for the operator.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode

from sessiontui_sandbox import sigv4
from sessiontui_sandbox.demo import DEMO_ACCESS_KEY_ID
from sessiontui_sandbox.state import AwsError

if TYPE_CHECKING:
    from sessiontui_sandbox.state import SandboxState

INVALID_TOKEN = "The security token included in the request is invalid."
EC2_AUTH_FAILURE = "AWS was not able to validate the provided access credentials"
BAD_SIGNATURE = (
    "The request signature we calculated does not match the signature you provided. Check your "
    "AWS Secret Access Key and signing method. Consult the service documentation for details."
)
# the query-string fields of a presigned request (the AWS CLI's `presign`, botocore's
# generate_presigned_url): the same signature, carried in the URL instead of headers
PRESIGNED = "X-Amz-Signature"


@dataclass(frozen=True)
class Signed:
    """What a request says about its signer: key, scope's region and service, and how."""

    access_key: str
    region: str
    service: str
    presigned: bool = False


@dataclass(frozen=True)
class Protocol:
    """How the called API words its errors: JSON 1.1 (`__type`), EC2's XML, or the query XML."""

    json: bool = False
    ec2: bool = False


def signer(environ: Mapping[str, Any]) -> Signed | None:
    """The signer named by the Authorization header or a presigned query string, or None."""
    parsed = sigv4.parse(str(environ.get("HTTP_AUTHORIZATION", "")))
    presigned = False
    if parsed is None:
        query = dict(parse_qsl(str(environ.get("QUERY_STRING", "")), keep_blank_values=True))
        if PRESIGNED not in query:
            return None
        credential = query.get("X-Amz-Credential", "")
        key, _, scope = credential.partition("/")
        if not key or scope.count("/") != 3:
            return None
        presigned = True
    else:
        key, scope = parsed[0], parsed[1]
    _date, region, service, _terminator = scope.split("/")
    return Signed(key, region, service.lower(), presigned)


def secret_of(state: SandboxState, access_key: str) -> tuple[str, str | None] | None:
    """(secret access key, session token or None) of a key the sandbox issued, else None."""
    if access_key == DEMO_ACCESS_KEY_ID:
        return state.operator_secret, None
    with state.lock:
        issued = state.keys.get(access_key)
    if issued is None:
        return None
    return issued.secret_access_key, issued.session_token


def missing(protocol: Protocol) -> AwsError:
    """An AWS API called with no signature at all."""
    if protocol.json:
        return AwsError("MissingAuthenticationTokenException", "Missing Authentication Token", 400)
    return AwsError("MissingAuthenticationToken", "Request is missing Authentication Token", 403)


def unknown_key(protocol: Protocol) -> AwsError:
    """A key AWS never issued, or a temporary key with no session token or another one's."""
    if protocol.ec2:
        return AwsError("AuthFailure", EC2_AUTH_FAILURE, 401)
    if protocol.json:
        return AwsError("UnrecognizedClientException", INVALID_TOKEN, 400)
    return AwsError("InvalidClientTokenId", INVALID_TOKEN, 403)


def bad_signature(protocol: Protocol) -> AwsError:
    if protocol.ec2:
        return AwsError("AuthFailure", EC2_AUTH_FAILURE, 401)
    if protocol.json:
        return AwsError("InvalidSignatureException", BAD_SIGNATURE, 400)
    return AwsError("SignatureDoesNotMatch", BAD_SIGNATURE, 403)


def request_headers(environ: Mapping[str, Any]) -> dict[str, str]:
    """A WSGI request's headers keyed by lower-case name, as the signer saw them."""
    headers = {
        name[5:].replace("_", "-").lower(): str(value)
        for name, value in environ.items()
        if name.startswith("HTTP_")
    }
    for name in ("CONTENT_TYPE", "CONTENT_LENGTH"):
        if environ.get(name):
            headers[name.replace("_", "-").lower()] = str(environ[name])
    return headers


def check(
    state: SandboxState, environ: Mapping[str, Any], body: bytes, protocol: Protocol
) -> AwsError | None:
    """AWS's answer to a request not signed by a key the sandbox issued, or None when it was.

    The request's age is not checked: the clock_offset fault moves the sandbox's clock away
    from the signer's on purpose.
    """
    who = signer(environ)
    if who is None:
        return missing(protocol)
    known = secret_of(state, who.access_key)
    if known is None:
        return unknown_key(protocol)
    secret, token = known
    headers = request_headers(environ)
    query = str(environ.get("QUERY_STRING", ""))
    if who.presigned:
        fields = dict(parse_qsl(query, keep_blank_values=True))
        sent_token = fields.get("X-Amz-Security-Token")
    else:
        sent_token = headers.get("x-amz-security-token")
    if token is not None and sent_token != token:
        return unknown_key(protocol)
    method = str(environ.get("REQUEST_METHOD", "GET"))
    path = str(environ.get("PATH_INFO", "/"))
    if who.presigned:
        ok = verify_presigned(secret, method, path, query, headers, body, who.service)
    else:
        ok = sigv4.verify(
            secret=secret,
            method=method,
            path=path,
            query=query,
            headers=headers,
            body=body,
            authorization=str(environ.get("HTTP_AUTHORIZATION", "")),
        )
    return None if ok else bad_signature(protocol)


def verify_presigned(
    secret: str,
    method: str,
    path: str,
    query: str,
    headers: Mapping[str, str],
    body: bytes,
    service: str,
) -> bool:
    """A presigned URL's signature: the query minus X-Amz-Signature is what was signed; S3
    signs no payload, the other services an empty one."""
    fields = parse_qsl(query, keep_blank_values=True)
    values = dict(fields)
    rest = urlencode([(k, v) for k, v in fields if k != PRESIGNED])
    sent = values.get(PRESIGNED, "")
    signed = values.get("X-Amz-SignedHeaders", "host").split(";")
    credential = values.get("X-Amz-Credential", "")
    scope = credential.partition("/")[2]
    payload = "UNSIGNED-PAYLOAD" if service == "s3" else hashlib.sha256(body).hexdigest()
    expected = sigv4.signature(
        secret=secret,
        method=method,
        path=path,
        query=rest,
        headers=headers,
        signed=signed,
        payload_hash=payload,
        amz_date=values.get("X-Amz-Date", ""),
        scope=scope,
    )
    return hmac.compare_digest(expected, sent)


def websocket_signed_by_issuer(
    state: SandboxState, path: str, query: str, headers: Mapping[str, str], authorization: str
) -> bool:
    """Whether a data channel upgrade (newer plugins sign it) carries a signature made with a
    key the sandbox issued; an unknown key is refused as on the API."""
    parsed = sigv4.parse(authorization)
    if parsed is None:
        return False
    known = secret_of(state, parsed[0])
    if known is None:
        return False
    return sigv4.verify(
        secret=known[0],
        method="GET",
        path=path,
        query=query,
        headers=headers,
        body=b"",
        authorization=authorization,
    )
