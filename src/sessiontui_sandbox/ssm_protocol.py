"""What every sandbox SSM action shares: the request, AWS's error shapes, and paging."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sessiontui_sandbox.state import AwsError, Caller, SandboxState

Handler = Callable[[SandboxState, "SsmRequest"], "dict[str, Any] | None"]


class SsmRequest:
    def __init__(self, region: str, caller: Caller, params: dict[str, Any]) -> None:
        self.region = region
        self.caller = caller
        self.params = params
        self.account = caller.account  # the account the caller's keys belong to


def validation(field_path: str, value: Any, constraint: str) -> AwsError:
    return AwsError(
        "ValidationException",
        f"1 validation error detected: Value '{value}' at '{field_path}' failed to satisfy "
        f"constraint: {constraint}",
    )


def epoch(when: datetime) -> float:
    """A timestamp as AWS's JSON protocol sends it: epoch seconds."""
    return round(when.timestamp(), 3)


def modeled(code: str, message: str) -> AwsError:
    return AwsError(code, message, message_key="Message")


def page_token(state: SandboxState, offset: int, digest: str) -> str:
    # standard base64 with its padding, as AWS's tokens look ("AAEAA...=="): a client that
    # takes one for botocore's own StartingToken encoding (base64 JSON) fails here every time,
    # not only when the unpadded URL-safe form happened to decode
    raw = json.dumps({"o": offset, "q": digest, "n": state.nonce}).encode()
    return base64.b64encode(raw).decode()


def page_offset(state: SandboxState, token: Any, digest: str) -> int:
    invalid = modeled("InvalidNextToken", "The specified token is not valid.")
    if not isinstance(token, str) or not token:
        raise invalid
    try:
        data = json.loads(base64.b64decode(token, validate=True))
        offset = int(data["o"])
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise invalid from None
    if data.get("q") != digest or data.get("n") != state.nonce or offset < 0:
        raise invalid
    return offset


def max_results(params: dict[str, Any], low: int, high: int, default: int) -> int:
    value = params.get("MaxResults")
    if value is None:
        return default
    if not isinstance(value, int) or value < low:
        raise validation(
            "maxResults", value, f"Member must have value greater than or equal to {low}"
        )
    if value > high:
        raise validation(
            "maxResults", value, f"Member must have value less than or equal to {high}"
        )
    return value


def digest(req: SsmRequest, *parts: Any) -> str:
    """What a NextToken is bound to: the region, account and the question asked."""
    raw = json.dumps([req.region, req.account, *parts], default=str).encode()
    return hashlib.sha256(raw).hexdigest()[:16]
