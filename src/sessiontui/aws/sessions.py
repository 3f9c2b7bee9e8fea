"""Session Manager API calls: start, terminate, describe, connection status, preferences.

The ssm client is always passed in (aws.clients builds it); errors come out as core errors with
the documented exit codes and plain words.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError

from sessiontui.core.abilities import kind_refusal, refused_document, session_kind
from sessiontui.core.access_request import GOVERNED_MARK, GovernedNodeError
from sessiontui.core.errors import (
    AuthError,
    NotConnectableError,
    SessionKindError,
    SessiontuiError,
)

if TYPE_CHECKING:
    from mypy_boto3_ssm import SSMClient
    from mypy_boto3_ssm.literals import SessionStateType
    from mypy_boto3_ssm.type_defs import (
        DescribeSessionsRequestTypeDef,
        SessionFilterTypeDef,
        SessionTypeDef,
        StartSessionRequestTypeDef,
    )

SHELL_PREFERENCES_DOCUMENT = "SSM-SessionManagerRunShell"
# the command line's words: the TUI says its key instead (ui.opening.tui_words)
REAUTH_HINT = "your role's credentials have expired: take the role again with --role NAME"
SCOPE_HINT = "take a role whose scope covers this node: --role NAME (sessiontui --help)"

_THROTTLING = {
    "ThrottlingException",
    "Throttling",
    "RequestLimitExceeded",
    "TooManyRequestsException",
}
_EXPIRED = {"ExpiredToken", "ExpiredTokenException", "RequestExpired", "InvalidClientTokenId"}
_NOT_CONNECTABLE = {"TargetNotConnected", "InvalidInstanceId", "InvalidTarget"}
_GONE = {
    "DoesNotExistException",
    "InvalidSessionId",
    "ResourceNotFoundException",
    "SessionNotFound",
}


@dataclass(frozen=True)
class StartedSession:
    """StartSession's answer plus what was asked; the token never shows in repr or logs."""

    session_id: str
    token_value: str = field(repr=False)
    stream_url: str = field(repr=False)
    target: str
    region: str
    endpoint_url: str
    document: str | None = None
    parameters: dict[str, list[str]] = field(default_factory=dict)
    reason: str | None = None


@dataclass(frozen=True)
class SessionPreferences:
    idle_minutes: int | None
    max_minutes: int | None


def _code(err: ClientError) -> str:
    return str(err.response.get("Error", {}).get("Code", ""))


def _message(err: ClientError) -> str:
    return str(err.response.get("Error", {}).get("Message", "")).strip()


def map_client_error(err: Exception, action: str, target: str | None = None) -> SessiontuiError:
    """A botocore error -> the core error an operator can act on."""
    where = f" to {target}" if target else ""
    if isinstance(err, EndpointConnectionError):
        return SessiontuiError(
            f"cannot reach the Systems Manager endpoint ({err.kwargs.get('endpoint_url', '')})",
            "check the network, the region, and AWS_ENDPOINT_URL",
        )
    if not isinstance(err, ClientError):
        return SessiontuiError(f"{action} failed: {err}")
    code, msg = _code(err), _message(err)
    if code in _EXPIRED:
        return AuthError(f"{action} refused: the credentials have expired", REAUTH_HINT)
    if code == "AccessDeniedException" and GOVERNED_MARK in msg and action == "StartSession":
        return GovernedNodeError(
            f"{target or 'the node'} is governed by just-in-time node access: no role may start "
            "a session on it; an approved access request may",
            target or "",
        )
    if code in ("AccessDeniedException", "AccessDenied", "UnauthorizedOperation"):
        document = refused_document(msg) if action == "StartSession" else None
        if document is not None:
            sentence, advice = kind_refusal(document)
            return SessionKindError(sentence, advice, document, session_kind(document)[0])
        detail = f": {msg}" if msg else ""
        return AuthError(
            f"access denied: your role may not {_verb(action)}{where}{detail}",
            SCOPE_HINT,
        )
    if code in _NOT_CONNECTABLE:
        return NotConnectableError(
            f"{target or 'the node'} is not connected to Systems Manager"
            + (f": {msg}" if msg else ""),
            "check that the SSM agent is running and the node is Online",
        )
    if code in _THROTTLING:
        return SessiontuiError(f"{action} was throttled by AWS; try again in a moment")
    return SessiontuiError(f"{action} failed ({code}){': ' + msg if msg else ''}")


def _verb(action: str) -> str:
    return {
        "StartSession": "start a session",
        "TerminateSession": "end a session",
        "DescribeSessions": "list sessions",
        "GetConnectionStatus": "read the connection status",
    }.get(action, f"call {action}")


def start_session(
    ssm: SSMClient,
    target: str,
    document: str | None = None,
    parameters: dict[str, list[str]] | None = None,
    reason: str | None = None,
) -> StartedSession:
    kwargs: StartSessionRequestTypeDef = {"Target": target}
    if document:
        kwargs["DocumentName"] = document
    if parameters:
        kwargs["Parameters"] = parameters
    if reason:
        kwargs["Reason"] = reason
    try:
        resp = ssm.start_session(**kwargs)
    except (ClientError, BotoCoreError) as e:
        raise map_client_error(e, "StartSession", target) from None
    return StartedSession(
        session_id=resp["SessionId"],
        token_value=resp["TokenValue"],
        stream_url=resp["StreamUrl"],
        target=target,
        region=ssm.meta.region_name,
        endpoint_url=ssm.meta.endpoint_url,
        document=document,
        parameters=dict(parameters or {}),
        reason=reason,
    )


def terminate_session(ssm: SSMClient, session_id: str, retry_delay: float = 1.0) -> bool:
    """End a session server-side. True when AWS took it (or it was already over).

    Safe to call twice: an already-terminated or unknown session is not an error. Throttling is
    retried once, because this runs on the way out and there is no later chance.
    """
    for attempt in range(2):
        try:
            ssm.terminate_session(SessionId=session_id)
            return True
        except ClientError as e:
            code, msg = _code(e), _message(e).lower()
            if (
                code in _GONE
                or "terminated" in msg
                or "not found" in msg
                or "does not exist" in msg
            ):
                return True
            if code in _THROTTLING and attempt == 0:
                time.sleep(retry_delay)
                continue
            raise map_client_error(e, "TerminateSession") from None
        except BotoCoreError as e:
            raise map_client_error(e, "TerminateSession") from None
    return False  # pragma: no cover - the loop always returns or raises


def describe_sessions(
    ssm: SSMClient,
    state: SessionStateType = "Active",
    target: str | None = None,
    owner: str | None = None,
    session_id: str | None = None,
) -> list[SessionTypeDef]:
    filters: list[SessionFilterTypeDef] = []
    if session_id:
        filters.append({"key": "SessionId", "value": session_id})
    if target:
        filters.append({"key": "Target", "value": target})
    if owner:
        filters.append({"key": "Owner", "value": owner})
    out: list[SessionTypeDef] = []
    kwargs: DescribeSessionsRequestTypeDef = {"State": state}
    if filters:
        kwargs["Filters"] = filters
    try:
        while True:
            resp = ssm.describe_sessions(**kwargs)
            out.extend(resp.get("Sessions", []))
            token = resp.get("NextToken")
            if not token:
                return out
            kwargs["NextToken"] = token
    except (ClientError, BotoCoreError) as e:
        raise map_client_error(e, "DescribeSessions", target) from None


def still_active(ssm: SSMClient, session_id: str) -> bool | None:
    """Whether AWS still lists the session as Active; None when it cannot be asked.

    A refused TerminateSession is not a session left open: a shell whose user typed `exit` was
    already ended by the agent. Identities that may not end their own sessions (the SSO guide's
    permission sets) may usually describe them."""
    try:
        found = describe_sessions(ssm, "Active", session_id=session_id)
    except SessiontuiError:
        return None
    return any(s.get("SessionId") == session_id for s in found)


def connection_status(ssm: SSMClient, target: str) -> str:
    """ "connected" or "notconnected", as GetConnectionStatus says."""
    try:
        return str(ssm.get_connection_status(Target=target).get("Status", ""))
    except (ClientError, BotoCoreError) as e:
        raise map_client_error(e, "GetConnectionStatus", target) from None


def session_preferences(ssm: SSMClient) -> SessionPreferences | None:
    """The account's idle timeout and max duration; None when never saved or not readable."""
    try:
        doc = ssm.get_document(Name=SHELL_PREFERENCES_DOCUMENT, DocumentFormat="JSON")
    except ClientError as e:
        if _code(e) in ("InvalidDocument", "AccessDeniedException", "AccessDenied"):
            return None
        raise map_client_error(e, "GetDocument") from None
    except BotoCoreError as e:
        raise map_client_error(e, "GetDocument") from None
    try:
        inputs = json.loads(doc.get("Content") or "{}").get("inputs", {})
    except (ValueError, AttributeError):
        return None
    return SessionPreferences(
        idle_minutes=_minutes(inputs.get("idleSessionTimeout")),
        max_minutes=_minutes(inputs.get("maxSessionDuration")),
    )


def _minutes(value: object) -> int | None:
    try:
        n = int(str(value).strip())
    except (TypeError, ValueError):
        return None
    return n if n > 0 else None
