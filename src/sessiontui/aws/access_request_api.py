"""Just-in-time node access calls: StartAccessRequest, GetAccessToken, and waiting for a
decision without polling faster than AWS allows. The ssm client is passed in."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from sessiontui.aws.sessions import map_client_error
from sessiontui.core.access_request import APPROVED, PENDING, Target, next_wait
from sessiontui.core.clock import SYSTEM_CLOCK, Clock
from sessiontui.core.credentials import Credentials
from sessiontui.core.errors import AuthError, SessiontuiError, TargetError, UsageError

if TYPE_CHECKING:
    from mypy_boto3_ssm import SSMClient

TOKEN_ROLE = "just-in-time access"  # Credentials.role_name of an access token


@dataclass(frozen=True)
class TokenAnswer:
    status: str
    credentials: Credentials | None = None  # only when Approved

    @property
    def expires_at(self) -> datetime | None:
        return self.credentials.expiration if self.credentials else None


def _code(err: ClientError) -> str:
    return str(err.response.get("Error", {}).get("Code", ""))


def _message(err: ClientError) -> str:
    return str(err.response.get("Error", {}).get("Message", "")).strip()


def _refused(err: Exception, action: str) -> SessiontuiError:
    if isinstance(err, ClientError):
        code, msg = _code(err), _message(err)
        if code == "ValidationException":
            return UsageError(f"{action} refused: {msg}")
        if code == "ResourceNotFoundException":
            return TargetError(f"{action} refused: {msg}")
        if code in ("AccessDeniedException", "AccessDenied"):
            return AuthError(f"{action} refused: {msg}")
    return map_client_error(err, action)


def start_access_request(
    ssm: SSMClient, reason: str, target: Target, tags: dict[str, str] | None = None
) -> str:
    kwargs: dict[str, Any] = {"Reason": reason, "Targets": target.to_aws()}
    if tags:
        kwargs["Tags"] = [{"Key": k, "Value": v} for k, v in tags.items()]
    try:
        return str(ssm.start_access_request(**kwargs)["AccessRequestId"])
    except (ClientError, BotoCoreError) as e:
        raise _refused(e, "StartAccessRequest") from None


def is_throttled(err: Exception) -> bool:
    return isinstance(err, ClientError) and _code(err) in (
        "ThrottlingException",
        "Throttling",
        "TooManyRequestsException",
    )


def get_access_token(ssm: SSMClient, request_id: str) -> TokenAnswer:
    """One GetAccessToken; a ThrottlingException comes out as the ClientError it is."""
    try:
        resp = ssm.get_access_token(AccessRequestId=request_id)
    except ClientError as e:
        if is_throttled(e):
            raise
        raise _refused(e, "GetAccessToken") from None
    except BotoCoreError as e:
        raise _refused(e, "GetAccessToken") from None
    status = str(resp.get("AccessRequestStatus", PENDING))
    raw = resp.get("Credentials")
    creds = None
    if status == APPROVED and raw:
        expires = raw["ExpirationTime"]
        if isinstance(expires, datetime) and expires.tzinfo is None:
            expires = expires.replace(tzinfo=UTC)
        creds = Credentials(
            access_key_id=raw["AccessKeyId"],
            secret_access_key=raw["SecretAccessKey"],
            session_token=raw["SessionToken"],
            expiration=expires,
            role_name=TOKEN_ROLE,
        )
    return TokenAnswer(status, creds)


def wait_for_decision(
    ssm: SSMClient,
    request_id: str,
    wait_seconds: float,
    on_poll: Callable[[str, float], None] | None = None,
    clock: Clock = SYSTEM_CLOCK,
    sleep: Callable[[float], None] | None = None,
    cancel: threading.Event | None = None,
) -> TokenAnswer:
    """Poll GetAccessToken until the request leaves Pending or `wait_seconds` pass.

    The first poll is at once (auto-approval decides within StartAccessRequest), then with a
    growing wait (core.access_request.next_wait); a throttled poll waits longer still. `on_poll`
    hears (status, seconds until the next poll) after every answer, "Throttled" included.
    Returns the last answer: Pending when the time ran out.
    """
    stop = cancel or threading.Event()
    pause = sleep or (lambda s: stop.wait(s))
    deadline = clock.time() + max(0.0, wait_seconds)
    wait: float | None = None
    answer = TokenAnswer(PENDING)
    while True:
        throttled = False
        try:
            answer = get_access_token(ssm, request_id)
        except ClientError:
            throttled = True
        if not throttled and answer.status != PENDING:
            if on_poll:
                on_poll(answer.status, 0.0)
            return answer
        wait = next_wait(wait, throttled)
        left = deadline - clock.time()
        if on_poll:
            on_poll("Throttled" if throttled else answer.status, min(wait, max(left, 0.0)))
        if left <= 0 or stop.is_set():
            return answer
        pause(min(wait, left))
        if stop.is_set():
            return answer
