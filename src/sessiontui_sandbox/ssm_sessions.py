"""Session Manager's session actions, as moto 5.2 lacks them: start, terminate, resume,
describe, connection status. The data channel the StreamUrl names is sandbox/datachannel."""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from datetime import UTC, datetime
from typing import Any

from sessiontui_sandbox.demo import DEMO_ACCOUNT
from sessiontui_sandbox.ssm_access import check_session_target, note_session
from sessiontui_sandbox.ssm_nodes import ec2_state, node_name
from sessiontui_sandbox.ssm_protocol import (
    SsmRequest,
    epoch,
    max_results,
    modeled,
    page_offset,
    page_token,
    validation,
)
from sessiontui_sandbox.state import Caller, SandboxState, SessionRecord

SESSION_DOCUMENTS = {
    "SSM-SessionManagerRunShell",
    "AWS-StartPortForwardingSession",
    "AWS-StartPortForwardingSessionToRemoteHost",
    "AWS-StartSSHSession",
    "AWS-StartInteractiveCommand",
    "AWS-StartNonInteractiveCommand",
    "AWS-StartPortForwardingSessionToSocket",
}
FORWARD_DOCUMENTS = {
    "AWS-StartPortForwardingSession",
    "AWS-StartPortForwardingSessionToRemoteHost",
    "AWS-StartSSHSession",
}
ACTIVE_STATUSES = {"Connected", "Connecting", "Disconnected", "Terminating"}
SESSION_FILTER_KEYS = [
    "InvokedAfter",
    "InvokedBefore",
    "Target",
    "Owner",
    "Status",
    "SessionId",
    "AccessType",
]
TERMINATED_BY_OTHER = "Your session has been terminated."


# -- sessions -------------------------------------------------------------------------------------


def authorize_target(state: SandboxState, req: SsmRequest, target: str) -> None:
    """What StartSession checks besides IAM (iam_authz has authorised the caller's policies):
    a node governed by just-in-time node access takes sessions only from an approved token."""
    check_session_target(state, req.caller, req.region, target)


def _owner_account(record: SessionRecord) -> str:
    """The account a session lives in: its owner's (arn:aws:sts::ACCOUNT:... or iam)."""
    parts = record.owner.split(":")
    return parts[4] if len(parts) > 4 else DEMO_ACCOUNT


def _connected(state: SandboxState, region: str, target: str, account: str = DEMO_ACCOUNT) -> bool:
    node = state.find_node(region, target, account)
    if node is None or node.ping_status != "Online":
        return False
    return node.ec2 is None or ec2_state(node) == "running"


def _new_session_id(state: SandboxState, caller: Caller) -> str:
    # Unique across sandbox runs, as AWS's are: AWS's plugin names its mux socket after the id
    # ($TMPDIR/<fnv32a(id)>_session_manager_plugin_mux.sock), and one it left behind when killed
    # would refuse a later session with the same id ("bind: address already in use").
    return f"{caller.session_name}-{secrets.randbits(68):017x}"


def _destination(
    state: SandboxState, node_id: str, name: str, document: str, params: dict[str, list[str]]
) -> tuple[str, int] | None:
    if document not in FORWARD_DOCUMENTS or state.services is None:
        return None
    default_port = "22" if document == "AWS-StartSSHSession" else "80"
    try:
        port = int((params.get("portNumber") or [default_port])[0])
    except ValueError:
        return None
    host = ""
    if document == "AWS-StartPortForwardingSessionToRemoteHost":
        host = (params.get("host") or [""])[0]
    result: tuple[str, int] | None = state.services.get(node_id, name, host, port)
    return result


def stream_url(state: SandboxState, session_id: str) -> str:
    """The data channel's websocket (sandbox/datachannel/server.py), as ssmmessages' would be."""
    return str(state.datachannel.url(session_id)) if state.datachannel is not None else ""


def start_session(state: SandboxState, req: SsmRequest) -> dict[str, Any]:
    params = req.params
    target = params.get("Target")
    if not isinstance(target, str) or not re.fullmatch(r"(?s).{1,400}", target):
        raise validation("target", target, "Member must have length between 1 and 400")
    document = params.get("DocumentName") or "SSM-SessionManagerRunShell"
    reason = params.get("Reason") or ""
    if reason and not re.fullmatch(r"^.{1,256}$", reason):
        raise validation(
            "reason", reason, "Member must satisfy regular expression pattern: ^.{1,256}$"
        )
    authorize_target(state, req, target)
    if document not in SESSION_DOCUMENTS:
        raise modeled("InvalidDocument", f"Document with name {document} does not exist.")
    if not _connected(state, req.region, target, req.account):
        raise modeled("TargetNotConnected", f"{target} is not connected.")
    node = state.find_node(req.region, target, req.account)
    parameters = {str(k): [str(x) for x in v] for k, v in (params.get("Parameters") or {}).items()}
    name = node_name(req.region, node, target)
    with state.lock:
        session_id = _new_session_id(state, req.caller)
        record = SessionRecord(
            session_id=session_id,
            token=secrets.token_urlsafe(48),
            target=target,
            region=req.region,
            document=document,
            parameters=parameters,
            reason=reason,
            owner=req.caller.arn,
            owner_id=req.caller.user_id,
            start=state.now(),
            node_name=name,
            platform=node.platform_type if node else "",
        )
        state.sessions[session_id] = record
    note_session(state, req.caller, session_id)
    record.destination = _destination(state, target, name, document, parameters)
    return {
        "SessionId": record.session_id,
        "TokenValue": record.token,
        "StreamUrl": stream_url(state, record.session_id),
    }


def terminate(state: SandboxState, record: SessionRecord, reason: str, by: str = "") -> None:
    """End a session once; `by` is the caller whose TerminateSession did it, if one did."""
    state.end_session(record, reason, by)


def disconnect(state: SandboxState, record: SessionRecord) -> None:
    """The client closed its data channel without TerminateSession: the session lives on,
    Disconnected (ResumeSession picks it up), until something terminates it."""
    with state.lock:
        if state.session_status(record) != "Terminated":
            record.status = "Disconnected"


def reconnect(state: SandboxState, record: SessionRecord) -> None:
    """A data channel opened again with a good token: the session is Connected once more."""
    with state.lock:
        if state.session_status(record) == "Disconnected":
            record.status = "Connected"


def terminate_session(state: SandboxState, req: SsmRequest) -> dict[str, Any]:
    session_id = str(req.params.get("SessionId", ""))
    record = state.sessions.get(session_id)
    if record is not None and record.region == req.region and _owner_account(record) == req.account:
        terminate(state, record, TERMINATED_BY_OTHER, by=req.caller.arn)
    # AWS answers the same for an unknown or already terminated session: idempotent.
    return {"SessionId": session_id}


def resume_session(state: SandboxState, req: SsmRequest) -> dict[str, Any]:
    session_id = str(req.params.get("SessionId", ""))
    record = state.sessions.get(session_id)
    if (
        record is None
        or record.region != req.region
        or state.session_status(record) == "Terminated"
    ):
        raise modeled("DoesNotExistException", f"Session {session_id} does not exist.")
    with state.lock:
        record.token = secrets.token_urlsafe(48)
        record.status = "Connected"
    return {
        "SessionId": record.session_id,
        "TokenValue": record.token,
        "StreamUrl": stream_url(state, record.session_id),
    }


def _parse_when(value: str) -> datetime:
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise modeled("InvalidFilterValue", f"The filter value {value} is not valid.") from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def session_json(state: SandboxState, record: SessionRecord) -> dict[str, Any]:
    status = state.session_status(record)
    out: dict[str, Any] = {
        "SessionId": record.session_id,
        "Target": record.target,
        "Status": status,
        "StartDate": epoch(record.start),
        "DocumentName": record.document,
        "Owner": record.owner,
        "Details": "",
        "OutputUrl": {},
        "MaxSessionDuration": str(record.max_minutes),
    }
    if record.reason:
        out["Reason"] = record.reason
    if record.end is not None:
        out["EndDate"] = epoch(record.end)
    return out


def _session_matches(
    record: SessionRecord, row: dict[str, Any], key: str, value: str, when: datetime | None
) -> bool:
    if key == "InvokedAfter" and when is not None:
        return record.start >= when
    if key == "InvokedBefore" and when is not None:
        return record.start <= when
    if key == "AccessType":
        return value == "Standard"  # the sandbox has no port-forward-only access type
    return bool(row.get(key) == value)


def describe_sessions(state: SandboxState, req: SsmRequest) -> dict[str, Any]:
    params = req.params
    wanted = params.get("State")
    if wanted not in ("Active", "History"):
        raise validation("state", wanted, "Member must satisfy enum value set: [Active, History]")
    limit = max_results(params, 1, 200, 20)
    checks: list[tuple[str, str, datetime | None]] = []
    for i, item in enumerate(params.get("Filters") or [], 1):
        key, value = str(item.get("key")), str(item.get("value", ""))
        if key not in SESSION_FILTER_KEYS:
            raise validation(
                f"filters.{i}.member.key",
                key,
                "Member must satisfy enum value set: [" + ", ".join(SESSION_FILTER_KEYS) + "]",
            )
        when = _parse_when(value) if key in ("InvokedAfter", "InvokedBefore") else None
        checks.append((key, value, when))
    digest = hashlib.sha256(json.dumps([req.region, params.get("Filters"), wanted]).encode())
    digest_text = digest.hexdigest()[:16]
    offset = page_offset(state, params["NextToken"], digest_text) if "NextToken" in params else 0
    with state.lock:
        records = [
            r
            for r in state.sessions.values()
            if r.region == req.region and _owner_account(r) == req.account
        ]
        rows = []
        for r in sorted(records, key=lambda r: r.start, reverse=True):
            j = session_json(state, r)
            active = j["Status"] in ACTIVE_STATUSES
            if active != (wanted == "Active"):
                continue
            if all(_session_matches(r, j, *c) for c in checks):
                rows.append(j)
    out: dict[str, Any] = {"Sessions": rows[offset : offset + limit]}
    if offset + limit < len(rows):
        out["NextToken"] = page_token(state, offset + limit, digest_text)
    return out


def get_connection_status(state: SandboxState, req: SsmRequest) -> dict[str, Any]:
    target = str(req.params.get("Target", ""))
    connected = _connected(state, req.region, target, req.account)
    return {"Target": target, "Status": "connected" if connected else "notconnected"}
