"""IAM's SimulatePrincipalPolicy for the identities the sandbox knows, answered with the same
evaluator that authorises their calls (iam_policy), in AWS's query-protocol shapes.

`sessiontui --doctor` asks it which Session Manager abilities an access has without trying them.
AWS simulates only principals of the caller's own account; the policies simulated are those of
the role named by PolicySourceArn, as the sandbox issued them. moto's own simulation ignores
conditions and resources, so these requests never reach it.
"""

from __future__ import annotations

import json
import re
from typing import Any
from xml.sax.saxutils import escape

from sessiontui_sandbox.demo import DEMO_USER_ARN
from sessiontui_sandbox.iam_authz import policies_of
from sessiontui_sandbox.iam_policy import Decision, Request, evaluate
from sessiontui_sandbox.state import BASE_CALLER, AwsError, Caller, SandboxState
from sessiontui_sandbox.sts_api import role_policies

IAM_NS = "https://iam.amazonaws.com/doc/2010-05-08/"
_DECISIONS = {
    Decision.ALLOW: "allowed",
    Decision.EXPLICIT_DENY: "explicitDeny",
    Decision.IMPLICIT_DENY: "implicitDeny",
}
_MEMBER = re.compile(r"^(\w+)\.member\.(\d+)$")
_CONTEXT = re.compile(r"^ContextEntries\.member\.(\d+)\.(ContextKeyName|ContextKeyType)$")
_CONTEXT_VALUE = re.compile(r"^ContextEntries\.member\.(\d+)\.ContextKeyValues\.member\.(\d+)$")


def _members(form: dict[str, str], name: str) -> list[str]:
    found: list[tuple[int, str]] = []
    for key, value in form.items():
        m = _MEMBER.match(key)
        if m and m.group(1) == name:
            found.append((int(m.group(2)), value))
    return [v for _, v in sorted(found)]


def _context(form: dict[str, str]) -> dict[str, list[str]]:
    names: dict[int, str] = {}
    values: dict[int, list[tuple[int, str]]] = {}
    for key, value in form.items():
        m = _CONTEXT.match(key)
        if m and m.group(2) == "ContextKeyName":
            names[int(m.group(1))] = value
        v = _CONTEXT_VALUE.match(key)
        if v:
            values.setdefault(int(v.group(1)), []).append((int(v.group(2)), value))
    return {name: [x for _, x in sorted(values.get(i, []))] for i, name in names.items()}


def _source_policies(state: SandboxState, caller: Caller, arn: str) -> tuple[str, ...]:
    """The policies of the principal `arn` in the caller's account; NoSuchEntity as AWS says it
    for a principal the caller's account does not have."""
    account = arn.split(":")[4] if arn.count(":") >= 5 else ""
    if account == caller.account:
        if arn == DEMO_USER_ARN:
            return policies_of(BASE_CALLER)
        if role_policies(arn):
            return role_policies(arn)
        with state.lock:
            keys = list(state.keys.values())
        for key in keys:
            if key.role_arn == arn and key.account == account:
                return key.policies
    name = arn.rsplit("/", 1)[-1]
    kind = "user" if ":user/" in arn else "role"
    raise AwsError("NoSuchEntity", f"The {kind} with name {name} cannot be found.", 404)


def simulate_principal_policy(state: SandboxState, caller: Caller, form: dict[str, str]) -> str:
    source = form.get("PolicySourceArn", "")
    actions = _members(form, "ActionNames")
    if not source or not actions:
        raise AwsError(
            "ValidationError",
            "1 validation error detected: PolicySourceArn and ActionNames are required",
            400,
        )
    resources = _members(form, "ResourceArns") or ["*"]
    context = _context(form)
    policies = _source_policies(state, caller, source)
    documents = [json.loads(p) for p in policies]
    results: list[str] = []
    for action in actions:
        for resource in resources:
            decision = evaluate(documents, Request(action, resource, context))
            results.append(
                "<member>"
                f"<EvalActionName>{escape(action)}</EvalActionName>"
                f"<EvalResourceName>{escape(resource)}</EvalResourceName>"
                f"<EvalDecision>{_DECISIONS[decision]}</EvalDecision>"
                "<MatchedStatements/><MissingContextValues/>"
                "</member>"
            )
    return (
        f'<SimulatePrincipalPolicyResponse xmlns="{IAM_NS}">'
        "<SimulatePrincipalPolicyResult><IsTruncated>false</IsTruncated>"
        f"<EvaluationResults>{''.join(results)}</EvaluationResults>"
        "</SimulatePrincipalPolicyResult>"
        "<ResponseMetadata><RequestId>00000000-0000-0000-0000-000000000000</RequestId>"
        "</ResponseMetadata></SimulatePrincipalPolicyResponse>"
    )


HANDLERS: dict[str, Any] = {"SimulatePrincipalPolicy": simulate_principal_policy}
