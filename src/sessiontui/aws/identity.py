"""Just-in-time roles: AssumeRole with MFA, the credential cache, and the role picker's rows.

Clients are passed in: `IdentityService(factory_for)` where `factory_for(source_profile)` returns
a ClientFactory-like object (`.client(service, region=None)` and `.session`, a boto3 Session)
for the credentials that assume a role: the role's source_profile, or the default chain (the
--profile the app runs with) for None. aws.clients.ClientFactory fits as is.

Flow of `assume`: cache -> prepare (duration checks, needs no code) -> MFA code (waiting for an
unused window) -> sts:AssumeRole -> cache. Every failure is a SessiontuiError in plain words.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal, Protocol, cast, overload

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
    ProfileNotFound,
)

from sessiontui.aws.clients import config_parse_error
from sessiontui.aws.credcache import CredentialCache
from sessiontui.aws.mfa import AskCode, CodeSource, MfaState, make_code_source
from sessiontui.aws.mfa_retry import assume_with_mfa, is_mfa_refusal
from sessiontui.aws_profiles import profile_mfa_serial, static_access_key_id
from sessiontui.config import Config, MfaConfig
from sessiontui.core.clock import SYSTEM_CLOCK, Clock
from sessiontui.core.credentials import Credentials
from sessiontui.core.durations import (
    CHAINED_MAX,
    chaining_warning,
    check_duration,
    format_duration,
)
from sessiontui.core.errors import AuthError, SessiontuiError, UsageError
from sessiontui.core.roles import RoleSpec

if TYPE_CHECKING:
    import boto3
    import botocore.session
    from mypy_boto3_iam import IAMClient
    from mypy_boto3_sts import STSClient

MFA_REFUSED = "MFA code refused (wrong or already used); wait for the next code"
NO_CREDENTIALS = "no AWS credentials found"
NO_CREDENTIALS_HINT = (
    "set AWS_PROFILE or use --profile, run `aws configure` or `aws sso login`, "
    "or try the sandbox with --demo"
)
_SSO_ERRORS = ("SSOTokenLoadError", "UnauthorizedSSOTokenError", "TokenRetrievalError", "SSOError")
_SESSION_NAME_BAD = re.compile(r"[^\w+=,.@-]", re.ASCII)


def _refuse_prompt(prompt: str = "") -> str:
    raise AuthError(
        "this AWS profile assumes a role with MFA by itself, which sessiontui does not let "
        "botocore prompt for",
        "pick that profile as a role instead (--role NAME), so the MFA code comes from sessiontui",
    )


def disable_botocore_mfa_prompt(session: boto3.Session | botocore.session.Session | None) -> None:
    """botocore would ask for a profile's MFA code with getpass on the terminal: never let it.

    Best effort through botocore internals; without it the prompt could land under the TUI.
    A boto3 session is turned off in the botocore session it wraps.
    """
    if session is None:  # a factory without a session has no prompt to turn off
        return
    try:
        core = cast("botocore.session.Session", getattr(session, "_session", session))
        resolver = core.get_component("credential_provider")
        provider = resolver.get_provider("assume-role")
        if provider is not None:
            provider._prompter = _refuse_prompt
    except Exception:  # an older or newer botocore without these internals
        return


class FactoryLike(Protocol):
    @property
    def session(self) -> boto3.Session: ...

    @property
    def profile(self) -> str | None: ...

    @property
    def credentials(self) -> Credentials | None: ...

    # the services an identity is checked with (aws.clients.ClientFactory has them all)
    @overload
    def client(self, service: Literal["sts"], region: str | None = None) -> STSClient: ...
    @overload
    def client(self, service: Literal["iam"], region: str | None = None) -> IAMClient: ...


FactoryFor = Callable[[str | None], FactoryLike]


@dataclass(frozen=True)
class CallerIdentity:
    arn: str
    account: str
    access_key_id: str | None  # the base key, for the cache key (hashed there)

    @property
    def chained(self) -> bool:
        """Role credentials assuming another role: AWS caps that at one hour."""
        return ":assumed-role/" in self.arn


@dataclass(frozen=True)
class AssumePlan:
    """What an AssumeRole would ask for, checked before any MFA code is spent."""

    role: RoleSpec
    duration: int
    role_max: int | None  # MaxSessionDuration when known
    chained: bool
    mfa_serial: str | None
    session_name: str
    warning: str | None  # for the UI/CLI: e.g. the role-chaining cap

    @property
    def limit(self) -> int | None:
        """The longest duration this assumption could get, when known."""
        if self.chained:
            return min(self.role_max or CHAINED_MAX, CHAINED_MAX)
        return self.role_max


def session_name_for(caller_arn: str) -> str:
    """RoleSessionName from the operator's identity, so CloudTrail says who it was.

    user/alice -> alice; assumed-role/Base/alice -> alice; [\\w+=,.@-], 2-64 characters.
    """
    tail = caller_arn.rsplit("/", 1)[-1] if "/" in caller_arn else caller_arn.rsplit(":", 1)[-1]
    name = _SESSION_NAME_BAD.sub("-", tail)[:64]
    return name if len(name) >= 2 else "sessiontui"


def role_name_of(arn: str) -> str:
    return arn.rsplit("/", 1)[-1]


def account_of(arn: str) -> str:
    parts = arn.split(":")
    return parts[4] if len(parts) > 4 else ""


def _error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _error_message(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Message", "")).strip()


def translate_error(exc: BaseException, role: RoleSpec | None, profile: str | None) -> Exception:
    """botocore's exceptions -> SessiontuiError in plain words (AuthError, exit 3, mostly)."""
    if isinstance(exc, SessiontuiError):
        return exc
    if (broken := config_parse_error(exc)) is not None:
        return broken
    name = type(exc).__name__
    who = f" for profile {profile}" if profile else ""
    if name in _SSO_ERRORS:
        return AuthError(
            f"the AWS SSO session{who} has expired or was never started",
            f"run: sessiontui --sso-login {profile} (or aws sso login --profile {profile})"
            if profile
            else "run: sessiontui --sso-login (or aws sso login)",
        )
    if isinstance(exc, NoCredentialsError):
        return AuthError(NO_CREDENTIALS, NO_CREDENTIALS_HINT)
    if isinstance(exc, ProfileNotFound):
        return UsageError(f"AWS profile not found: {profile}", "see `aws configure list-profiles`")
    if isinstance(exc, EndpointConnectionError):
        return SessiontuiError(f"cannot reach AWS STS: {exc}", "check the network and the region")
    if isinstance(exc, ClientError):
        code = _error_code(exc)
        message = _error_message(exc)
        target = f" {role.name}" if role else ""
        if code in ("ExpiredToken", "ExpiredTokenException", "RequestExpired"):
            return AuthError(
                f"the base credentials{who} have expired",
                f"renew them (aws sso login --profile {profile}, or fresh keys) and try again"
                if profile
                else "renew them (aws sso login, or fresh keys) and try again",
            )
        if code in ("InvalidClientTokenId", "SignatureDoesNotMatch", "UnrecognizedClientException"):
            return AuthError(f"the base credentials{who} were refused by AWS ({code})")
        if is_mfa_refusal(exc):
            return AuthError(MFA_REFUSED)
        if code == "AccessDenied":
            return AuthError(
                f"not authorised to assume role{target}: {message or code}",
                "check the role's trust policy (principal, MFA condition) and your permissions",
            )
        if code == "ValidationError" and "chaining" in message:
            return AuthError(
                f"AWS caps role chaining at 1h: {message}",
                "choose --duration 1h or less, or assume from user credentials",
            )
        if code == "ValidationError" and "DurationSeconds" in message:
            return AuthError(
                f"duration over the role's maximum: {message}", "choose a shorter --duration"
            )
        if code == "RegionDisabledException":
            return AuthError(f"STS is not enabled in this region: {message}")
        return AuthError(f"AssumeRole{target} failed: {code}: {message}".rstrip(": "))
    if isinstance(exc, BotoCoreError):
        return SessiontuiError(f"AWS call failed: {exc}")
    return exc if isinstance(exc, Exception) else RuntimeError(str(exc))


class IdentityService:
    """One per app run; thread-safe enough for UI workers (one assume at a time)."""

    def __init__(
        self,
        factory_for: FactoryFor,
        *,
        clock: Clock = SYSTEM_CLOCK,
        cache: CredentialCache | None = None,
        mfa_state: MfaState | None = None,
        default_mfa_serial: str | None = None,
        profile_mfa_serial: Callable[[str | None], str | None] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        region: str | None = None,
    ) -> None:
        self._factory_for = factory_for
        self.clock = clock
        self.cache = cache if cache is not None else CredentialCache(clock=clock)
        self.mfa_state = mfa_state if mfa_state is not None else MfaState()
        self.default_mfa_serial = default_mfa_serial
        self._profile_mfa_serial = profile_mfa_serial
        self.sleep = sleep
        self.region = region
        self._lock = threading.RLock()
        self._factories: dict[str | None, FactoryLike] = {}
        self._prompt_off: set[str | None] = set()
        self._callers: dict[str | None, CallerIdentity] = {}
        self._role_max: dict[str, int | None] = {}

    @classmethod
    def from_config(
        cls,
        config: Config,
        factory_for: FactoryFor,
        *,
        clock: Clock = SYSTEM_CLOCK,
        sleep: Callable[[float], None] = time.sleep,
        region: str | None = None,
    ) -> IdentityService:
        """The usual wiring: default cache and state folders, [mfa] serial, profiles' serials."""
        return cls(
            factory_for,
            clock=clock,
            cache=CredentialCache(clock=clock),
            mfa_state=MfaState(),
            default_mfa_serial=config.mfa.serial,
            profile_mfa_serial=profile_mfa_serial,
            sleep=sleep,
            region=region,
        )

    def known_maxima(self) -> dict[str, int | None]:
        """MaxSessionDuration learnt from IAM so far (role ARN -> seconds), for the picker."""
        with self._lock:
            return dict(self._role_max)

    # -- base identity ---------------------------------------------------------------------

    def _factory(self, source_profile: str | None) -> FactoryLike:
        with self._lock:
            found = self._factories.get(source_profile)
            if found is None:
                try:
                    found = self._factory_for(source_profile)
                except Exception as exc:
                    raise translate_error(exc, None, source_profile) from None
                self._factories[source_profile] = found
            return found

    def _ready(self, source_profile: str | None) -> FactoryLike:
        """The factory with its boto3 session made, and botocore's MFA prompt off in it: apart
        from `_factory` so that a cached role's key check need not import boto3."""
        found = self._factory(source_profile)
        with self._lock:
            if source_profile not in self._prompt_off:
                disable_botocore_mfa_prompt(getattr(found, "session", None))
                self._prompt_off.add(source_profile)
        return found

    def _sts(self, source_profile: str | None) -> STSClient:
        return self._ready(source_profile).client("sts", self.region)

    def base_access_key_id(self, source_profile: str | None) -> str:
        """The base credentials' key id; resolving them is where SSO and missing keys show up."""
        factory = self._factory(source_profile)
        if factory.credentials is not None:
            return factory.credentials.access_key_id
        static = static_access_key_id(factory.profile)
        if static is not None:
            return static
        try:
            creds = self._ready(source_profile).session.get_credentials()
            # refreshable credentials (an SSO profile's) are only fetched here
            key = str(creds.access_key) if creds is not None else None
        except Exception as exc:
            raise translate_error(exc, None, source_profile) from None
        if key is None:
            raise AuthError(NO_CREDENTIALS, NO_CREDENTIALS_HINT)
        return key

    def caller(self, source_profile: str | None) -> CallerIdentity:
        with self._lock:
            found = self._callers.get(source_profile)
        if found is not None:
            return found
        key_id = self.base_access_key_id(source_profile)
        try:
            answer = self._sts(source_profile).get_caller_identity()
        except Exception as exc:
            raise translate_error(exc, None, source_profile) from None
        found = CallerIdentity(str(answer["Arn"]), str(answer["Account"]), key_id)
        with self._lock:
            self._callers[source_profile] = found
        return found

    def role_max(self, role: RoleSpec) -> int | None:
        """MaxSessionDuration: from the config, else iam:GetRole when allowed, else unknown."""
        if role.max_duration is not None:
            return role.max_duration
        with self._lock:
            if role.arn in self._role_max:
                return self._role_max[role.arn]
        found: int | None = None
        caller = self.caller(role.source_profile)
        # GetRole only sees roles of the caller's own account; elsewhere it can only fail
        if account_of(role.arn) == caller.account:
            try:
                iam = self._ready(role.source_profile).client("iam", self.region)
                answer = iam.get_role(RoleName=role_name_of(role.arn))
                value = answer.get("Role", {}).get("MaxSessionDuration")
                found = int(value) if value else None
            except (ClientError, BotoCoreError):
                found = None  # AccessDenied is normal for operators; AWS will tell us at assume
        with self._lock:
            self._role_max[role.arn] = found
        return found

    def mfa_serial(self, role: RoleSpec) -> str | None:
        if role.mfa_serial:
            return role.mfa_serial
        if self.default_mfa_serial:
            return self.default_mfa_serial
        if self._profile_mfa_serial is not None:
            return self._profile_mfa_serial(role.source_profile)
        return None

    # -- the role's credentials ------------------------------------------------------------

    def cached(self, role: RoleSpec) -> Credentials | None:
        """Cached credentials still good for more than two minutes, or None. No AWS call."""
        try:
            key_id = self.base_access_key_id(role.source_profile)
        except SessiontuiError:
            return None
        return self.cache.get(role.arn, role.source_profile, key_id)

    def prepare(self, role: RoleSpec, duration: int | None = None) -> AssumePlan:
        """Check the duration against what AWS allows; raises before any code is asked for."""
        seconds = duration if duration is not None else role.duration
        caller = self.caller(role.source_profile)
        role_max = self.role_max(role)
        warning = None
        if duration is None and caller.chained and seconds > CHAINED_MAX:
            # the role's default, not the operator's ask: apply AWS's cap and say so
            seconds = CHAINED_MAX
            warning = (
                f"role {role.name}: 1h instead of its {format_duration(role.duration)}: its "
                f"source ({role.source_profile or 'the default credentials'}) gives role "
                "credentials (Identity Center's are), and AWS caps role chaining at 1h"
            )
        check_duration(seconds, role_max, caller.chained)
        return AssumePlan(
            role=role,
            duration=seconds,
            role_max=role_max,
            chained=caller.chained,
            mfa_serial=self.mfa_serial(role),
            session_name=session_name_for(caller.arn),
            warning=warning or chaining_warning(caller.chained, seconds),
        )

    def assume(
        self,
        role: RoleSpec,
        duration: int | None = None,
        code_source: CodeSource | None = None,
        *,
        on_wait: Callable[[int], None] | None = None,
        use_cache: bool = True,
        on_retry: Callable[[str], None] | None = None,
    ) -> Credentials:
        """The role's credentials: from the cache, else AssumeRole with an unused MFA code.

        `on_wait(seconds_left)` is called each second while waiting for the next TOTP window;
        `on_retry(notice)` when a refused code is retried with the next window's (mfa_retry).
        """
        if use_cache:
            found = self.cached(role)
            if found is not None:
                return found
        plan = self.prepare(role, duration)
        kwargs: dict[str, Any] = {
            "RoleArn": role.arn,
            "RoleSessionName": plan.session_name,
            "DurationSeconds": plan.duration,
        }
        if role.external_id:
            kwargs["ExternalId"] = role.external_id
        if plan.mfa_serial and code_source is None:
            raise AuthError(
                f"role {role.name} needs an MFA code",
                "pass --mfa-code, or set [mfa] totp_secret_env or totp_command in the config",
            )
        answer = assume_with_mfa(
            lambda args: self._sts(role.source_profile).assume_role(**args),
            kwargs,
            plan.mfa_serial,
            code_source,
            self.mfa_state,
            lambda exc: translate_error(exc, role, role.source_profile),
            clock=self.clock,
            sleep=self.sleep,
            on_wait=on_wait,
            on_retry=on_retry,
        )
        raw = answer["Credentials"]
        expiration = raw["Expiration"]
        if isinstance(expiration, str):
            expiration = datetime.fromisoformat(expiration.replace("Z", "+00:00"))
        if expiration.tzinfo is None:
            expiration = expiration.replace(tzinfo=UTC)
        creds = Credentials(
            access_key_id=raw["AccessKeyId"],
            secret_access_key=raw["SecretAccessKey"],
            session_token=raw.get("SessionToken"),
            expiration=expiration.astimezone(UTC),
            role_name=role.name,
            role_arn=role.arn,
        )
        caller = self.caller(role.source_profile)
        self.cache.put(creds, role.source_profile, caller.access_key_id)
        return creds

    def forget(self, role: RoleSpec) -> None:
        """Drop this role's cached credentials for the current base identity."""
        try:
            key_id = self.base_access_key_id(role.source_profile)
        except SessiontuiError:
            return
        self.cache.forget(role.arn, role.source_profile, key_id)

    def logout(self) -> int:
        """Forget every cached role credential (--logout); returns how many were removed."""
        return self.cache.wipe()


def code_source_for(
    mfa: MfaConfig, *, typed: str | None = None, ask: AskCode | None = None
) -> CodeSource | None:
    """--mfa-code (`typed`) wins, then [mfa] totp_secret_env / totp_command, then the UI's `ask`."""
    return make_code_source(mfa.totp_secret_env, mfa.totp_command, typed=typed, ask=ask)


# -- the role picker ---------------------------------------------------------------------------


class HasRoles(Protocol):
    """A Config, as far as the picker reads it."""

    @property
    def roles(self) -> Mapping[str, RoleSpec]: ...


@dataclass(frozen=True)
class RoleRow:
    name: str
    arn: str
    duration: int  # default seconds
    max_duration: int | None  # when known
    remaining: float | None  # seconds of cached credentials, None when none usable
    origin: str  # "config" or "aws-profile:NAME"
    reason_required: bool
    scope: Mapping[str, str]


def roles_for_picker(
    roles: Mapping[str, RoleSpec] | HasRoles,
    cache: CredentialCache,
    clock: Clock | None = None,
    known_max: Mapping[str, int | None] | None = None,
) -> list[RoleRow]:
    """Rows for the role picker, config roles first (file order), then AWS profiles by name.

    `roles` is a Config or its `.roles`; `known_max` (arn -> seconds) adds maxima learnt from IAM.
    No AWS call: safe on the UI thread.
    """
    specs = roles if isinstance(roles, Mapping) else roles.roles
    if clock is not None and cache.clock is not clock:
        cache = CredentialCache(cache.directory, clock=clock, margin=cache.margin)
    ordered = [r for r in specs.values() if r.origin == "config"] + sorted(
        (r for r in specs.values() if r.origin != "config"), key=lambda r: r.name.casefold()
    )
    return [
        RoleRow(
            name=r.name,
            arn=r.arn,
            duration=r.duration,
            max_duration=r.max_duration
            if r.max_duration is not None
            else (known_max or {}).get(r.arn),
            remaining=cache.status(r),
            origin=r.origin,
            reason_required=r.reason_required,
            scope=dict(r.scope),
        )
        for r in ordered
    ]
