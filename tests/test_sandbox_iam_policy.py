"""The sandbox's IAM policy evaluation against IAM's documented rules, one row a rule.

The rows come from IAM's reference: "Policy evaluation logic", "Condition operators" (including
what a missing key does to each kind of operator), and "Policy variables" (an undefined variable
matches nothing). The seed's ProductionPermissionSet is evaluated verbatim at the end.
"""

from __future__ import annotations

from typing import Any

import pytest

from sessiontui_sandbox.iam_policy import Decision, Request, evaluate, refusal

ALLOW, DENY, NONE = Decision.ALLOW, Decision.EXPLICIT_DENY, Decision.IMPLICIT_DENY
INSTANCE = "arn:aws:ec2:us-east-1:123456789012:instance/i-0abc"
SESSION = "arn:aws:ssm:us-east-1:123456789012:session/alice-0a1b2c"


def policy(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(action: Any = "*", resource: Any = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def deny(action: Any = "*", resource: Any = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Deny", "Action": action, "Resource": resource, **extra}


def cond(operator: str, key: str, value: Any, action: str = "ssm:StartSession") -> dict[str, Any]:
    return allow(action, "*", Condition={operator: {key: value}})


# (why, statements, action, resource, context, expected)
ROWS: list[tuple[str, list[dict[str, Any]], str, str, dict[str, Any], Decision]] = [
    ("no statement: implicit deny", [], "ssm:StartSession", INSTANCE, {}, NONE),
    ("allow", [allow("ssm:StartSession")], "ssm:StartSession", INSTANCE, {}, ALLOW),
    ("explicit deny wins", [allow(), deny("ssm:*")], "ssm:StartSession", INSTANCE, {}, DENY),
    ("action is case-insensitive", [allow("SSM:startsession")], "ssm:StartSession", "x", {}, ALLOW),
    ("action wildcard *", [allow("ssm:Describe*")], "ssm:DescribeSessions", "*", {}, ALLOW),
    ("action wildcard ?", [allow("ssm:?tartSession")], "ssm:StartSession", "x", {}, ALLOW),
    ("another service", [allow("ec2:*")], "ssm:StartSession", INSTANCE, {}, NONE),
    (
        "NotAction",
        [{"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}],
        "ssm:StartSession",
        INSTANCE,
        {},
        ALLOW,
    ),
    (
        "NotAction excludes",
        [{"Effect": "Allow", "NotAction": "ssm:*", "Resource": "*"}],
        "ssm:StartSession",
        INSTANCE,
        {},
        NONE,
    ),
    (
        "resource wildcard",
        [allow("*", "arn:aws:ec2:*:*:instance/*")],
        "ssm:StartSession",
        INSTANCE,
        {},
        ALLOW,
    ),
    (
        "resource is case-sensitive",
        [allow("*", "arn:aws:ec2:*:*:INSTANCE/*")],
        "ssm:StartSession",
        INSTANCE,
        {},
        NONE,
    ),
    (
        "document ARN not listed",
        [allow("ssm:StartSession", "arn:aws:ec2:*:*:instance/*")],
        "ssm:StartSession",
        "arn:aws:ssm:us-east-1::document/AWS-StartPortForwardingSession",
        {},
        NONE,
    ),
    (
        "NotResource",
        [{"Effect": "Allow", "Action": "*", "NotResource": "arn:aws:iam::*"}],
        "ssm:StartSession",
        INSTANCE,
        {},
        ALLOW,
    ),
    (
        "policy variable",
        [allow("ssm:TerminateSession", "arn:aws:ssm:*:*:session/${aws:username}-*")],
        "ssm:TerminateSession",
        SESSION,
        {"aws:username": "alice"},
        ALLOW,
    ),
    (
        "policy variable, another user",
        [allow("*", "arn:aws:ssm:*:*:session/${aws:username}-*")],
        "ssm:TerminateSession",
        SESSION,
        {"aws:username": "bob"},
        NONE,
    ),
    (
        "undefined variable matches nothing (an assumed role has no aws:username)",
        [allow("*", "arn:aws:ssm:*:*:session/${aws:username}-*")],
        "ssm:TerminateSession",
        SESSION,
        {"aws:userid": "AROAEXAMPLE:alice"},
        NONE,
    ),
    (
        "variable with a default",
        [allow("*", "arn:aws:ssm:*:*:session/${aws:username, 'alice'}-*")],
        "ssm:TerminateSession",
        SESSION,
        {},
        ALLOW,
    ),
    (
        "${*} is a literal star",
        [allow("*", "arn:aws:s3:::a${*}b")],
        "s3:GetObject",
        "arn:aws:s3:::aXb",
        {},
        NONE,
    ),
    (
        "condition key names are case-insensitive",
        [cond("StringEquals", "SSM:ResourceTag/project", "Production")],
        "ssm:StartSession",
        INSTANCE,
        {"ssm:resourceTag/project": "Production"},
        ALLOW,
    ),
    (
        "StringEquals values are case-sensitive",
        [cond("StringEquals", "ssm:resourceTag/project", "production")],
        "ssm:StartSession",
        INSTANCE,
        {"ssm:resourceTag/project": "Production"},
        NONE,
    ),
    (
        "StringEqualsIgnoreCase",
        [cond("StringEqualsIgnoreCase", "aws:ResourceTag/p", "PROD")],
        "ssm:StartSession",
        INSTANCE,
        {"aws:ResourceTag/p": "prod"},
        ALLOW,
    ),
    (
        "StringLike",
        [cond("StringLike", "ssm:resourceTag/project", ["Prod*", "Stag?ng"])],
        "ssm:StartSession",
        INSTANCE,
        {"ssm:resourceTag/project": "Staging"},
        ALLOW,
    ),
    (
        "a missing key makes a positive operator false",
        [cond("StringLike", "ssm:resourceTag/project", "Production")],
        "ssm:StartSession",
        INSTANCE,
        {},
        NONE,
    ),
    (
        "a missing key makes a negated operator true",
        [cond("StringNotEquals", "ssm:resourceTag/project", "Production")],
        "ssm:StartSession",
        INSTANCE,
        {},
        ALLOW,
    ),
    (
        "negated: no value may match",
        [cond("StringNotEquals", "ssm:resourceTag/project", ["Staging", "Production"])],
        "ssm:StartSession",
        INSTANCE,
        {"ssm:resourceTag/project": "Production"},
        NONE,
    ),
    (
        "IfExists with the key missing",
        [cond("StringEqualsIfExists", "aws:PrincipalTag/team", "x")],
        "ssm:StartSession",
        INSTANCE,
        {},
        ALLOW,
    ),
    (
        "IfExists with the key present",
        [cond("StringEqualsIfExists", "aws:PrincipalTag/team", "x")],
        "ssm:StartSession",
        INSTANCE,
        {"aws:PrincipalTag/team": "y"},
        NONE,
    ),
    (
        "Bool MFA",
        [cond("Bool", "aws:MultiFactorAuthPresent", "true")],
        "ssm:StartSession",
        INSTANCE,
        {"aws:MultiFactorAuthPresent": "true"},
        ALLOW,
    ),
    (
        "Bool MFA absent",
        [cond("Bool", "aws:MultiFactorAuthPresent", "true")],
        "ssm:StartSession",
        INSTANCE,
        {},
        NONE,
    ),
    (
        "deny without MFA, BoolIfExists",
        [allow(), deny(Condition={"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}})],
        "ssm:StartSession",
        INSTANCE,
        {},
        DENY,
    ),
    (
        "Null true: key absent",
        [cond("Null", "aws:TokenIssueTime", "true")],
        "ssm:StartSession",
        INSTANCE,
        {},
        ALLOW,
    ),
    (
        "Null false: key present",
        [cond("Null", "aws:TokenIssueTime", "false")],
        "ssm:StartSession",
        INSTANCE,
        {"aws:TokenIssueTime": "2026-12-06T00:00:00Z"},
        ALLOW,
    ),
    (
        "NumericLessThan",
        [cond("NumericLessThan", "aws:MultiFactorAuthAge", "3600")],
        "ssm:StartSession",
        INSTANCE,
        {"aws:MultiFactorAuthAge": "120"},
        ALLOW,
    ),
    (
        "NumericGreaterThanEquals",
        [cond("NumericGreaterThanEquals", "n", "10")],
        "ssm:StartSession",
        INSTANCE,
        {"n": "9"},
        NONE,
    ),
    (
        "a number that is not one matches nothing",
        [cond("NumericEquals", "n", "10")],
        "ssm:StartSession",
        INSTANCE,
        {"n": "ten"},
        NONE,
    ),
    (
        "DateLessThan",
        [cond("DateLessThan", "aws:CurrentTime", "2027-01-01T00:00:00Z")],
        "ssm:StartSession",
        INSTANCE,
        {"aws:CurrentTime": "2026-12-06T20:00:00Z"},
        ALLOW,
    ),
    (
        "DateGreaterThan epoch",
        [cond("DateGreaterThan", "aws:EpochTime", "1893456000")],
        "ssm:StartSession",
        INSTANCE,
        {"aws:EpochTime": "1796000000"},
        NONE,
    ),
    (
        "ArnLike",
        [
            cond(
                "ArnLike",
                "aws:PrincipalArn",
                "arn:aws:iam::*:role/aws-reserved/sso.amazonaws.com/*",
            )
        ],
        "ssm:StartSession",
        INSTANCE,
        {
            "aws:PrincipalArn": "arn:aws:iam::123456789012:role/"
            "aws-reserved/sso.amazonaws.com/AWSReservedSSO_P_1"
        },
        ALLOW,
    ),
    (
        "ArnNotEquals",
        [cond("ArnNotEquals", "aws:SourceArn", "arn:aws:ssm:*:*:document/X")],
        "ssm:StartSession",
        INSTANCE,
        {"aws:SourceArn": "arn:aws:ssm:eu-west-1:1:document/X"},
        NONE,
    ),
    (
        "IpAddress",
        [cond("IpAddress", "aws:SourceIp", "127.0.0.0/8")],
        "ssm:StartSession",
        INSTANCE,
        {"aws:SourceIp": "127.0.0.1"},
        ALLOW,
    ),
    (
        "NotIpAddress",
        [cond("NotIpAddress", "aws:SourceIp", "127.0.0.0/8")],
        "ssm:StartSession",
        INSTANCE,
        {"aws:SourceIp": "127.0.0.1"},
        NONE,
    ),
    (
        "ForAnyValue",
        [cond("ForAnyValue:StringEquals", "aws:TagKeys", ["a", "b"])],
        "ssm:StartSession",
        INSTANCE,
        {"aws:TagKeys": ["c", "b"]},
        ALLOW,
    ),
    (
        "ForAllValues",
        [cond("ForAllValues:StringEquals", "aws:TagKeys", ["a", "b"])],
        "ssm:StartSession",
        INSTANCE,
        {"aws:TagKeys": ["a", "c"]},
        NONE,
    ),
    (
        "ForAllValues with the key missing is true",
        [cond("ForAllValues:StringEquals", "aws:TagKeys", ["a"])],
        "ssm:StartSession",
        INSTANCE,
        {},
        ALLOW,
    ),
    (
        "ForAnyValue with the key missing is false",
        [cond("ForAnyValue:StringEquals", "aws:TagKeys", ["a"])],
        "ssm:StartSession",
        INSTANCE,
        {},
        NONE,
    ),
    (
        "operators AND, keys AND",
        [
            allow(
                Condition={
                    "StringEquals": {"a": "1", "b": "2"},
                    "Bool": {"aws:SecureTransport": "true"},
                }
            )
        ],
        "ssm:StartSession",
        INSTANCE,
        {"a": "1", "b": "2", "aws:SecureTransport": "false"},
        NONE,
    ),
    (
        "a variable in a condition value",
        [cond("StringEquals", "aws:PrincipalTag/owner", "${aws:username}")],
        "ssm:StartSession",
        INSTANCE,
        {"aws:PrincipalTag/owner": "alice", "aws:username": "alice"},
        ALLOW,
    ),
    (
        "an unknown operator refuses its statement",
        [cond("StringSoundsLike", "a", "1")],
        "ssm:StartSession",
        INSTANCE,
        {"a": "1"},
        NONE,
    ),
    (
        "a statement with neither Resource nor NotResource applies to nothing",
        [{"Effect": "Allow", "Action": "*"}],
        "ssm:StartSession",
        INSTANCE,
        {},
        NONE,
    ),
]


@pytest.mark.parametrize(
    ("statements", "action", "resource", "context", "expected"),
    [pytest.param(*row[1:], id=row[0]) for row in ROWS],
)
def test_iam_rule(
    statements: list[dict[str, Any]],
    action: str,
    resource: str,
    context: dict[str, Any],
    expected: Decision,
) -> None:
    assert evaluate([policy(*statements)], Request(action, resource, context)) == expected


def test_a_single_statement_object_and_a_json_string_are_policies_too() -> None:
    one = '{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "*", "Resource": "*"}}'
    assert evaluate([one], Request("ssm:StartSession", INSTANCE)) == ALLOW


def test_a_deny_in_one_policy_beats_an_allow_in_another() -> None:
    policies = [policy(allow()), policy(deny("ssm:StartSession", INSTANCE))]
    assert evaluate(policies, Request("ssm:StartSession", INSTANCE)) == DENY


SEED_PRODUCTION = policy(
    allow(["ssm:GetServiceSetting"], "*"),
    deny(["ssm:ResetServiceSetting", "ssm:UpdateServiceSetting"], "*"),
    allow(
        [
            "ssm:DescribeSessions",
            "ssm:DescribeInstanceProperties",
            "ec2:DescribeInstances",
            "ssm:GetConnectionStatus",
        ],
        "*",
    ),
    allow(
        ["ssm:StartSession"],
        ["arn:aws:ec2:*:*:instance/*", "arn:aws:ssm:*:*:managed-instance/*"],
        Condition={"StringLike": {"ssm:resourceTag/project": ["Production"]}},
    ),
    allow(["ssm:TerminateSession"], ["arn:aws:ssm:*:*:session/${aws:username}-*"]),
)
SSO_ROLE = (
    "arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_ProductionPermissionSet_0a1b/alice"
)
SSO_CONTEXT = {"aws:userid": "AROAEXAMPLE:alice", "aws:PrincipalArn": SSO_ROLE}


@pytest.mark.parametrize(
    ("action", "resource", "context", "expected"),
    [
        ("ssm:DescribeInstanceProperties", "*", {}, ALLOW),
        ("ssm:DescribeInstanceInformation", "*", {}, NONE),
        ("ssm:ListTagsForResource", "*", {}, NONE),
        ("tag:GetResources", "*", {}, NONE),
        ("ssm:StartSession", INSTANCE, {"ssm:resourceTag/project": "Production"}, ALLOW),
        ("ssm:StartSession", INSTANCE, {"ssm:resourceTag/project": "Staging"}, NONE),
        (
            "ssm:StartSession",
            "arn:aws:ssm:us-east-1:123456789012:managed-instance/mi-0123456789abcdef0",
            {"ssm:resourceTag/project": "Production"},
            ALLOW,
        ),
        ("ssm:StartSession", "arn:aws:ssm:us-east-1::document/AWS-StartSSHSession", {}, NONE),
        ("ssm:TerminateSession", SESSION, {}, NONE),
        ("ssm:ResumeSession", SESSION, {}, NONE),
        ("ssm:UpdateServiceSetting", "*", {}, DENY),
    ],
)
def test_the_seeds_production_permission_set_for_an_identity_center_user(
    action: str, resource: str, context: dict[str, str], expected: Decision
) -> None:
    """What issue 24 found by hand: listing only through DescribeInstanceProperties, shells but
    no forwards or SSH, and no TerminateSession (an assumed role has no aws:username)."""
    request = Request(action, resource, {**SSO_CONTEXT, **context})
    assert evaluate([SEED_PRODUCTION], request) == expected


def test_refusals_are_worded_as_aws_words_them() -> None:
    request = Request("ssm:StartSession", INSTANCE)
    assert refusal(SSO_ROLE, request, NONE) == (
        f"User: {SSO_ROLE} is not authorized to perform: ssm:StartSession on resource: "
        f"{INSTANCE} because no identity-based policy allows the ssm:StartSession action"
    )
    assert refusal(SSO_ROLE, request, DENY).endswith(
        "with an explicit deny in an identity-based policy"
    )
