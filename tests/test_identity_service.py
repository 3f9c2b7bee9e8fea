"""IdentityService against stand-in clients: flow, checks before a code is spent, error words."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import (
    ClientError,
    NoCredentialsError,
    SSOTokenLoadError,
    TokenRetrievalError,
    UnauthorizedSSOTokenError,
)

from sessiontui.aws.credcache import CredentialCache
from sessiontui.aws.identity import (
    MFA_REFUSED,
    IdentityService,
    session_name_for,
    translate_error,
)
from sessiontui.aws.mfa import EnvSecretSource, MfaState, TypedCode
from sessiontui.core.clock import FakeClock
from sessiontui.core.errors import AuthError, ExitCode, SessiontuiError, UsageError
from sessiontui.core.roles import RoleSpec

START = datetime(2026, 11, 21, 12, 0, 10, tzinfo=UTC)
SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
SERIAL = "arn:aws:iam::123456789012:mfa/operator"
ROLE = RoleSpec("ProdOps", "arn:aws:iam::123456789012:role/ProdOps", 3600, mfa_serial=SERIAL)


def client_error(code: str, message: str = "", op: str = "AssumeRole") -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}}, op)


@dataclass
class FakeCreds:
    access_key: str


@dataclass
class FakeSession:
    key: str | None
    error: Exception | None = None

    def get_credentials(self) -> FakeCreds | None:
        if self.error:
            raise self.error
        return FakeCreds(self.key) if self.key else None


@dataclass
class FakeAws:
    """sts and iam in one object; records every call."""

    clock: FakeClock
    caller_arn: str = "arn:aws:iam::123456789012:user/alice smith"
    max_session: int | None = 4 * 3600
    fail_with: Exception | None = None
    calls: Counter[str] = field(default_factory=Counter)
    last_kwargs: dict[str, Any] = field(default_factory=dict)

    def get_caller_identity(self) -> dict[str, str]:
        self.calls["GetCallerIdentity"] += 1
        return {"Arn": self.caller_arn, "Account": "123456789012"}

    def get_role(self, RoleName: str) -> dict[str, Any]:
        self.calls["GetRole"] += 1
        if self.max_session is None:
            raise client_error("AccessDenied", "not allowed", "GetRole")
        return {"Role": {"RoleName": RoleName, "MaxSessionDuration": self.max_session}}

    def assume_role(self, **kwargs: Any) -> dict[str, Any]:
        self.calls["AssumeRole"] += 1
        self.last_kwargs = dict(kwargs)
        if self.fail_with:
            raise self.fail_with
        return {
            "Credentials": {
                "AccessKeyId": f"ASIAFAKE{self.calls['AssumeRole']:012d}",
                "SecretAccessKey": "s",
                "SessionToken": "t",
                "Expiration": self.clock.now() + timedelta(seconds=kwargs["DurationSeconds"]),
            }
        }


@dataclass
class FakeFactory:
    aws: FakeAws
    session: FakeSession
    # a named profile with no files behind it: the base key comes from the session, as for SSO
    profile: str | None = "fake"
    credentials: None = None

    def client(self, service: str, region: str | None = None) -> FakeAws:
        return self.aws


pytestmark = pytest.mark.usefixtures("private_home")  # conftest: tmp HOME and XDG folders


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
def aws(clock: FakeClock) -> FakeAws:
    return FakeAws(clock)


def service(
    aws: FakeAws, clock: FakeClock, key: str | None = "AKIABASE000000000001"
) -> IdentityService:
    return IdentityService(
        lambda profile: FakeFactory(aws, FakeSession(key)),
        clock=clock,
        cache=CredentialCache(clock=clock),
        mfa_state=MfaState(),
        sleep=clock.advance,
    )


def secret() -> EnvSecretSource:
    return EnvSecretSource("S", {"S": SECRET})


def test_assume_sends_what_aws_needs_and_caches(aws: FakeAws, clock: FakeClock) -> None:
    ids = service(aws, clock)
    creds = ids.assume(ROLE, 7200, secret())
    sent = aws.last_kwargs
    assert sent["RoleArn"] == ROLE.arn and sent["DurationSeconds"] == 7200
    assert sent["RoleSessionName"] == "alice-smith"
    assert sent["SerialNumber"] == SERIAL and len(sent["TokenCode"]) == 6
    assert creds.role_name == "ProdOps" and creds.role_arn == ROLE.arn
    assert creds.expiration == clock.now() + timedelta(seconds=7200)
    # a second run (new service, same cache folder) makes no AWS call at all
    again = service(aws, clock)
    assert again.assume(ROLE, None, secret()) == creds
    assert aws.calls["AssumeRole"] == 1
    assert again.cached(ROLE) == creds


def test_duration_over_role_max_refused_before_a_code(aws: FakeAws, clock: FakeClock) -> None:
    asked: list[str] = []

    class Spy(EnvSecretSource):
        def fetch(self, clock: Any) -> Any:
            asked.append("x")
            return super().fetch(clock)

    with pytest.raises(AuthError, match="over the role's maximum of 4h") as info:
        service(aws, clock).assume(ROLE, 5 * 3600, Spy("S", {"S": SECRET}))
    assert info.value.exit_code == ExitCode.AUTH
    assert not asked and aws.calls["AssumeRole"] == 0
    with pytest.raises(UsageError, match="minimum"):
        service(aws, clock).assume(ROLE, 600, secret())


def test_role_max_from_config_skips_iam(aws: FakeAws, clock: FakeClock) -> None:
    role = RoleSpec("R", ROLE.arn, 3600, max_duration=7200, mfa_serial=SERIAL)
    plan = service(aws, clock).prepare(role, 7200)
    assert plan.role_max == 7200 and aws.calls["GetRole"] == 0


def test_iam_access_denied_means_unknown_max(aws: FakeAws, clock: FakeClock) -> None:
    aws.max_session = None
    plan = service(aws, clock).prepare(ROLE, 12 * 3600)
    assert plan.role_max is None and plan.limit is None and not plan.chained


def test_iam_not_asked_for_another_account(aws: FakeAws, clock: FakeClock) -> None:
    role = RoleSpec("X", "arn:aws:iam::210987654321:role/X", 3600)
    assert service(aws, clock).prepare(role).role_max is None
    assert aws.calls["GetRole"] == 0


def test_chaining_detected_capped_and_warned(aws: FakeAws, clock: FakeClock) -> None:
    aws.caller_arn = "arn:aws:sts::123456789012:assumed-role/Base/alice@example.com"
    ids = service(aws, clock)
    plan = ids.prepare(ROLE, 3600)
    assert plan.chained and plan.limit == 3600
    assert plan.warning and "1h" in plan.warning
    assert plan.session_name == "alice@example.com"
    with pytest.raises(AuthError, match="role chaining"):
        ids.assume(ROLE, 7200, secret())
    assert aws.calls["AssumeRole"] == 0


def test_role_without_mfa_sends_no_code(aws: FakeAws, clock: FakeClock) -> None:
    role = RoleSpec("Plain", "arn:aws:iam::123456789012:role/Plain", 900)
    service(aws, clock).assume(role, None, None)
    assert "TokenCode" not in aws.last_kwargs and "SerialNumber" not in aws.last_kwargs


def test_mfa_serial_resolution(aws: FakeAws, clock: FakeClock) -> None:
    role = RoleSpec("Plain", "arn:aws:iam::123456789012:role/Plain", 900, source_profile="p")
    ids = IdentityService(
        lambda p: FakeFactory(aws, FakeSession("AKIA1")),
        clock=clock,
        profile_mfa_serial=lambda p: f"arn:aws:iam::123456789012:mfa/{p}",
    )
    assert ids.mfa_serial(role) == "arn:aws:iam::123456789012:mfa/p"
    ids.default_mfa_serial = SERIAL
    assert ids.mfa_serial(role) == SERIAL
    assert ids.mfa_serial(ROLE) == SERIAL


def test_mfa_role_without_a_source_says_how(aws: FakeAws, clock: FakeClock) -> None:
    with pytest.raises(AuthError, match="needs an MFA code") as info:
        service(aws, clock).assume(ROLE, None, None)
    assert "--mfa-code" in (info.value.hint or "")


def test_refused_code_is_plain_words_and_window_stays_spent(aws: FakeAws, clock: FakeClock) -> None:
    aws.fail_with = client_error(
        "AccessDenied", "MultiFactorAuthentication failed with invalid MFA one time pass code. "
    )
    ids = service(aws, clock)
    with pytest.raises(AuthError) as info:
        ids.assume(ROLE, None, TypedCode("123456"))
    assert info.value.message == MFA_REFUSED
    # retrying the same code in the same window is refused without asking AWS
    with pytest.raises(AuthError, match="window was already used"):
        ids.assume(ROLE, None, TypedCode("123456"))
    assert aws.calls["AssumeRole"] == 1


def test_no_credentials(aws: FakeAws, clock: FakeClock) -> None:
    with pytest.raises(AuthError, match="no AWS credentials found") as info:
        service(aws, clock, key=None).assume(ROLE, None, secret())
    assert info.value.exit_code == ExitCode.AUTH and info.value.hint


@pytest.mark.parametrize(
    ("exc", "words"),
    [
        (
            client_error("AccessDenied", "User: x is not authorized to perform: sts:AssumeRole"),
            "not authorised to assume role ProdOps",
        ),
        (
            client_error(
                "ValidationError",
                "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.",
            ),
            "duration over the role's maximum",
        ),
        (
            client_error(
                "ValidationError",
                "The requested DurationSeconds exceeds the 1 hour "
                "session limit for roles assumed by role chaining.",
            ),
            "role chaining",
        ),
        (
            client_error("ExpiredToken", "The security token included in the request is expired"),
            "base credentials for profile ops have expired",
        ),
        (client_error("InvalidClientTokenId", "bad"), "were refused"),
        (client_error("Throttling", "slow down"), "AssumeRole ProdOps failed: Throttling"),
        (NoCredentialsError(), "no AWS credentials found"),
        (SSOTokenLoadError(error_msg="x"), "SSO session for profile ops"),
        (UnauthorizedSSOTokenError(), "SSO session"),
        (TokenRetrievalError(provider="sso", error_msg="x"), "SSO session"),
    ],
)
def test_error_words(exc: Exception, words: str) -> None:
    out = translate_error(exc, ROLE, "ops")
    assert isinstance(out, SessiontuiError)
    assert words in out.message
    if "SSO" in words:
        assert out.hint == "run: sessiontui --sso-login ops (or aws sso login --profile ops)"
    if words != "AssumeRole ProdOps failed: Throttling":
        assert out.exit_code == ExitCode.AUTH


def test_sso_error_while_resolving_base_credentials(aws: FakeAws, clock: FakeClock) -> None:
    ids = IdentityService(
        lambda p: FakeFactory(aws, FakeSession(None, UnauthorizedSSOTokenError())),
        clock=clock,
    )
    role = RoleSpec("R", ROLE.arn, 3600, source_profile="corp")
    assert ids.cached(role) is None
    with pytest.raises(AuthError) as info:
        ids.assume(role, None, secret())
    assert info.value.hint == "run: sessiontui --sso-login corp (or aws sso login --profile corp)"


@pytest.mark.parametrize(
    ("arn", "name"),
    [
        ("arn:aws:iam::123456789012:user/operator", "operator"),
        ("arn:aws:iam::123456789012:user/team/Bob Smith", "Bob-Smith"),
        ("arn:aws:sts::123456789012:assumed-role/SSO_Admin/jane.doe@corp.com", "jane.doe@corp.com"),
        ("arn:aws:iam::123456789012:root", "root"),
        ("arn:aws:iam::123456789012:user/" + "x" * 80, "x" * 64),
        ("arn:aws:iam::123456789012:user/é", "sessiontui"),
    ],
)
def test_session_name(arn: str, name: str) -> None:
    assert session_name_for(arn) == name


def test_logout_wipes(aws: FakeAws, clock: FakeClock) -> None:
    ids = service(aws, clock)
    ids.assume(ROLE, None, secret())
    assert ids.logout() == 1
    assert ids.cached(ROLE) is None


def test_botocore_never_prompts_for_a_profiles_mfa(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clock: FakeClock
) -> None:
    from sessiontui.aws.clients import ClientFactory

    aws_config = tmp_path / "aws-config"
    aws_config.write_text(
        "[profile base]\nregion = us-east-1\n\n"
        "[profile mfa-role]\nregion = us-east-1\nsource_profile = base\n"
        f"role_arn = {ROLE.arn}\nmfa_serial = {SERIAL}\n"
    )
    creds_file = tmp_path / "aws-credentials"
    creds_file.write_text("[base]\naws_access_key_id = AKIABASE\naws_secret_access_key = x\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(aws_config))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(creds_file))
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(var, raising=False)
    ids = IdentityService(lambda p: ClientFactory(profile=p), clock=clock)
    with pytest.raises(AuthError, match="does not let botocore prompt") as info:
        ids.base_access_key_id("mfa-role")
    assert "--role" in (info.value.hint or "")
    assert ids.base_access_key_id("base") == "AKIABASE"


def test_from_config_and_code_source_for(aws: FakeAws, clock: FakeClock) -> None:
    from sessiontui.aws.identity import code_source_for
    from sessiontui.aws.mfa import CommandSource, InteractiveSource
    from sessiontui.config import Config, MfaConfig

    config = Config(mfa=MfaConfig(serial=SERIAL, totp_command="pass otp aws"))
    ids = IdentityService.from_config(
        config, lambda p: FakeFactory(aws, FakeSession("AKIA1")), clock=clock
    )
    plain = RoleSpec("Plain", "arn:aws:iam::123456789012:role/Plain", 900)
    assert ids.mfa_serial(plain) == SERIAL
    assert isinstance(code_source_for(config.mfa), CommandSource)
    assert isinstance(code_source_for(config.mfa, typed="123456"), TypedCode)
    assert isinstance(code_source_for(MfaConfig(), ask=lambda s: None), InteractiveSource)
    assert code_source_for(MfaConfig()) is None
    ids.prepare(plain)
    assert ids.known_maxima() == {plain.arn: 4 * 3600}


def test_interactive_code_is_asked_with_the_device_serial(aws: FakeAws, clock: FakeClock) -> None:
    from sessiontui.aws.mfa import InteractiveSource

    asked: list[str] = []

    def ask(serial: str) -> str:
        asked.append(serial)
        return "123456"

    service(aws, clock).assume(ROLE, None, InteractiveSource(ask))
    assert asked == [SERIAL] and aws.last_kwargs["TokenCode"] == "123456"
