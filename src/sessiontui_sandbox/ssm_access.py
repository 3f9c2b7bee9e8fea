"""Just-in-time node access, as moto 5.2 lacks it: StartAccessRequest and GetAccessToken, the
approver's decisions (approve, reject, revoke), and the check StartSession makes on nodes the
access policies govern. The requests and policies themselves are in `node_access`.
"""

from __future__ import annotations

import json
import re
import secrets
import time
from typing import Any

from sessiontui_sandbox.demo import DEMO_ACCOUNT
from sessiontui_sandbox.jit_requests import (
    APPROVED,
    AUTO,
    AUTO_APPROVED_HOURS,
    DENIED,
    MANUAL,
    MANUAL_HOURS,
    MAX_MANUAL_HOURS,
    PENDING,
    REJECTED,
    REVOKED,
    TOKEN_POLL_SECONDS,
    TOKEN_ROLE,
    AccessRequest,
    is_governed,
    policy_for,
)
from sessiontui_sandbox.policies import policy
from sessiontui_sandbox.ssm_nodes import node_tags
from sessiontui_sandbox.ssm_protocol import SsmRequest, epoch, modeled
from sessiontui_sandbox.state import AwsError, Caller, SandboxState

REQUEST_ID = re.compile(r"^(oi)-[0-9a-f]{12}$")
INSTANCE_ID = re.compile(r"^(i-[0-9a-f]{8,17}|mi-[0-9a-f]{17})$")
TARGET_KEY = re.compile(r"^[\w\s.:/=\-@]*$")
TAG_TEXT = re.compile(r"^([\w\s.:/=+\-@]*)$")
MAX_TARGETS = 5
MAX_TARGET_VALUES = 50
MAX_TAGS = 1000
REVOKED_SESSION_REASON = "Your session has been terminated: access request {id} was revoked."
GOVERNED_HINT = (
    "because the node is governed by just-in-time node access; request access with "
    "ssm:StartAccessRequest and start sessions with the access token's credentials"
)


# -- validation as AWS's front end words it ---------------------------------------------------------


class _Problems:
    """Coral-style validation: every broken member, counted, in one ValidationException."""

    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, path: str, value: Any, constraint: str) -> None:
        shown = "null" if value is None else f"'{value}'"
        self.items.append(f"Value {shown} at '{path}' failed to satisfy constraint: {constraint}")

    def raise_if_any(self) -> None:
        if not self.items:
            return
        n = len(self.items)
        noun = "error" if n == 1 else "errors"
        raise AwsError(
            "ValidationException",
            f"{n} validation {noun} detected: " + "; ".join(self.items),
            message_key="Message",  # SSM models ValidationException with "Message"
        )


def _validate_start(params: dict[str, Any]) -> None:
    problems = _Problems()
    reason = params.get("Reason")
    if reason is None:
        problems.add("reason", None, "Member must not be null")
    elif not isinstance(reason, str) or len(reason) < 1:
        problems.add("reason", reason, "Member must have length greater than or equal to 1")
    elif len(reason) > 256:
        problems.add("reason", reason, "Member must have length less than or equal to 256")
    targets = params.get("Targets")
    if targets is None:
        problems.add("targets", None, "Member must not be null")
    elif not isinstance(targets, list):
        problems.add("targets", targets, "Member must be a list")
    elif len(targets) > MAX_TARGETS:
        problems.add(
            "targets", targets, f"Member must have length less than or equal to {MAX_TARGETS}"
        )
    else:
        for i, target in enumerate(targets, 1):
            key = target.get("Key") if isinstance(target, dict) else None
            values = target.get("Values") if isinstance(target, dict) else None
            path = f"targets.{i}.member"
            if not isinstance(key, str) or not 1 <= len(key) <= 163:
                problems.add(f"{path}.key", key, "Member must have length between 1 and 163")
            elif not TARGET_KEY.match(key):
                problems.add(
                    f"{path}.key",
                    key,
                    r"Member must satisfy regular expression pattern: "
                    r"^[\p{L}\p{Z}\p{N}_.:/=\-@]*$|resource-groups:ResourceTypeFilters"
                    r"|resource-groups:Name",
                )
            if isinstance(values, list) and len(values) > MAX_TARGET_VALUES:
                problems.add(
                    f"{path}.values",
                    values,
                    f"Member must have length less than or equal to {MAX_TARGET_VALUES}",
                )
    tags = params.get("Tags") or []
    if isinstance(tags, list) and len(tags) > MAX_TAGS:
        problems.add("tags", tags, f"Member must have length less than or equal to {MAX_TAGS}")
    elif isinstance(tags, list):
        for i, tag in enumerate(tags, 1):
            key = tag.get("Key") if isinstance(tag, dict) else None
            value = tag.get("Value") if isinstance(tag, dict) else None
            if not isinstance(key, str) or not 1 <= len(key) <= 128 or not TAG_TEXT.match(key):
                problems.add(
                    f"tags.{i}.member.key", key, "Member must have length between 1 and 128"
                )
            if not isinstance(value, str) or len(value) > 256 or not TAG_TEXT.match(value):
                problems.add(
                    f"tags.{i}.member.value",
                    value,
                    "Member must have length less than or equal to 256",
                )
    problems.raise_if_any()
    if not targets:
        raise AwsError(
            "ValidationException",
            "At least one target is required for a just-in-time node access request.",
            message_key="Message",
        )


def _validate_request_id(value: Any) -> str:
    if not isinstance(value, str) or not REQUEST_ID.match(value):
        problems = _Problems()
        problems.add(
            "accessRequestId",
            value,
            "Member must satisfy regular expression pattern: ^(oi)-[0-9a-f]{12}$",
        )
        problems.raise_if_any()
    return str(value)


# -- targets and policies ---------------------------------------------------------------------------


def _resolve(
    state: SandboxState, region: str, account: str, targets: list[dict[str, Any]]
) -> list[str]:
    """Node ids the targets name, in order. InstanceIds must exist; a tag target keeps only the
    nodes a just-in-time policy governs (the others take sessions as usual)."""
    found: list[str] = []
    with state.lock:
        nodes = {k: n for k, n in state.nodes.get(region, {}).items() if n.account == account}
    for target in targets:
        key, values = str(target["Key"]), [str(v) for v in target.get("Values") or []]
        if not values:
            raise modeled("ValidationException", f"Target {key} has no values.")
        if key == "InstanceIds":
            for value in values:
                if not INSTANCE_ID.match(value) or value not in nodes:
                    raise modeled(
                        "ResourceNotFoundException",
                        f"The managed node {value} was not found in {region}.",
                    )
                found.append(value)
        elif key.startswith("tag:") and len(key) > 4:
            tag = key[4:]
            matched = [
                node_id
                for node_id, node in sorted(nodes.items())
                if node_tags(region, node, node_id).get(tag) in values
                and is_governed(node_tags(region, node, node_id))
            ]
            if not matched:
                raise modeled(
                    "ResourceNotFoundException",
                    f"No managed node governed by just-in-time node access matches "
                    f"{key}={','.join(values)} in {region}.",
                )
            found.extend(matched)
        else:
            raise modeled(
                "ValidationException",
                f"Target key {key} is not supported: use InstanceIds or tag:<key>.",
            )
    return list(dict.fromkeys(found))


def _arn(region: str, node_id: str, account: str = DEMO_ACCOUNT) -> str:
    if node_id.startswith("mi-"):
        return f"arn:aws:ssm:{region}:{account}:managed-instance/{node_id}"
    return f"arn:aws:ec2:{region}:{account}:instance/{node_id}"


def _decide_policy(state: SandboxState, req: SsmRequest, node_ids: list[str]) -> str:
    """AUTO when every node is auto-approved, MANUAL when any needs an approver; refused when
    a deny-access policy covers a node, or no policy does."""
    policies = []
    for node_id in node_ids:
        node = state.find_node(req.region, node_id, req.account)
        policy = policy_for(node_tags(req.region, node, node_id, req.account))
        if policy == DENIED:
            raise AwsError(
                "AccessDeniedException",
                f"User: {req.caller.arn} is not authorized to perform: ssm:StartAccessRequest on "
                f"resource: {_arn(req.region, node_id, req.account)} with an explicit deny in a deny-access "
                "policy",
                message_key="Message",
            )
        if not policy:
            raise AwsError(
                "AccessDeniedException",
                f"No approval policy applies to {_arn(req.region, node_id, req.account)}: access to it cannot "
                "be requested with just-in-time node access",
                message_key="Message",
            )
        policies.append(policy)
    return MANUAL if MANUAL in policies else AUTO


# -- the API ------------------------------------------------------------------------------------------


def _new_request_id(state: SandboxState) -> str:
    with state.lock:
        while True:
            # random, as AWS's: a request id never comes back after a restart of the sandbox
            request_id = f"oi-{secrets.token_hex(6)}"
            if state.access.get(request_id) is None:
                return request_id


def start_access_request(state: SandboxState, req: SsmRequest) -> dict[str, Any]:
    params = req.params
    _validate_start(params)
    targets = [
        {"Key": str(t["Key"]), "Values": list(t.get("Values") or [])} for t in params["Targets"]
    ]
    node_ids = _resolve(state, req.region, req.account, targets)
    policy = _decide_policy(state, req, node_ids)
    now = state.now()
    request = AccessRequest(
        request_id=_new_request_id(state),
        region=req.region,
        account=req.account,
        requester=req.caller.arn,
        requester_name=req.caller.session_name,
        reason=str(params["Reason"]),
        targets=targets,
        node_ids=tuple(node_ids),
        tags={str(t["Key"]): str(t["Value"]) for t in params.get("Tags") or []},
        created=now,
        policy=policy,
        hours=AUTO_APPROVED_HOURS if policy == AUTO else MANUAL_HOURS,
    )
    state.access.add(request)
    if policy == AUTO:
        _approve(state, request, request.hours)
    return {"AccessRequestId": request.request_id}


def _approve(state: SandboxState, request: AccessRequest, hours: int) -> None:
    from sessiontui_sandbox.sts_api import issue_key

    now = state.now()
    key = issue_key(
        state,
        f"arn:aws:iam::{request.account}:role/{TOKEN_ROLE}",
        request.requester_name or "operator",
        hours * 3600,
        False,
        role_id="AROASANDBOXJITACCESS",
        account=request.account,
        policies=(policy(TOKEN_ROLE),),
        session_policy=token_policy(request),
    )
    with state.access.lock:
        request.status = APPROVED
        request.hours = hours
        request.decided = now
        request.expires = key.expiration
        request.key_id = key.access_key_id
        state.access.by_key[key.access_key_id] = request.request_id


def token_policy(request: AccessRequest) -> str:
    """The session policy of an access token's credentials: sessions on the request's nodes and
    nothing else, ended and resumed by their starter (the token role's own policy,
    policies/SSMJustInTimeNodeAccess.json, reaches every node); the rest of the caller's work
    (listing, requests) stays with the identity that asked."""
    nodes = [_arn(request.region, node_id, request.account) for node_id in request.node_ids]
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "TheApprovedNodes",
                    "Effect": "Allow",
                    "Action": "ssm:StartSession",
                    "Resource": [
                        *nodes,
                        "arn:aws:ssm:*::document/*",
                        "arn:aws:ssm:*:*:document/*",
                    ],
                },
                {
                    "Sid": "OwnSessions",
                    "Effect": "Allow",
                    "Action": ["ssm:TerminateSession", "ssm:ResumeSession"],
                    "Resource": "arn:aws:ssm:*:*:session/*",
                    "Condition": {
                        "StringEquals": {
                            "ssm:resourceTag/aws:ssmmessages:session-id": "${aws:userid}"
                        }
                    },
                },
                {
                    "Sid": "SessionStatus",
                    "Effect": "Allow",
                    "Action": ["ssm:DescribeSessions", "ssm:GetConnectionStatus"],
                    "Resource": "*",
                },
            ],
        }
    )


def get_access_token(state: SandboxState, req: SsmRequest) -> dict[str, Any]:
    request_id = _validate_request_id(req.params.get("AccessRequestId"))
    request = state.access.get(request_id)
    if request is None or request.region != req.region or request.account != req.account:
        raise modeled("ResourceNotFoundException", f"Access request {request_id} was not found.")
    with state.access.lock:
        now_mono = time.monotonic()
        if request.last_token_call and now_mono - request.last_token_call < TOKEN_POLL_SECONDS:
            raise AwsError("ThrottlingException", "Rate exceeded", message_key="Message")
        request.last_token_call = now_mono
        status = state.access.refresh(request, state.now())
    out: dict[str, Any] = {"AccessRequestStatus": status}
    if status == APPROVED:
        key = state.keys.get(request.key_id)
        if key is not None:
            out["Credentials"] = {
                "AccessKeyId": key.access_key_id,
                "SecretAccessKey": key.secret_access_key,
                "SessionToken": key.session_token,
                "ExpirationTime": epoch(key.expiration),
            }
    return out


# -- what StartSession asks -------------------------------------------------------------------------


def check_session_target(state: SandboxState, caller: Caller, region: str, target: str) -> str:
    """ "" when just-in-time access has no say on this StartSession (the usual role rules
    apply), "ok" when an approved token covers the node, else AccessDeniedException."""
    key = caller.key
    request = state.access.for_key(key.access_key_id) if key is not None else None
    account = caller.account
    resource = _arn(region, target, account)
    if request is not None:
        status = state.access.refresh(request, state.now())
        if status == APPROVED and region == request.region and target in request.node_ids:
            return "ok"
        because = (
            "no session policy allows the ssm:StartSession action"
            if status == APPROVED
            else f"access request {request.request_id} is {status}"
        )
        raise AwsError(
            "AccessDeniedException",
            f"User: {caller.arn} is not authorized to perform: ssm:StartSession on resource: "
            f"{resource} because {because}",
        )
    tags = node_tags(region, state.find_node(region, target, account), target, account)
    if not is_governed(tags):
        return ""
    raise AwsError(
        "AccessDeniedException",
        f"User: {caller.arn} is not authorized to perform: ssm:StartSession on resource: "
        f"{resource} {GOVERNED_HINT}",
    )


def note_session(state: SandboxState, caller: Caller, session_id: str) -> None:
    """Remember which sessions a token carried, so revoking the request can end them."""
    if caller.key is None:
        return
    request = state.access.for_key(caller.key.access_key_id)
    if request is not None:
        with state.access.lock:
            request.session_ids.append(session_id)


# -- the approver (POST /_sandbox/control) ------------------------------------------------------------

CONTROL_KEYS = ("approve", "reject", "revoke")


def decide(
    state: SandboxState, action: str, request_id: str, reason: str = "", hours: int | None = None
) -> AccessRequest:
    """The demo approver's act; ValueError in plain words when it does not apply."""
    request = state.access.get(request_id)
    if request is None:
        raise ValueError(f"no access request {request_id}")
    status = state.access.refresh(request, state.now())
    if action in ("approve", "reject") and status != PENDING:
        done = "approved" if action == "approve" else "rejected"
        raise ValueError(f"{request_id} is {status}: only a Pending request can be {done}")
    if action == "revoke" and status != APPROVED:
        raise ValueError(f"{request_id} is {status}: only an Approved request can be revoked")
    if action == "approve":
        chosen = request.hours if hours is None else int(hours)
        if not 1 <= chosen <= MAX_MANUAL_HOURS:
            raise ValueError(f"hours must be between 1 and {MAX_MANUAL_HOURS}")
        _approve(state, request, chosen)
    elif action == "reject":
        with state.access.lock:
            request.status = REJECTED
            request.decided = state.now()
            request.status_reason = reason
    elif action == "revoke":
        _revoke(state, request, reason)
    else:
        raise ValueError(f"unknown decision {action!r}: approve, reject or revoke")
    return request


def _revoke(state: SandboxState, request: AccessRequest, reason: str) -> None:
    now = state.now()
    with state.access.lock:
        request.status = REVOKED
        request.decided = now
        request.status_reason = reason
    # the token's key keeps signing (its holder may still end its sessions), but StartSession
    # refuses it from now on: check_session_target reads the request's status
    ending = REVOKED_SESSION_REASON.format(id=request.request_id)
    for session_id in list(request.session_ids):
        record = state.sessions.get(session_id)
        if record is not None:
            state.end_session(record, ending)


def apply_control(state: SandboxState, data: dict[str, Any]) -> dict[str, Any]:
    """Carry out the approver's keys of a control body; what is left is for the faults.

    `{"approve": "oi-…", "hours": 2}`, `{"reject": "oi-…", "reason": "…"}`,
    `{"revoke": "oi-…", "reason": "…"}`.
    """
    acts = [k for k in CONTROL_KEYS if k in data]
    if not acts:
        return data
    if len(acts) > 1:
        raise ValueError("one of approve, reject, revoke at a time")
    rest = {k: v for k, v in data.items() if k not in (*CONTROL_KEYS, "reason", "hours")}
    hours = data.get("hours")
    decide(
        state,
        acts[0],
        str(data[acts[0]]),
        str(data.get("reason") or ""),
        int(hours) if hours is not None else None,
    )
    return rest
