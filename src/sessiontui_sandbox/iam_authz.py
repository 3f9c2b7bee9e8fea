"""Each call of every identity the sandbox knows, authorised against its IAM policies as IAM
authorises it: the demo user's (policies/Operator.json), a role's or permission set's, an access
token's (ssm_access.token_policy).

The request's resources and condition keys are what AWS evaluates for the action: StartSession
against the node (with its tags as `ssm:resourceTag/*`) and, when the call names one, the session
document; SendCommand against its document and each node it targets; TerminateSession and
ResumeSession against the session's ARN, with the tag AWS gives every session
(`aws:ssmmessages:session-id`, its starter's aws:userid); sts:AssumeRole against the role; the
rest against `*`.
"""

from __future__ import annotations

import json
from typing import Any

from sessiontui_sandbox.demo import DEMO_USER, DEMO_USER_ARN
from sessiontui_sandbox.iam_policy import Decision, Request, evaluate, refusal
from sessiontui_sandbox.state import AwsError, Caller, SandboxState

# a signing name -> the service's prefix in IAM policies
IAM_PREFIX = {"tagging": "tag"}
# actions every identity may call, whatever its policies say (AWS documents these as needing none)
ALWAYS_ALLOWED = {"sts:GetCallerIdentity"}
# the tag AWS puts on every session: the starter's aws:userid
SESSION_OWNER_TAG = "aws:ssmmessages:session-id"


def policies_of(caller: Caller) -> tuple[str, ...]:
    """The IAM policy documents behind a caller: its key's, or the demo user's own."""
    from sessiontui_sandbox.policies import policy

    if caller.key is None:
        return (policy("Operator"),)
    return caller.key.policies


def node_arn(region: str, account: str, node_id: str) -> str:
    if node_id.startswith("mi-"):
        return f"arn:aws:ssm:{region}:{account}:managed-instance/{node_id}"
    return f"arn:aws:ec2:{region}:{account}:instance/{node_id}"


def document_arn(region: str, account: str, name: str) -> str:
    # AWS's own documents (AWS-*) belong to no account: their ARNs leave it empty
    owner = "" if name.startswith("AWS-") else account
    return f"arn:aws:ssm:{region}:{owner}:document/{name}"


def _context(state: SandboxState, caller: Caller, region: str) -> dict[str, Any]:
    """The global condition keys IAM sets for this caller (aws:username only for IAM users)."""
    now = state.now()
    found: dict[str, Any] = {
        "aws:userid": caller.user_id,
        "aws:PrincipalAccount": caller.account,
        "aws:RequestedRegion": region,
        "aws:CurrentTime": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "aws:EpochTime": str(int(now.timestamp())),
        # the sandbox stands in for AWS's TLS endpoints on loopback
        "aws:SecureTransport": "true",
    }
    key = caller.key
    if key is None:
        # long-term keys: IAM sets aws:username, and no aws:MultiFactorAuthPresent at all
        found.update(
            {
                "aws:username": DEMO_USER,
                "aws:PrincipalArn": DEMO_USER_ARN,
                "aws:PrincipalType": "User",
            }
        )
        return found
    found.update({"aws:PrincipalArn": key.role_arn, "aws:PrincipalType": "AssumedRole"})
    found["aws:MultiFactorAuthPresent"] = "true" if key.mfa else "false"
    for k, v in key.principal_tags.items():
        found[f"aws:PrincipalTag/{k}"] = v
    return found


def _requests(
    state: SandboxState,
    caller: Caller,
    iam_action: str,
    region: str,
    params: dict[str, Any],
) -> list[Request]:
    from sessiontui_sandbox.ssm_nodes import node_tags

    base = _context(state, caller, region)
    account = caller.account

    def on_node(target: str) -> Request:
        node = state.find_node(region, target, account)
        tags = node_tags(region, node, target, account)
        tagged = {**base}
        for k, v in tags.items():
            tagged[f"ssm:resourceTag/{k}"] = v
            tagged[f"aws:ResourceTag/{k}"] = v
        return Request(iam_action, node_arn(region, account, target), tagged)

    if iam_action == "ssm:StartSession":
        found = [on_node(str(params.get("Target", "")))]
        if params.get("DocumentName"):
            doc = document_arn(region, account, str(params["DocumentName"]))
            found.append(Request(iam_action, doc, base))
        return found
    if iam_action == "ssm:SendCommand":
        # the document, then every node the command would reach (Targets resolved as SendCommand
        # resolves them); one refusal refuses the whole command, as in AWS
        from sessiontui_sandbox.ssm_commands import target_nodes
        from sessiontui_sandbox.ssm_protocol import SsmRequest

        doc = document_arn(region, account, str(params.get("DocumentName", "")))
        found = [Request(iam_action, doc, base)]
        try:
            targets = target_nodes(state, SsmRequest(region, caller, params))
        except AwsError:
            targets = []  # a malformed target: SendCommand itself answers that
        return found + [on_node(node_id) for node_id, _ in targets]
    if iam_action in ("ssm:TerminateSession", "ssm:ResumeSession"):
        session_id = str(params.get("SessionId", ""))
        arn = f"arn:aws:ssm:{region}:{account}:session/{session_id}"
        record = state.sessions.get(session_id)
        tagged = {**base}
        # a session of another region or account is not this ARN's: it carries no tags here
        if (
            record is not None
            and record.region == region
            and record.owner.split(":")[4:5] == [account]
        ):
            tagged[f"ssm:resourceTag/{SESSION_OWNER_TAG}"] = record.owner_id
            tagged[f"aws:ResourceTag/{SESSION_OWNER_TAG}"] = record.owner_id
        return [Request(iam_action, arn, tagged)]
    if iam_action == "sts:AssumeRole":
        return [Request(iam_action, str(params.get("RoleArn", "")), base)]
    if iam_action.startswith("iam:") and params.get("RoleName"):
        return [Request(iam_action, f"arn:aws:iam::{account}:role/{params['RoleName']}", base)]
    if iam_action in ("ssm:GetDocument", "ssm:DescribeDocument"):
        return [
            Request(iam_action, document_arn(region, account, str(params.get("Name", ""))), base)
        ]
    if iam_action == "iam:SimulatePrincipalPolicy":
        return [Request(iam_action, str(params.get("PolicySourceArn", "")), base)]
    return [Request(iam_action, "*", base)]


def refused(
    state: SandboxState,
    caller: Caller,
    service: str,
    action: str,
    region: str,
    params: dict[str, Any],
) -> AwsError | None:
    """None when IAM allows the call, else AWS's refusal."""
    iam_action = f"{IAM_PREFIX.get(service, service)}:{action}"
    if iam_action in ALWAYS_ALLOWED:
        return None
    if iam_action == "ssm:StartSession" and isinstance(params.get("Target"), str):
        # a node governed by just-in-time node access refuses every session without an approved
        # token before the caller's policies are read: the refusal names the way in
        from sessiontui_sandbox.ssm_access import check_session_target

        try:
            check_session_target(state, caller, region, params["Target"])
        except AwsError as governed:
            return governed
    documents = [json.loads(p) for p in policies_of(caller)]
    session = caller.key.session_policy if caller.key is not None else ""
    for request in _requests(state, caller, iam_action, region, params):
        decision = evaluate(documents, request)
        if decision is not Decision.ALLOW:
            return _error(service, refusal(caller.arn, request, decision))
        if session and evaluate([session], request) is not Decision.ALLOW:
            return _error(service, session_refusal(caller.arn, request))
    return None


def session_refusal(principal_arn: str, request: Request) -> str:
    """AWS's words when the identity's policies allow a call its session policy does not."""
    return (
        f"User: {principal_arn} is not authorized to perform: {request.action} on resource: "
        f"{request.resource} because no session policy allows the {request.action} action"
    )


def _error(service: str, message: str) -> AwsError:
    if service == "ec2":
        text = f"You are not authorized to perform this operation. {message}"
        return AwsError("UnauthorizedOperation", text, 403)
    if service in ("sts", "iam"):
        return AwsError("AccessDenied", message, 403)
    return AwsError("AccessDeniedException", message)


def allows(state: SandboxState, access_key: str, action: str, resource: str, region: str) -> bool:
    """Whether the identity behind a key may do `action` on `resource` outside an API call (RDS's
    rds-db:connect at sign-in)."""
    caller = state.caller_for(access_key)
    documents = [json.loads(p) for p in policies_of(caller)]
    request = Request(action, resource, _context(state, caller, region))
    session = caller.key.session_policy if caller.key is not None else ""
    if session and evaluate([session], request) is not Decision.ALLOW:
        return False
    return evaluate(documents, request) is Decision.ALLOW
