"""Each call of an identity that carries IAM policies, authorised as IAM authorises it.

The request's resources and condition keys are what AWS evaluates for the action: StartSession
against the node (with its tags as `ssm:resourceTag/*`) and, when the call names one, the session
document; SendCommand against its document and each node it targets; TerminateSession and ResumeSession against the session's ARN; the rest against `*`.
Identities without policies (the demo's original roles and permission sets) keep the sandbox's
older model, in `ssm_sessions`.
"""

from __future__ import annotations

import json
from typing import Any

from sessiontui_sandbox.iam_policy import Decision, Request, evaluate, refusal
from sessiontui_sandbox.state import AwsError, Caller, SandboxState

# a signing name -> the service's prefix in IAM policies
IAM_PREFIX = {"tagging": "tag"}
# actions every identity may call, whatever its policies say (AWS documents these as needing none)
ALWAYS_ALLOWED = {"sts:GetCallerIdentity"}


def node_arn(region: str, account: str, node_id: str) -> str:
    if node_id.startswith("mi-"):
        return f"arn:aws:ssm:{region}:{account}:managed-instance/{node_id}"
    return f"arn:aws:ec2:{region}:{account}:instance/{node_id}"


def document_arn(region: str, account: str, name: str) -> str:
    # AWS's own documents (AWS-*) belong to no account: their ARNs leave it empty
    owner = "" if name.startswith("AWS-") else account
    return f"arn:aws:ssm:{region}:{owner}:document/{name}"


def _context(state: SandboxState, caller: Caller, region: str) -> dict[str, Any]:
    key = caller.key
    assert key is not None
    now = state.now()
    return {
        "aws:userid": caller.user_id,
        "aws:PrincipalArn": key.role_arn,
        "aws:PrincipalAccount": key.account,
        "aws:PrincipalType": "AssumedRole",
        "aws:RequestedRegion": region,
        "aws:CurrentTime": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "aws:EpochTime": str(int(now.timestamp())),
        # the sandbox stands in for AWS's TLS endpoints on loopback
        "aws:SecureTransport": "true",
    }


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
        arn = f"arn:aws:ssm:{region}:{account}:session/{params.get('SessionId', '')}"
        return [Request(iam_action, arn, base)]
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
    """None when IAM allows the call (or the caller predates policies), else AWS's refusal."""
    key = caller.key
    if key is None or not key.policies:
        return None
    iam_action = f"{IAM_PREFIX.get(service, service)}:{action}"
    if iam_action in ALWAYS_ALLOWED:
        return None
    documents = [json.loads(p) for p in key.policies]
    for request in _requests(state, caller, iam_action, region, params):
        decision = evaluate(documents, request)
        if decision is not Decision.ALLOW:
            return _error(service, refusal(caller.arn, request, decision))
    return None


def _error(service: str, message: str) -> AwsError:
    if service == "ec2":
        text = f"You are not authorized to perform this operation. {message}"
        return AwsError("UnauthorizedOperation", text, 403)
    if service in ("sts", "iam"):
        return AwsError("AccessDenied", message, 403)
    return AwsError("AccessDeniedException", message)


def allows(state: SandboxState, access_key: str, action: str, resource: str, region: str) -> bool:
    """Whether the identity behind a key may do `action` on `resource` outside an API call (RDS's
    rds-db:connect at sign-in); identities without policies keep the older model: yes."""
    caller = state.caller_for(access_key)
    key = caller.key
    if key is None or not key.policies:
        return True
    documents = [json.loads(p) for p in key.policies]
    request = Request(action, resource, _context(state, caller, region))
    return evaluate(documents, request) is Decision.ALLOW
