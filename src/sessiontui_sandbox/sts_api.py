"""STS AssumeRole and GetCallerIdentity as AWS answers them, MFA and duration rules included.

moto's own AssumeRole ignores MFA codes and MaxSessionDuration, so these never reach it.
"""

from __future__ import annotations

import json
import re
import secrets
import string
from datetime import timedelta
from typing import Any
from xml.sax.saxutils import escape

from sessiontui_sandbox.demo import DEMO_ACCOUNT, DEMO_ROLES_BY_ARN
from sessiontui_sandbox.state import AwsError, Caller, IssuedKey, SandboxState

STS_NS = "https://sts.amazonaws.com/doc/2011-06-15/"
SESSION_NAME = re.compile(r"[\w+=,.@-]*")
CHAINED_MAX = 3600
_KEY_ALPHABET = string.ascii_uppercase + string.digits


def validation(message: str) -> AwsError:
    return AwsError("ValidationError", message, 400)


def access_denied(message: str) -> AwsError:
    return AwsError("AccessDenied", message, 403)


def _role_info(role_arn: str) -> tuple[str, int, str, bool] | None:
    """(name, max duration, role id, requires MFA) from moto's IAM, or None if no such role."""
    from moto.iam.models import iam_backends

    try:
        role = iam_backends[DEMO_ACCOUNT]["global"].get_role_by_arn(role_arn)
    except Exception:  # moto's NoSuchEntity
        return None
    policy = role.assume_role_policy_document
    text = policy if isinstance(policy, str) else json.dumps(policy)
    return (
        str(role.name),
        int(role.max_session_duration or 3600),
        str(role.id),
        "MultiFactorAuthPresent" in text or role_arn in DEMO_ROLES_BY_ARN,
    )


def _chained_role(role_arn: str, caller: Caller) -> tuple[str, int, str] | None:
    """(name, max duration, role id) of a role in an Identity Center account when its
    trust policy (as moto keeps it) lets the caller in, else None: AWS says only "not
    authorized", whether the role is missing or does not trust the caller."""
    from moto.iam.models import iam_backends

    from sessiontui_sandbox.chained_roles import CHAINED_ROLES_BY_ARN, trusts

    known = CHAINED_ROLES_BY_ARN.get(role_arn)
    if known is None or caller.key is None:
        return None
    try:
        role = iam_backends[known.account]["global"].get_role_by_arn(role_arn)
    except Exception:  # moto's NoSuchEntity
        return None
    policy = role.assume_role_policy_document
    document = json.loads(policy) if isinstance(policy, str) else policy
    if not trusts(document, caller.arn, caller.key.role_arn, caller.account):
        return None
    return str(role.name), int(role.max_session_duration or 3600), str(role.id)


def role_policies(role_arn: str) -> tuple[str, ...]:
    """The IAM policies attached to a demo role (by ARN); () for a role the sandbox does not
    know, whose credentials may then do nothing but ask who they are."""
    from sessiontui_sandbox.chained_roles import CHAINED_ROLES_BY_ARN
    from sessiontui_sandbox.policies import policy

    if role_arn in DEMO_ROLES_BY_ARN or role_arn in CHAINED_ROLES_BY_ARN:
        return (policy(role_arn.rsplit("/", 1)[-1]),)
    return ()


def role_tags(role_arn: str) -> dict[str, str]:
    """The tags of a demo role, which its sessions carry as aws:PrincipalTag/*."""
    from sessiontui_sandbox.chained_roles import CHAINED_ROLES_BY_ARN

    role = DEMO_ROLES_BY_ARN.get(role_arn) or CHAINED_ROLES_BY_ARN.get(role_arn)
    return dict(role.scope) if role is not None else {}


def _new_key() -> str:
    return "ASIA" + "".join(secrets.choice(_KEY_ALPHABET) for _ in range(16))


def issue_key(
    state: SandboxState,
    role_arn: str,
    session_name: str,
    duration: int,
    chained: bool,
    role_name: str | None = None,
    role_id: str = "AROASANDBOXROLE00001",
    account: str = DEMO_ACCOUNT,
    policies: tuple[str, ...] = (),
    mfa: bool = False,
    session_policy: str = "",
) -> IssuedKey:
    """Credentials of a role session; `policies` default to the role's own (role_policies)."""
    policies, tags = policies or role_policies(role_arn), role_tags(role_arn)
    key = IssuedKey(
        access_key_id=_new_key(),
        secret_access_key=secrets.token_urlsafe(30),
        session_token="FwoGZXIvYXdzE" + secrets.token_urlsafe(120),
        role_arn=role_arn,
        role_name=role_name or role_arn.rsplit("/", 1)[-1],
        session_name=session_name,
        role_id=role_id,
        expiration=(state.now() + timedelta(seconds=duration)).replace(microsecond=0),
        chained=chained,
        account=account,
        policies=policies,
        mfa=mfa,
        principal_tags=tags,
        session_policy=session_policy,
    )
    with state.lock:
        state.keys[key.access_key_id] = key
    return key


def assume_role(state: SandboxState, caller: Caller, params: dict[str, str]) -> str:
    role_arn = params.get("RoleArn", "")
    session_name = params.get("RoleSessionName", "")
    if not 2 <= len(session_name) <= 64:
        raise validation(
            f"1 validation error detected: Value '{session_name}' at 'roleSessionName' failed to "
            "satisfy constraint: Member must have length greater than or equal to 2"
            if len(session_name) < 2
            else f"1 validation error detected: Value '{session_name}' at 'roleSessionName' "
            "failed to satisfy constraint: Member must have length less than or equal to 64"
        )
    if not SESSION_NAME.fullmatch(session_name):
        raise validation(
            f"1 validation error detected: Value '{session_name}' at 'roleSessionName' failed to "
            r"satisfy constraint: Member must satisfy regular expression pattern: [\w+=,.@-]*"
        )
    raw_duration = params.get("DurationSeconds", "3600")
    try:
        duration = int(raw_duration)
    except ValueError:
        raise validation(f"Value '{raw_duration}' at 'durationSeconds' is not a number") from None
    if duration < 900:
        raise validation(
            f"1 validation error detected: Value '{duration}' at 'durationSeconds' failed to "
            "satisfy constraint: Member must have value greater than or equal to 900"
        )
    if duration > 43200:
        raise validation(
            f"1 validation error detected: Value '{duration}' at 'durationSeconds' failed to "
            "satisfy constraint: Member must have value less than or equal to 43200"
        )
    serial = params.get("SerialNumber")
    code = params.get("TokenCode")
    if code is not None and not re.fullmatch(r"\d{6}", code):
        raise validation(
            f"1 validation error detected: Value '{code}' at 'tokenCode' failed to satisfy "
            r"constraint: Member must satisfy regular expression pattern: [\d]*"
        )
    not_authorized = access_denied(
        f"User: {caller.arn} is not authorized to perform: sts:AssumeRole on resource: {role_arn}"
    )
    account = DEMO_ACCOUNT
    from_identity_center = _chained_role(role_arn, caller)
    if from_identity_center is not None:
        role_name, max_duration, role_id = from_identity_center
        account, needs_mfa = role_arn.split(":")[4], False  # MFA was at the sign-in
    else:
        info = _role_info(role_arn)
        if info is None:
            # AWS does not reveal whether the role exists.
            raise not_authorized
        role_name, max_duration, role_id, needs_mfa = info
    chained = caller.is_role
    # Duration rules are checked before the MFA code so a refused duration does not burn a code.
    if duration > max_duration:
        raise validation(
            "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."
        )
    if chained and duration > CHAINED_MAX:
        raise validation(
            "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by "
            "role chaining."
        )
    if needs_mfa:
        if not serial or not code:
            raise not_authorized
        if not state.check_mfa(serial, code):
            raise access_denied(
                "MultiFactorAuthentication failed with invalid MFA one time pass code. "
            )
    key = issue_key(
        state,
        role_arn,
        session_name,
        duration,
        chained,
        role_name,
        role_id,
        account=account,
        mfa=needs_mfa,
    )
    expiration = key.expiration.strftime("%Y-%m-%dT%H:%M:%SZ")
    return (
        f'<AssumeRoleResponse xmlns="{STS_NS}">'
        "<AssumeRoleResult>"
        "<Credentials>"
        f"<AccessKeyId>{key.access_key_id}</AccessKeyId>"
        f"<SecretAccessKey>{escape(key.secret_access_key)}</SecretAccessKey>"
        f"<SessionToken>{escape(key.session_token)}</SessionToken>"
        f"<Expiration>{expiration}</Expiration>"
        "</Credentials>"
        "<AssumedRoleUser>"
        f"<AssumedRoleId>{escape(key.role_id)}:{escape(session_name)}</AssumedRoleId>"
        f"<Arn>{escape(key.arn)}</Arn>"
        "</AssumedRoleUser>"
        "</AssumeRoleResult>"
        f"<ResponseMetadata><RequestId>{secrets.token_hex(16)}</RequestId></ResponseMetadata>"
        "</AssumeRoleResponse>"
    )


def get_caller_identity(state: SandboxState, caller: Caller, params: dict[str, str]) -> str:
    return (
        f'<GetCallerIdentityResponse xmlns="{STS_NS}">'
        "<GetCallerIdentityResult>"
        f"<Arn>{escape(caller.arn)}</Arn>"
        f"<UserId>{escape(caller.user_id)}</UserId>"
        f"<Account>{caller.account}</Account>"
        "</GetCallerIdentityResult>"
        f"<ResponseMetadata><RequestId>{secrets.token_hex(16)}</RequestId></ResponseMetadata>"
        "</GetCallerIdentityResponse>"
    )


HANDLERS: dict[str, Any] = {
    "AssumeRole": assume_role,
    "GetCallerIdentity": get_caller_identity,
}
