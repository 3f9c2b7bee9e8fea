"""The SSM actions moto 5.2 lacks, answering as AWS does (JSON 1.1 protocol)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import secrets
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sessiontui.sandbox.demo import DEMO_ACCOUNT
from sessiontui.sandbox.state import (
    MANAGED_INSTANCE,
    AwsError,
    Caller,
    ManagedNode,
    SandboxState,
    SessionRecord,
)

Handler = Callable[[SandboxState, "SsmRequest"], "dict[str, Any] | None"]

DEFAULT_PAGE = 10  # small on purpose: a client that forgets to page is caught at once
LEGACY_FILTER_KEYS = [
    "InstanceIds",
    "AgentVersion",
    "PingStatus",
    "PlatformTypes",
    "ActivationIds",
    "IamRole",
    "ResourceType",
    "AssociationStatus",
]
# the Filters list takes the legacy keys, tag-key and tag:K (checked apart)
NEW_FILTER_KEYS = {*LEGACY_FILTER_KEYS, "tag-key"}
ALLOWED_VALUES = {
    "PingStatus": {"Online", "ConnectionLost", "Inactive"},
    "PlatformTypes": {"Windows", "Linux", "MacOS"},
    "ResourceType": {"EC2Instance", "ManagedInstance"},
}
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


class SsmRequest:
    def __init__(self, region: str, caller: Caller, params: dict[str, Any]) -> None:
        self.region = region
        self.caller = caller
        self.params = params


def validation(field_path: str, value: Any, constraint: str) -> AwsError:
    return AwsError(
        "ValidationException",
        f"1 validation error detected: Value '{value}' at '{field_path}' failed to satisfy "
        f"constraint: {constraint}",
    )


def modeled(code: str, message: str) -> AwsError:
    return AwsError(code, message, message_key="Message")


# -- moto's EC2 view of a node --------------------------------------------------------------------


def ec2_backend(region: str) -> Any:
    from moto.ec2.models import ec2_backends

    return ec2_backends[DEMO_ACCOUNT][region]


def ec2_instance(region: str, instance_id: str) -> Any:
    """The moto instance, or None; O(n) in moto, so only for rare lookups."""
    if not instance_id.startswith("i-"):
        return None
    try:
        return ec2_backend(region).get_instance(instance_id)
    except Exception:  # moto raises its own InvalidInstanceID error
        return None


def node_tags(region: str, node: ManagedNode | None, instance_id: str) -> dict[str, str]:
    if node is not None and node.is_hybrid:
        return node.tags
    return dict(ec2_backend(region).tags.get(instance_id, {}))


def ec2_state(node: ManagedNode) -> str:
    if node.ec2 is None:
        return ""
    return str(node.ec2._state.name)


def node_name(region: str, node: ManagedNode | None, instance_id: str) -> str:
    tags = node_tags(region, node, instance_id)
    if tags.get("Name"):
        return tags["Name"]
    if node is not None:
        return node.name or node.computer_name or instance_id
    return instance_id


# -- DescribeInstanceInformation ------------------------------------------------------------------


def _epoch(when: datetime) -> float:
    return round(when.timestamp(), 3)


def instance_information(state: SandboxState, node: ManagedNode) -> dict[str, Any]:
    now = state.now()
    ping = now - timedelta(seconds=node.ping_age)
    out: dict[str, Any] = {
        "InstanceId": node.instance_id,
        "PingStatus": node.ping_status,
        "LastPingDateTime": _epoch(ping),
        "AgentVersion": node.agent_version,
        "IsLatestVersion": node.is_latest_version,
        "PlatformType": node.platform_type,
        "PlatformName": node.platform_name,
        "PlatformVersion": node.platform_version,
        "ResourceType": node.resource_type,
        "IPAddress": node.ip_address,
        "ComputerName": node.computer_name,
        "IamRole": node.iam_role,
        "AssociationStatus": node.association_status,
        "SourceId": node.instance_id,
        "SourceType": "AWS::SSM::ManagedInstance" if node.is_hybrid else "AWS::EC2::Instance",
    }
    if node.association_status:
        out["LastAssociationExecutionDate"] = _epoch(ping - timedelta(minutes=30))
        out["LastSuccessfulAssociationExecutionDate"] = _epoch(ping - timedelta(minutes=30))
    if node.is_hybrid:
        out["Name"] = node.name
        out["ActivationId"] = node.activation_id
        out["RegistrationDate"] = _epoch(now - timedelta(seconds=node.registration_age))
    return out


def _check_values(key: str, values: Any, path: str) -> list[str]:
    if not isinstance(values, list) or not values or len(values) > 100:
        raise validation(path, values, "Member must have length between 1 and 100")
    allowed = ALLOWED_VALUES.get(key)
    if allowed:
        for v in values:
            if v not in allowed:
                raise modeled(
                    "InvalidInstanceInformationFilterValue",
                    f"{v} is not a valid value for filter {key}.",
                )
    return [str(v) for v in values]


def _parse_filters(params: dict[str, Any]) -> list[tuple[str, list[str]]]:
    out: list[tuple[str, list[str]]] = []
    for i, item in enumerate(params.get("InstanceInformationFilterList") or [], 1):
        key = item.get("key", "")
        if key not in LEGACY_FILTER_KEYS:
            raise validation(
                f"instanceInformationFilterList.{i}.member.key",
                key,
                "Member must satisfy enum value set: [" + ", ".join(LEGACY_FILTER_KEYS) + "]",
            )
        path = f"instanceInformationFilterList.{i}.member.valueSet"
        out.append((key, _check_values(key, item.get("valueSet"), path)))
    for i, item in enumerate(params.get("Filters") or [], 1):
        key = str(item.get("Key", ""))
        if key not in NEW_FILTER_KEYS and not (key.startswith("tag:") and len(key) > 4):
            raise modeled("InvalidFilterKey", f"The filter key {key} is not valid.")
        out.append((key, _check_values(key, item.get("Values"), f"filters.{i}.member.values")))
    return out


def _matches(
    state: SandboxState, region: str, node: ManagedNode, key: str, values: list[str]
) -> bool:
    if key.startswith("tag:") or key == "tag-key":
        tags = node_tags(region, node, node.instance_id)
        if key == "tag-key":
            return any(v in tags for v in values)
        return tags.get(key[4:]) in values
    field_of = {
        "InstanceIds": node.instance_id,
        "AgentVersion": node.agent_version,
        "PingStatus": node.ping_status,
        "PlatformTypes": node.platform_type,
        "ActivationIds": node.activation_id,
        "IamRole": node.iam_role,
        "ResourceType": node.resource_type,
        "AssociationStatus": node.association_status,
    }
    return field_of[key] in values


def _token(state: SandboxState, offset: int, digest: str) -> str:
    raw = json.dumps({"o": offset, "q": digest, "n": state.nonce}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _untoken(state: SandboxState, token: Any, digest: str) -> int:
    invalid = modeled("InvalidNextToken", "The specified token is not valid.")
    if not isinstance(token, str) or not token:
        raise invalid
    try:
        data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        offset = int(data["o"])
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise invalid from None
    if data.get("q") != digest or data.get("n") != state.nonce or offset < 0:
        raise invalid
    return offset


def _max_results(params: dict[str, Any], low: int, high: int, default: int) -> int:
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


_query_cache: dict[tuple[str, str], tuple[int, list[str]]] = {}


def describe_instance_information(state: SandboxState, req: SsmRequest) -> dict[str, Any]:
    params = req.params
    limit = _max_results(params, 5, 50, DEFAULT_PAGE)
    filters = _parse_filters(params)
    digest = hashlib.sha256(json.dumps([req.region, filters], sort_keys=True).encode()).hexdigest()[
        :16
    ]
    offset = _untoken(state, params["NextToken"], digest) if "NextToken" in params else 0
    with state.lock:
        cached = _query_cache.get((state.nonce, digest))
        if cached and cached[0] == state.version:
            ids = cached[1]
        else:
            nodes = list(state.nodes.get(req.region, {}).values())
            ids = [
                n.instance_id
                for n in nodes
                if all(_matches(state, req.region, n, k, v) for k, v in filters)
            ]
            if len(_query_cache) > 256:  # many distinct filters: start over rather than grow
                _query_cache.clear()
            _query_cache[(state.nonce, digest)] = (state.version, ids)
        page_ids = ids[offset : offset + limit]
        region_nodes = state.nodes.get(req.region, {})
        page = [instance_information(state, region_nodes[i]) for i in page_ids if i in region_nodes]
    out: dict[str, Any] = {"InstanceInformationList": page}
    if offset + limit < len(ids):
        out["NextToken"] = _token(state, offset + limit, digest)
    return out


# -- tags of hybrid nodes -------------------------------------------------------------------------


def _hybrid_node(state: SandboxState, req: SsmRequest) -> ManagedNode | None:
    """The node for a ManagedInstance tag call, None to let moto answer other resource types."""
    if req.params.get("ResourceType") != MANAGED_INSTANCE:
        return None
    rid = str(req.params.get("ResourceId", ""))
    node = state.find_node(req.region, rid)
    if node is None or not node.is_hybrid:
        raise modeled(
            "InvalidResourceId", "The resource ID is not valid. Verify the ID and try again."
        )
    return node


def list_tags_for_resource(state: SandboxState, req: SsmRequest) -> dict[str, Any] | None:
    node = _hybrid_node(state, req)
    if node is None:
        return None
    with state.lock:
        return {"TagList": [{"Key": k, "Value": v} for k, v in node.tags.items()]}


def add_tags_to_resource(state: SandboxState, req: SsmRequest) -> dict[str, Any] | None:
    node = _hybrid_node(state, req)
    if node is None:
        return None
    tags = req.params.get("Tags") or []
    with state.lock:
        if len({**node.tags, **{t["Key"]: t["Value"] for t in tags}}) > 1000:
            raise modeled("TooManyTagsError", "The Targets parameter includes too many tags.")
        for t in tags:
            node.tags[str(t["Key"])] = str(t["Value"])
        state.version += 1
    return {}


def remove_tags_from_resource(state: SandboxState, req: SsmRequest) -> dict[str, Any] | None:
    node = _hybrid_node(state, req)
    if node is None:
        return None
    with state.lock:
        for key in req.params.get("TagKeys") or []:
            node.tags.pop(str(key), None)
        state.version += 1
    return {}


# -- sessions -------------------------------------------------------------------------------------


def _resource_arn(region: str, target: str) -> str:
    if target.startswith("mi-"):
        return f"arn:aws:ssm:{region}:{DEMO_ACCOUNT}:managed-instance/{target}"
    return f"arn:aws:ec2:{region}:{DEMO_ACCOUNT}:instance/{target}"


def _denied(req: SsmRequest, action: str, resource: str) -> AwsError:
    return AwsError(
        "AccessDeniedException",
        f"User: {req.caller.arn} is not authorized to perform: ssm:{action} on resource: "
        f"{resource} because no identity-based policy allows the ssm:{action} action",
    )


def _authorize_target(state: SandboxState, req: SsmRequest, action: str, target: str) -> None:
    """The demo policies: the base user may only look; a role reaches nodes carrying its scope."""
    resource = _resource_arn(req.region, target)
    key = req.caller.key
    if key is None:
        raise _denied(req, action, resource)
    if key.scope:
        node = state.find_node(req.region, target)
        tags = node_tags(req.region, node, target)
        if any(tags.get(k) != v for k, v in key.scope.items()):
            raise _denied(req, action, resource)


def _connected(state: SandboxState, region: str, target: str) -> bool:
    node = state.find_node(region, target)
    if node is None or node.ping_status != "Online":
        return False
    return node.ec2 is None or ec2_state(node) == "running"


def _new_session_id(state: SandboxState, caller: Caller) -> str:
    return f"{caller.session_name}-{state.rng.getrandbits(68):017x}"


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
    _authorize_target(state, req, "StartSession", target)
    if document not in SESSION_DOCUMENTS:
        raise modeled("InvalidDocument", f"Document with name {document} does not exist.")
    if not _connected(state, req.region, target):
        raise modeled("TargetNotConnected", f"{target} is not connected.")
    node = state.find_node(req.region, target)
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
            start=state.now(),
            node_name=name,
            platform=node.platform_type if node else "",
        )
        state.sessions[session_id] = record
    record.destination = _destination(state, target, name, document, parameters)
    return {
        "SessionId": record.session_id,
        "TokenValue": record.token,
        "StreamUrl": f"{state.endpoint_url}/_sandbox/stream/{record.session_id}",
    }


def terminate(state: SandboxState, record: SessionRecord, reason: str) -> None:
    with state.lock:
        if state.session_status(record) != "Terminated":
            record.status = "Terminated"
            record.end = state.now()
            record.end_reason = reason


def disconnect(state: SandboxState, record: SessionRecord) -> None:
    """The client closed its data channel without TerminateSession: the session lives on,
    Disconnected (ResumeSession picks it up), until something terminates it."""
    with state.lock:
        if state.session_status(record) != "Terminated":
            record.status = "Disconnected"


def terminate_session(state: SandboxState, req: SsmRequest) -> dict[str, Any]:
    session_id = str(req.params.get("SessionId", ""))
    record = state.sessions.get(session_id)
    if record is not None and record.region == req.region:
        with state.lock:
            if state.session_status(record) != "Terminated":
                record.terminated_by = req.caller.arn
        terminate(state, record, TERMINATED_BY_OTHER)
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
    if record.owner != req.caller.arn:
        raise _denied(
            req, "ResumeSession", f"arn:aws:ssm:{req.region}:{DEMO_ACCOUNT}:session/{session_id}"
        )
    with state.lock:
        record.token = secrets.token_urlsafe(48)
        record.status = "Connected"
    return {
        "SessionId": record.session_id,
        "TokenValue": record.token,
        "StreamUrl": f"{state.endpoint_url}/_sandbox/stream/{record.session_id}",
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
        "StartDate": _epoch(record.start),
        "DocumentName": record.document,
        "Owner": record.owner,
        "Details": "",
        "OutputUrl": {},
        "MaxSessionDuration": str(record.max_minutes),
    }
    if record.reason:
        out["Reason"] = record.reason
    if record.end is not None:
        out["EndDate"] = _epoch(record.end)
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
    limit = _max_results(params, 1, 200, 20)
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
    offset = _untoken(state, params["NextToken"], digest_text) if "NextToken" in params else 0
    with state.lock:
        records = [r for r in state.sessions.values() if r.region == req.region]
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
        out["NextToken"] = _token(state, offset + limit, digest_text)
    return out


def get_connection_status(state: SandboxState, req: SsmRequest) -> dict[str, Any]:
    target = str(req.params.get("Target", ""))
    connected = _connected(state, req.region, target)
    return {"Target": target, "Status": "connected" if connected else "notconnected"}


HANDLERS: dict[str, Handler] = {
    "DescribeInstanceInformation": describe_instance_information,
    "ListTagsForResource": list_tags_for_resource,
    "AddTagsToResource": add_tags_to_resource,
    "RemoveTagsFromResource": remove_tags_from_resource,
    "StartSession": start_session,
    "TerminateSession": terminate_session,
    "ResumeSession": resume_session,
    "DescribeSessions": describe_sessions,
    "GetConnectionStatus": get_connection_status,
}


def stream_json(state: SandboxState, record: SessionRecord) -> dict[str, Any]:
    status = state.session_status(record)
    dest = record.destination
    return {
        "session_id": record.session_id,
        "target": record.target,
        "node_name": record.node_name,
        "platform": record.platform,
        "region": record.region,
        "document": record.document,
        "parameters": record.parameters,
        "status": status,
        "reason": record.end_reason,
        "agent": "silent" if record.target in state.faults.silent_agents else "ok",
        "destination": {"host": dest[0], "port": dest[1]} if dest else None,
    }
