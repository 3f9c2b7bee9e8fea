"""Roles in the demo's Identity Center accounts that an Identity Center permission set may assume
(role chaining, as AWS has it): their trust policies, their seeding into moto's IAM of that
account, and the part of IAM's trust evaluation AssumeRole needs for them.

AWS's own form for "the permission set's role may assume this one": the account root as
principal, narrowed by `aws:PrincipalArn` to the permission set's reserved role, whose name ends in
a random suffix (`AWSReservedSSO_<PermissionSet>_<hex>`) and so is matched with ArnLike.
AssumeRole from those credentials is role chaining: AWS caps it at one hour (sts_api refuses more).
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sessiontui_sandbox.accounts import DEMO_ACCOUNTS, PRODUCTION_ACCOUNT


@dataclass(frozen=True)
class ChainedRole:
    account: str
    name: str
    permission_set: str  # whose reserved role the trust policy lets in
    max_session_duration: int
    scope: dict[str, str] = field(default_factory=dict)
    default_duration: str = "2h"  # over the chaining cap on purpose: the client cuts it to 1h

    @property
    def arn(self) -> str:
        return f"arn:aws:iam::{self.account}:role/{self.name}"

    @property
    def source_profile(self) -> str:
        """The profile the sandbox's ~/.aws/config has for the permission set (accounts.aws_config)."""
        name = next(a.name for a in DEMO_ACCOUNTS if a.account_id == self.account)
        return f"{name}-{self.permission_set}"

    def trust_policy(self) -> dict[str, Any]:
        reserved = (
            f"arn:aws:iam::{self.account}:role/aws-reserved/sso.amazonaws.com/"
            f"AWSReservedSSO_{self.permission_set}_*"
        )
        return {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:aws:iam::{self.account}:root"},
                    "Action": "sts:AssumeRole",
                    "Condition": {"ArnLike": {"aws:PrincipalArn": reserved}},
                }
            ],
        }


CHAINED_ROLES: tuple[ChainedRole, ...] = (
    ChainedRole(PRODUCTION_ACCOUNT, "ProductionDeploy", "ProductionAccess", 4 * 3600,
                {"project": "Production"}),
)  # fmt: skip
CHAINED_ROLES_BY_ARN = {r.arn: r for r in CHAINED_ROLES}


def seed_chained_roles(roles: tuple[ChainedRole, ...] = CHAINED_ROLES) -> None:
    from moto.iam.models import iam_backends

    for role in roles:
        iam_backends[role.account]["global"].create_role(
            role_name=role.name,
            assume_role_policy_document=json.dumps(role.trust_policy()),
            path="/",
            permissions_boundary=None,
            description=f"sessiontui demo role assumed from Identity Center ({role.permission_set})",
            tags=[{"Key": k, "Value": v} for k, v in role.scope.items()],
            max_session_duration=str(role.max_session_duration),
        )


def config_lines() -> list[str]:
    """The demo config's [roles.X] for each: assumed from the permission set's profile."""
    lines: list[str] = []
    for role in CHAINED_ROLES:
        scope = ", ".join(f'{k} = "{v}"' for k, v in role.scope.items())
        lines += [
            "",
            f"[roles.{role.name}]",
            f'arn = "{role.arn}"',
            f'source_profile = "{role.source_profile}"',
            f'duration = "{role.default_duration}"',
            f'max_duration = "{role.max_session_duration // 3600}h"',
            f"scope = {{ {scope} }}",
        ]
    return lines


def _values(value: Any) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def _principal_matches(principal: Any, caller_arn: str, caller_account: str) -> bool:
    if principal == "*":
        return True
    aws = principal.get("AWS", []) if isinstance(principal, Mapping) else []
    for entry in _values(aws):
        if entry in ("*", caller_arn, caller_account, f"arn:aws:iam::{caller_account}:root"):
            return True
    return False


def _conditions_hold(conditions: Mapping[str, Any], context: Mapping[str, str]) -> bool:
    for operator, tests in conditions.items():
        for key, wanted in tests.items():
            have = context.get(key)
            if have is None:
                return False
            patterns = _values(wanted)
            if operator in ("ArnLike", "StringLike"):
                ok = any(fnmatch.fnmatchcase(have, p) for p in patterns)
            elif operator in ("ArnEquals", "StringEquals", "Bool"):
                ok = have in patterns
            else:  # an operator this sandbox does not know: deny, as an unmet condition does
                return False
            if not ok:
                return False
    return True


def trusts(policy: Mapping[str, Any], caller_arn: str, principal_arn: str, account: str) -> bool:
    """Whether a trust policy lets the caller assume the role: an Allow statement for
    sts:AssumeRole whose principal and conditions match, and no Deny that does."""
    context = {"aws:PrincipalArn": principal_arn, "aws:PrincipalAccount": account}
    allowed = False
    for statement in _values_of(policy.get("Statement", [])):
        actions = _values(statement.get("Action", []))
        if not any(fnmatch.fnmatchcase("sts:AssumeRole", a) for a in actions):
            continue
        if not _principal_matches(statement.get("Principal", {}), caller_arn, account):
            continue
        if not _conditions_hold(statement.get("Condition", {}), context):
            continue
        if statement.get("Effect") == "Deny":
            return False
        allowed = allowed or statement.get("Effect") == "Allow"
    return allowed


def _values_of(statements: Any) -> list[Mapping[str, Any]]:
    return list(statements) if isinstance(statements, list) else [statements]
