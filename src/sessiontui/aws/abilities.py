"""Which Session Manager abilities one set of credentials has, found without side effects.

First `iam:SimulatePrincipalPolicy` on the caller's own role (by the caller, or by other held
credentials of the same account that may simulate): IAM's answer for every action against the
resources Session Manager authorises, a listed node's ARN with its tags as
`ssm:resourceTag/*` and the session documents. Where nobody may simulate, harmless calls: the
list and describe calls themselves (one small page), and TerminateSession, ResumeSession and
GetAccessToken on ids that cannot exist, which IAM authorises before the service looks the id up.
StartSession cannot be tried without opening a session, so shells, forwards and SSH stay
unknown then. Clients are passed in.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from sessiontui.core.abilities import (
    FORWARD_DOCUMENT,
    SSH_DOCUMENT,
    Finding,
)

if TYPE_CHECKING:
    from mypy_boto3_iam import IAMClient
    from mypy_boto3_iam.type_defs import ContextEntryTypeDef
    from mypy_boto3_sts import STSClient

DENIED = {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation"}
# ids that AWS never hands out (all zeros): a call on them can end or resume nothing
NO_SESSION_SUFFIX = "0" * 17
NO_ACCESS_REQUEST = "oi-" + "0" * 12
# at most this many tag sets of listed nodes are simulated for StartSession (one call each)
TAG_SETS = 4

ClientFor = Callable[[str], Any]  # service -> a client in the region being checked


@dataclass(frozen=True)
class Caller:
    """GetCallerIdentity's answer, and what IAM calls the principal behind it."""

    arn: str
    user_id: str
    account: str

    @property
    def session_name(self) -> str:
        """The name AWS starts this caller's session ids with: the role session name, or the
        IAM user's name."""
        return self.arn.rsplit("/", 1)[-1]

    @property
    def principal_arn(self) -> str:
        """The IAM role or user behind the caller, as SimulatePrincipalPolicy names it. Identity
        Center's roles live under the aws-reserved/sso.amazonaws.com/ path."""
        parts = self.arn.split(":", 5)
        if len(parts) < 6 or not parts[5].startswith("assumed-role/"):
            return self.arn
        role = parts[5].split("/")[1]
        path = "aws-reserved/sso.amazonaws.com/" if role.startswith("AWSReservedSSO_") else ""
        return f"arn:aws:iam::{self.account}:role/{path}{role}"

    @property
    def username(self) -> str | None:
        """aws:username, which IAM sets for IAM users only."""
        parts = self.arn.split(":", 5)
        return parts[5].split("/")[-1] if len(parts) == 6 and parts[5].startswith("user/") else None


@dataclass(frozen=True)
class SampleNode:
    """A listed node to authorise StartSession against: its ARN and tags."""

    arn: str
    tags: Mapping[str, str]


def caller_of(sts: STSClient) -> tuple[Caller, str | None]:
    """The caller, and the Date header of AWS's answer (for the clock's skew)."""
    answer = sts.get_caller_identity()
    headers = answer.get("ResponseMetadata", {}).get("HTTPHeaders", {})
    caller = Caller(str(answer["Arn"]), str(answer["UserId"]), str(answer["Account"]))
    return caller, headers.get("date")


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def node_arn(region: str, account: str, node_id: str) -> str:
    if node_id.startswith("mi-"):
        return f"arn:aws:ssm:{region}:{account}:managed-instance/{node_id}"
    return f"arn:aws:ec2:{region}:{account}:instance/{node_id}"


def document_arn(region: str, name: str) -> str:
    return f"arn:aws:ssm:{region}::document/{name}"


def session_arn(region: str, caller: Caller) -> str:
    return (
        f"arn:aws:ssm:{region}:{caller.account}:session/{caller.session_name}-{NO_SESSION_SUFFIX}"
    )


# -- simulation ----------------------------------------------------------------------------------


def _context(values: Mapping[str, str]) -> list[ContextEntryTypeDef]:
    return [
        {"ContextKeyName": k, "ContextKeyValues": [v], "ContextKeyType": "string"}
        for k, v in values.items()
    ]


def _allowed(
    iam: IAMClient,
    source: str,
    actions: Sequence[str],
    resources: Sequence[str],
    ctx: Mapping[str, str],
) -> dict[tuple[str, str], bool]:
    found: dict[tuple[str, str], bool] = {}
    pages = iam.get_paginator("simulate_principal_policy").paginate(
        PolicySourceArn=source,
        ActionNames=list(actions),
        ResourceArns=list(resources),
        ContextEntries=_context(ctx),
    )
    for page in pages:
        for result in page.get("EvaluationResults", []):
            key = (str(result["EvalActionName"]), str(result.get("EvalResourceName", "*")))
            found[key] = result.get("EvalDecision") == "allowed"
    return found


def simulate(
    iam: IAMClient, caller: Caller, region: str, nodes: Sequence[SampleNode]
) -> list[Finding]:
    """Every ability, as IAM's simulator answers for the caller's role; ClientError when the
    simulation is refused (the caller goes on with probes)."""
    source = caller.principal_arn
    base = {"aws:userid": caller.user_id}
    if caller.username:
        base["aws:username"] = caller.username

    def one(action: str, resource: str = "*", ctx: Mapping[str, str] | None = None) -> bool:
        answer = _allowed(iam, source, [action], [resource], ctx if ctx is not None else base)
        return all(answer.values()) if answer else False

    findings: list[Finding] = []
    props = one("ssm:DescribeInstanceProperties") or one("ssm:DescribeInstanceInformation")
    ec2 = one("ec2:DescribeInstances")
    findings.append(
        Finding(
            "list", props, "simulated", "" if ec2 or not props else "without EC2 names and tags"
        )
    )
    tags = one("tag:GetResources") or one(
        "ssm:ListTagsForResource", f"arn:aws:ssm:{region}:{caller.account}:managed-instance/*"
    )
    findings.append(Finding("tags", tags, "simulated"))
    # StartSession: against listed nodes (each tag set once), then each kind's document
    groups: dict[tuple[tuple[str, str], ...], SampleNode] = {}
    for node in nodes:
        # every node has its own Name: grouping by it would simulate each node once
        tagset = tuple(sorted((k, v) for k, v in node.tags.items() if k != "Name"))
        groups.setdefault(tagset, node)
    checked = list(groups.items())[:TAG_SETS]
    allowed_on: list[str] = []
    for tagset, node in checked:
        ctx = dict(base)
        for k, v in node.tags.items():
            ctx[f"ssm:resourceTag/{k}"] = v
            ctx[f"aws:ResourceTag/{k}"] = v
        if one("ssm:StartSession", node.arn, ctx):
            allowed_on.append(", ".join(f"{k}={v}" for k, v in tagset) or "untagged")
    if not groups:
        shell: bool | None = None
        where = "no node listed to check against"
    else:
        shell = bool(allowed_on)
        where = (
            f"on nodes tagged {'; '.join(allowed_on)}"
            if allowed_on and len(allowed_on) < len(checked)
            else ""
        )
    findings.append(Finding("shell", shell, "simulated", where))
    for key, document in (("forward", FORWARD_DOCUMENT), ("ssh", SSH_DOCUMENT)):
        arn = document_arn(region, document)
        on_document = one("ssm:StartSession", arn)
        allowed = None if shell is None and on_document else bool(shell) and on_document
        detail = "" if on_document else f"ssm:StartSession is not allowed on document/{document}"
        findings.append(Finding(key, allowed, "simulated", detail))
    findings.append(Finding("describe", one("ssm:DescribeSessions"), "simulated"))
    own = session_arn(region, caller)
    for key, action in (("end", "ssm:TerminateSession"), ("resume", "ssm:ResumeSession")):
        allowed = one(action, own)
        detail = "" if allowed else f"{action} is not allowed on session/{caller.session_name}-*"
        findings.append(Finding(key, allowed, "simulated", detail))
    access = one("ssm:StartAccessRequest") and one("ssm:GetAccessToken")
    findings.append(Finding("node-access", access, "simulated"))
    return findings


# -- harmless probes -----------------------------------------------------------------------------


def _try(call: Callable[[], object]) -> tuple[bool, str]:
    """(allowed, the refusal's code) for a call IAM authorises before anything else."""
    try:
        call()
    except ClientError as exc:
        code = _code(exc)
        return code not in DENIED, code
    return True, ""


def probe(client: ClientFor, caller: Caller, hybrid_id: str | None) -> list[Finding]:
    """What harmless calls tell: list, tags, describe, end, resume, node access; StartSession's
    abilities stay unknown (None)."""
    ssm, tagging = client("ssm"), client("resourcegroupstaggingapi")
    props, _ = _try(lambda: ssm.describe_instance_properties(MaxResults=5))
    info = props or _try(lambda: ssm.describe_instance_information(MaxResults=5))[0]
    ec2, _ = _try(lambda: client("ec2").describe_instances(MaxResults=5))
    findings = [
        Finding("list", info, "probed", "" if ec2 or not info else "without EC2 names and tags")
    ]
    tags, _ = _try(
        lambda: tagging.get_resources(
            ResourceTypeFilters=["ssm:managed-instance"], ResourcesPerPage=1
        )
    )
    if not tags:
        target = hybrid_id or "mi-" + "0" * 17
        tags, _ = _try(
            lambda: ssm.list_tags_for_resource(ResourceType="ManagedInstance", ResourceId=target)
        )
    findings.append(
        Finding(
            "tags",
            tags,
            "probed",
            "" if tags else "tag:GetResources and ssm:ListTagsForResource are refused",
        )
    )
    unknown = "StartSession cannot be tried without opening a session, and none was tried yet"
    findings += [Finding(k, None, "probed", unknown) for k in ("shell", "forward", "ssh")]
    findings.append(
        Finding(
            "describe",
            _try(lambda: ssm.describe_sessions(State="Active", MaxResults=1))[0],
            "probed",
        )
    )
    none = f"{caller.session_name}-{NO_SESSION_SUFFIX}"
    for key, call, action in (
        ("end", ssm.terminate_session, "ssm:TerminateSession"),
        ("resume", ssm.resume_session, "ssm:ResumeSession"),
    ):
        allowed, _ = _try(functools.partial(call, SessionId=none))
        detail = "" if allowed else f"{action} is not allowed on session/{caller.session_name}-*"
        findings.append(Finding(key, allowed, "probed", detail))
    access, _ = _try(lambda: ssm.get_access_token(AccessRequestId=NO_ACCESS_REQUEST))
    findings.append(Finding("node-access", access, "probed"))
    return findings


def find_abilities(
    client: ClientFor,
    caller: Caller,
    region: str,
    nodes: Sequence[SampleNode],
    hybrid_id: str | None = None,
    simulators: Sequence[tuple[str, Any]] = (),
    learnt: Mapping[str, Finding] | None = None,
) -> tuple[list[Finding], str]:
    """Findings for `caller`, and how they were found ("simulated by X" or "probed").

    `simulators`: other held credentials' IAM clients in the same account, by name, tried after
    the caller's own. `learnt`: what this access's own sessions were answered (the audit log),
    for the abilities no harmless call can tell (StartSession's)."""
    for name, iam in [("itself", client("iam")), *simulators]:
        try:
            return simulate(iam, caller, region, nodes), f"simulated by {name}"
        except ClientError as exc:
            if _code(exc) not in DENIED and _code(exc) != "NoSuchEntity":
                raise
        except BotoCoreError:
            continue
    found = probe(client, caller, hybrid_id)
    if learnt:
        found = [learnt.get(f.ability, f) if f.allowed is None else f for f in found]
    return found, "probed with harmless calls"
