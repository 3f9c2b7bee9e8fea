"""JIT roles against the real sandbox STS: codes checked, reuse refused, limits enforced.

Time: the client runs on a FakeClock and every injected sleep also moves the sandbox's clock
(`clock_offset`), so waiting for the next TOTP window takes no real time and both sides agree.
The MFA window state is shared by the whole module, as it is by every run of one operator,
because the sandbox remembers used windows for the module's lifetime too.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pyotp
import pytest

from sessiontui.aws.clients import ClientFactory
from sessiontui.aws.credcache import CredentialCache
from sessiontui.aws.identity import MFA_REFUSED, IdentityService
from sessiontui.aws.metering import CallMeter
from sessiontui.aws.mfa import EnvSecretSource, MfaState, TypedCode
from sessiontui.config import load_config
from sessiontui.core.clock import FakeClock
from sessiontui.core.credentials import Credentials
from sessiontui.core.errors import AuthError, ExitCode
from sessiontui.core.mfa_window import window_of
from sessiontui.core.roles import RoleSpec

pytest.importorskip("sessiontui_sandbox.server", reason="the sandbox is not there yet")

from sessiontui_sandbox import Sandbox
from sessiontui_sandbox import server as sandbox_server
from sessiontui_sandbox.demo import DEMO_MFA_SERIAL, DEMO_TOTP_SECRET

ACCOUNT = "123456789012"


def role(name: str, duration: int = 3600) -> RoleSpec:
    return RoleSpec(name, f"arn:aws:iam::{ACCOUNT}:role/{name}", duration, mfa_serial=None)


@pytest.fixture(scope="module")
def sb(request: pytest.FixtureRequest) -> Iterator[Any]:
    # one Sandbox per process (moto's state is process-wide): use the conftest's shared one
    try:
        shared = request.getfixturevalue("sandbox")
    except pytest.FixtureLookupError:
        shared = getattr(sandbox_server, "_active", None)
    if shared is not None:
        yield from _fresh_windows(shared)
    else:
        with Sandbox() as sandbox:
            yield from _fresh_windows(sandbox)


def _fresh_windows(sandbox: Any) -> Iterator[Any]:
    """Start three windows ahead, past any code other modules spent; put the clock back after."""
    before = sandbox.clock_offset
    sandbox.clock_offset = before + 90
    try:
        yield sandbox
    finally:
        sandbox.clock_offset = before


@pytest.fixture(scope="module")
def shared_state(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("mfa-state")


@pytest.fixture
def env(
    sb: Any, tmp_path: Path, shared_state: Path, monkeypatch: pytest.MonkeyPatch
) -> dict[str, str]:
    for key, value in sb.env().items():
        monkeypatch.setenv(key, value)
    for key in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_DEFAULT_PROFILE"):
        monkeypatch.delenv(key, raising=False)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("XDG_STATE_HOME", str(shared_state))
    return dict(sb.env())


@pytest.fixture
def clock(sb: Any, env: dict[str, str]) -> FakeClock:
    return FakeClock(sb.state.now())


@pytest.fixture
def sleep(sb: Any, clock: FakeClock) -> Callable[[float], None]:
    def both(seconds: float) -> None:
        clock.advance(seconds)
        sb.clock_offset = sb.clock_offset + seconds

    return both


class Metered:
    """A ClientFactory whose clients count their calls."""

    def __init__(self, inner: ClientFactory, meter: CallMeter) -> None:
        self.inner = inner
        self.session = inner.session
        self.profile = inner.profile
        self.credentials = inner.credentials
        self.meter = meter

    def client(self, service: str, region: str | None = None) -> Any:
        return self.meter.attach(self.inner.client(service, region))


def make_service(
    clock: FakeClock,
    sleep: Callable[[float], None],
    meter: CallMeter,
    *,
    cache_dir: Path | None = None,
    base: Credentials | None = None,
    state_dir: Path | None = None,
) -> IdentityService:
    return IdentityService(
        lambda profile: Metered(ClientFactory(profile=profile, credentials=base), meter),
        clock=clock,
        cache=CredentialCache(cache_dir, clock=clock),
        mfa_state=MfaState(state_dir),
        default_mfa_serial=DEMO_MFA_SERIAL,
        sleep=sleep,
    )


def secret() -> EnvSecretSource:
    return EnvSecretSource("SESSIONTUI_DEMO_TOTP")


def test_demo_config_loads(env: dict[str, str]) -> None:
    config = load_config()
    assert {"ProdOps", "StagingDev", "FleetAdmin"} <= set(config.roles)
    assert config.mfa.serial == DEMO_MFA_SERIAL
    assert config.mfa.totp_secret_env == "SESSIONTUI_DEMO_TOTP"
    assert config.run.role == "FleetAdmin"  # --run without --role (the base user may not send)


def test_right_code_gives_working_role_credentials(
    env: dict[str, str], clock: FakeClock, sleep: Callable[[float], None]
) -> None:
    meter = CallMeter()
    ids = make_service(clock, sleep, meter)
    creds = ids.assume(role("FleetAdmin"), 2 * 3600, secret())
    assert creds.role_name == "FleetAdmin" and creds.session_token
    assert creds.expiration is not None
    assert abs((creds.expiration - clock.now()).total_seconds() - 7200) < 120
    sts = boto3.client("sts", region_name="us-east-1", **creds.boto_kwargs())
    arn = sts.get_caller_identity()["Arn"]
    assert arn == f"arn:aws:sts::{ACCOUNT}:assumed-role/FleetAdmin/operator"
    assert meter.calls["AssumeRole"] == 1


def test_second_assume_within_lifetime_makes_no_call(
    env: dict[str, str], clock: FakeClock, sleep: Callable[[float], None]
) -> None:
    meter = CallMeter()
    first = make_service(clock, sleep, meter).assume(role("StagingDev"), None, secret())
    sleep(1800)
    # another run of the app: new service, same cache folder
    second = make_service(clock, sleep, meter).assume(role("StagingDev"), None, secret())
    assert second == first
    assert meter.calls["AssumeRole"] == 1
    sleep(3600 - 1800 - 110)  # inside the last two minutes: a new AssumeRole
    third = make_service(clock, sleep, meter).assume(role("StagingDev"), None, secret())
    assert third.access_key_id != first.access_key_id
    assert meter.calls["AssumeRole"] == 2


def wrong_code(at: float) -> str:
    totp = pyotp.TOTP(DEMO_TOTP_SECRET)
    near = {totp.at(at + d) for d in (-60, -30, 0, 30, 60)}
    return next(c for c in (f"{n:06d}" for n in range(1000000)) if c not in near)


def test_wrong_code_refused_in_plain_words(
    env: dict[str, str], clock: FakeClock, sleep: Callable[[float], None]
) -> None:
    meter = CallMeter()
    ids = make_service(clock, sleep, meter)
    sleep(30)  # a window nobody used
    with pytest.raises(AuthError) as info:
        ids.assume(role("ProdOps"), None, TypedCode(wrong_code(clock.time())))
    assert info.value.message == MFA_REFUSED
    assert info.value.exit_code == ExitCode.AUTH
    assert meter.calls["AssumeRole"] == 1


def test_code_reused_by_another_tool_is_refused(
    env: dict[str, str], clock: FakeClock, sleep: Callable[[float], None], tmp_path: Path
) -> None:
    sleep(30)
    code = pyotp.TOTP(DEMO_TOTP_SECRET).at(clock.time())
    meter = CallMeter()
    make_service(clock, sleep, meter).assume(role("ProdOps"), None, TypedCode(code))
    # the same code through a tool that keeps no window state of ours (an empty state folder)
    other = make_service(
        clock, sleep, meter, cache_dir=tmp_path / "other-cache", state_dir=tmp_path / "other"
    )
    with pytest.raises(AuthError) as info:
        other.assume(role("ProdOps"), None, TypedCode(code))
    assert info.value.message == MFA_REFUSED
    # and our own state refuses it before asking AWS at all
    ours = make_service(clock, sleep, meter, cache_dir=tmp_path / "third-cache")
    with pytest.raises(AuthError, match="window was already used; wait"):
        ours.assume(role("ProdOps"), None, TypedCode(code))
    assert meter.calls["AssumeRole"] == 2


def test_secret_source_waits_for_the_next_window_instead_of_reusing(
    env: dict[str, str], clock: FakeClock, sleep: Callable[[float], None], tmp_path: Path
) -> None:
    meter = CallMeter()
    make_service(clock, sleep, meter).assume(role("FleetAdmin"), None, secret())
    used = MfaState().last_window(DEMO_MFA_SERIAL)
    assert used == window_of(clock.time())
    ticks: list[int] = []
    ids = make_service(clock, sleep, meter, cache_dir=tmp_path / "empty-cache")
    creds = ids.assume(role("FleetAdmin"), None, secret(), on_wait=ticks.append)
    assert creds.role_name == "FleetAdmin"
    assert ticks and ticks[-1] == 1 and ticks == sorted(ticks, reverse=True)
    assert MfaState().last_window(DEMO_MFA_SERIAL) == used + 1
    assert meter.calls["AssumeRole"] == 2


def test_two_logins_from_empty_caches_in_one_window_both_succeed(
    env: dict[str, str], clock: FakeClock, sleep: Callable[[float], None], tmp_path: Path
) -> None:
    sleep(30)
    meter = CallMeter()
    a = make_service(clock, sleep, meter, cache_dir=tmp_path / "a")
    b = make_service(clock, sleep, meter, cache_dir=tmp_path / "b")
    window = window_of(clock.time())
    ca = a.assume(role("StagingDev"), None, secret())
    cb = b.assume(role("StagingDev"), None, secret())
    assert ca.access_key_id != cb.access_key_id
    assert window_of(clock.time()) == window + 1  # the second one waited
    assert meter.calls["AssumeRole"] == 2


def test_over_long_duration_refused_before_any_code(
    env: dict[str, str], clock: FakeClock, sleep: Callable[[float], None], tmp_path: Path
) -> None:
    meter = CallMeter()
    state_dir = tmp_path / "untouched"
    ids = make_service(clock, sleep, meter, state_dir=state_dir)
    with pytest.raises(AuthError, match="over the role's maximum of 1h") as info:
        ids.assume(role("StagingDev"), 2 * 3600, secret())
    assert info.value.exit_code == ExitCode.AUTH
    assert meter.calls["AssumeRole"] == 0
    assert MfaState(state_dir).last_window(DEMO_MFA_SERIAL) is None
    assert ids.prepare(role("ProdOps")).role_max == 4 * 3600  # learnt from iam:GetRole


def test_role_chaining_is_capped_at_one_hour(
    env: dict[str, str], clock: FakeClock, sleep: Callable[[float], None], tmp_path: Path
) -> None:
    meter = CallMeter()
    base = make_service(clock, sleep, meter).assume(role("FleetAdmin"), 4 * 3600, secret())
    chained = make_service(clock, sleep, meter, cache_dir=tmp_path / "chain", base=base)
    plan = chained.prepare(role("ProdOps"), 3600)
    assert plan.chained and plan.limit == 3600 and plan.warning
    before = meter.calls["AssumeRole"]
    with pytest.raises(AuthError, match="role chaining"):
        chained.assume(role("ProdOps"), 2 * 3600, secret())
    assert meter.calls["AssumeRole"] == before
    creds = chained.assume(role("ProdOps"), 3600, secret())
    assert creds.role_name == "ProdOps"


def test_server_side_limits_map_to_plain_words(
    env: dict[str, str], clock: FakeClock, sleep: Callable[[float], None]
) -> None:
    """If our checks are bypassed (max unknown), AWS's own refusal still reads well."""
    meter = CallMeter()
    ids = make_service(clock, sleep, meter)
    ids._role_max[role("StagingDev").arn] = None  # as when iam:GetRole is denied
    with pytest.raises(AuthError, match="duration over the role's maximum"):
        ids.assume(role("StagingDev"), 2 * 3600, secret())


def test_expired_base_credentials(
    env: dict[str, str], sb: Any, clock: FakeClock, sleep: Callable[[float], None], tmp_path: Path
) -> None:
    meter = CallMeter()
    base = make_service(clock, sleep, meter).assume(role("StagingDev"), 900, secret())
    sleep(1000)
    stale = make_service(clock, sleep, meter, cache_dir=tmp_path / "stale", base=base)
    with pytest.raises(AuthError, match="expired") as info:
        stale.assume(role("ProdOps"), 900, secret())
    assert info.value.exit_code == ExitCode.AUTH


def test_no_secret_or_code_in_any_file_written(
    env: dict[str, str], clock: FakeClock, sleep: Callable[[float], None], tmp_path: Path
) -> None:
    sent: list[str] = []
    meter = CallMeter()
    ids = make_service(clock, sleep, meter)

    def grab(params: dict[str, Any], **_: Any) -> None:
        if "TokenCode" in params:
            sent.append(params["TokenCode"])

    ids._sts(None).meta.events.register("provide-client-params.sts.AssumeRole", grab)
    for name in ("ProdOps", "FleetAdmin"):
        ids.assume(role(name), None, secret())
    assert len(sent) == 2
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    written += [p for p in MfaState().directory.rglob("*") if p.is_file()]
    assert any(p.suffix == ".json" for p in written)
    for path in written:
        text = path.read_text(errors="replace")
        assert DEMO_TOTP_SECRET not in text, path
        for code in sent:
            assert not re.search(rf"(?<!\w){code}(?!\w)", text), path


def test_credentials_expire_with_the_sandbox_clock(
    env: dict[str, str], clock: FakeClock, sleep: Callable[[float], None]
) -> None:
    meter = CallMeter()
    ids = make_service(clock, sleep, meter)
    creds = ids.assume(role("FleetAdmin"), 900, secret())
    assert creds.expiration is not None
    # the fake clock stands still while the sandbox's runs on: a few seconds of drift are no error
    assert creds.expiration - clock.now() <= timedelta(seconds=905)
    assert isinstance(creds.expiration, datetime) and creds.expiration.tzinfo is not None
