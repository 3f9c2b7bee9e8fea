"""A code AWS refuses because another machine spent its window: wait for the next one, try once.

Against the real sandbox STS, which refuses a (device, window) pair it has seen, as AWS does.
"Another machine" is a plain boto3 AssumeRole with this window's code from the test: our window
state (a fresh state folder per service here) cannot know about it, which is the point.

Time: the services run on a FakeClock and every injected sleep moves the sandbox's clock too,
so the wait for the next window takes no real time (the real-time, two-process version is
tests/test_cli_mfa_race.py).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyotp
import pytest

from sandbox_support import client
from sessiontui.aws.clients import ClientFactory
from sessiontui.aws.credcache import CredentialCache
from sessiontui.aws.identity import MFA_REFUSED, IdentityService
from sessiontui.aws.metering import CallMeter
from sessiontui.aws.mfa import EnvSecretSource, InteractiveSource, MfaState, TypedCode
from sessiontui.aws.mfa_retry import MFA_REFUSED_AGAIN
from sessiontui.config import load_config
from sessiontui.core.clock import FakeClock
from sessiontui.core.errors import AuthError, ExitCode
from sessiontui.core.mfa_window import STEP, window_of
from sessiontui.core.roles import RoleSpec
from sessiontui_sandbox.demo import DEMO_MFA_SERIAL, DEMO_TOTP_SECRET

ACCOUNT = "123456789012"
TOTP = pyotp.TOTP(DEMO_TOTP_SECRET, interval=STEP)


def role(name: str = "FleetAdmin") -> RoleSpec:
    return RoleSpec(name, f"arn:aws:iam::{ACCOUNT}:role/{name}", 900, mfa_serial=None)


@pytest.fixture
def env(sandbox: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    for key, value in sandbox.env().items():
        monkeypatch.setenv(key, value)
    for key in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_DEFAULT_PROFILE"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    # past every window other tests (and modules) spent on this sandbox
    sandbox.clock_offset = sandbox.clock_offset + 4 * STEP
    return sandbox


@pytest.fixture
def clock(env: Any) -> FakeClock:
    return FakeClock(env.state.now())


@pytest.fixture
def sleep(env: Any, clock: FakeClock) -> Callable[[float], None]:
    def both(seconds: float) -> None:
        clock.advance(seconds)
        env.clock_offset = env.clock_offset + seconds

    return both


class Metered:
    def __init__(self, inner: ClientFactory, meter: CallMeter) -> None:
        self.inner = inner
        self.session = inner.session
        self.profile = inner.profile
        self.credentials = inner.credentials
        self.meter = meter

    def client(self, service: str, region: str | None = None) -> Any:
        return self.meter.attach(self.inner.client(service, region))


def service(
    clock: FakeClock, sleep: Callable[[float], None], meter: CallMeter, home: Path
) -> IdentityService:
    """One machine: its own credential cache and its own MFA window state."""
    return IdentityService(
        lambda profile: Metered(ClientFactory(profile=profile), meter),
        clock=clock,
        cache=CredentialCache(home / "cache", clock=clock),
        mfa_state=MfaState(home / "state"),
        default_mfa_serial=DEMO_MFA_SERIAL,
        sleep=sleep,
    )


def spend_window_elsewhere(sandbox: Any, clock: FakeClock) -> int:
    """Another machine takes a role with this window's code; returns the window."""
    window = window_of(clock.time())
    sts = client(sandbox, "sts")
    sts.assume_role(
        RoleArn=role("StagingDev").arn,
        RoleSessionName="other-machine",
        SerialNumber=DEMO_MFA_SERIAL,
        TokenCode=TOTP.at(window * STEP),
    )
    return window


def test_secret_code_spent_by_another_machine_is_retried_with_the_next_window(
    env: Any, clock: FakeClock, sleep: Callable[[float], None], tmp_path: Path
) -> None:
    window = spend_window_elsewhere(env, clock)
    meter = CallMeter()
    notices: list[str] = []
    ticks: list[int] = []
    ids = service(clock, sleep, meter, tmp_path / "this-machine")
    creds = ids.assume(
        role(),
        None,
        EnvSecretSource("SESSIONTUI_DEMO_TOTP"),
        on_wait=ticks.append,
        on_retry=notices.append,
    )
    assert creds.role_name == "FleetAdmin" and creds.session_token
    assert meter.calls["AssumeRole"] == 2  # refused once, then the next window's code
    assert len(notices) == 1
    assert notices[0].startswith("MFA code refused (already used: another sessiontui or machine")
    assert "trying once more with the next code in" in notices[0]
    assert ticks and ticks == sorted(ticks, reverse=True)  # the countdown ran down to it
    assert window_of(clock.time()) == window + 1
    assert MfaState(tmp_path / "this-machine" / "state").last_window(DEMO_MFA_SERIAL) == window + 1
    # the code never stays anywhere the notice or an error could show it
    assert TOTP.at(window * STEP) not in notices[0]


def test_prompt_code_refused_waits_and_asks_again(
    env: Any, clock: FakeClock, sleep: Callable[[float], None], tmp_path: Path
) -> None:
    spend_window_elsewhere(env, clock)
    asked: list[int] = []

    def ask(serial: str) -> str:
        assert serial == DEMO_MFA_SERIAL
        asked.append(window_of(clock.time()))
        return TOTP.at(clock.time())  # what the authenticator app shows right now

    meter = CallMeter()
    notices: list[str] = []
    creds = service(clock, sleep, meter, tmp_path / "m").assume(
        role(), None, InteractiveSource(ask), on_retry=notices.append
    )
    assert creds.role_name == "FleetAdmin"
    assert asked == [asked[0], asked[0] + 1]  # asked again, for the next window's code
    assert len(notices) == 1 and "mistyped, or already used" in notices[0]
    assert meter.calls["AssumeRole"] == 2


def test_typed_code_refused_is_not_retried(
    env: Any, clock: FakeClock, sleep: Callable[[float], None], tmp_path: Path
) -> None:
    window = spend_window_elsewhere(env, clock)
    meter = CallMeter()
    notices: list[str] = []
    with pytest.raises(AuthError) as info:
        service(clock, sleep, meter, tmp_path / "m").assume(
            role(), None, TypedCode(TOTP.at(window * STEP)), on_retry=notices.append
        )
    assert info.value.message == MFA_REFUSED and info.value.exit_code == ExitCode.AUTH
    assert notices == [] and meter.calls["AssumeRole"] == 1
    assert window_of(clock.time()) == window  # no wait either


def test_wrong_secret_gives_up_after_one_retry(
    env: Any,
    clock: FakeClock,
    sleep: Callable[[float], None],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("NOT_THE_DEVICE", pyotp.random_base32())
    meter = CallMeter()
    notices: list[str] = []
    window = window_of(clock.time())
    with pytest.raises(AuthError) as info:
        service(clock, sleep, meter, tmp_path / "m").assume(
            role(), None, EnvSecretSource("NOT_THE_DEVICE"), on_retry=notices.append
        )
    assert info.value.message == MFA_REFUSED_AGAIN
    assert "$NOT_THE_DEVICE" in (info.value.hint or "")
    assert info.value.exit_code == ExitCode.AUTH
    assert meter.calls["AssumeRole"] == 2 and len(notices) == 1
    assert window_of(clock.time()) == window + 1


def test_other_refusals_are_not_retried(
    env: Any, clock: FakeClock, sleep: Callable[[float], None], tmp_path: Path
) -> None:
    meter = CallMeter()
    notices: list[str] = []
    nobody = RoleSpec("Nobody", f"arn:aws:iam::{ACCOUNT}:role/Nobody", 900)
    with pytest.raises(AuthError, match="not authorised to assume role Nobody"):
        service(clock, sleep, meter, tmp_path / "m").assume(
            nobody, None, EnvSecretSource("SESSIONTUI_DEMO_TOTP"), on_retry=notices.append
        )
    assert notices == [] and meter.calls["AssumeRole"] == 1


async def test_tui_modal_says_so_and_takes_the_role_with_the_next_code(
    env: Any, clock: FakeClock, tmp_path: Path
) -> None:
    from sessiontui.access.iam_role import role_offer
    from sessiontui.ui.app import SessiontuiApp
    from sessiontui.ui.screens.mfa import AssumeScreen
    from sessiontui.ui.screens.roles import RoleChoice
    from sessiontui.ui.services import AppServices
    from test_ui_support import settle

    config = load_config()
    factory = ClientFactory()
    shown: list[Any] = []
    seen: list[str] = []

    def sleep(seconds: float) -> None:
        # hold the worker's wait until the modal has shown it (the UI thread may be slow)
        deadline = time.monotonic() + 5
        while shown and time.monotonic() < deadline:
            if "AWS refused the code" in shown[0].status_text:
                break
            time.sleep(0.02)
        if shown:
            seen.append(shown[0].status_text)
        clock.advance(seconds)
        env.clock_offset = env.clock_offset + seconds

    identity = IdentityService.from_config(
        config, lambda _p: factory, clock=clock, sleep=sleep, region="us-east-1"
    )
    app = SessiontuiApp(
        AppServices(
            factory=factory,
            regions=list(env.regions),
            clock=clock,
            config=config,
            identity=identity,
        )
    )
    async with app.run_test(size=(180, 50)) as pilot:
        await settle(app, pilot)
        spend_window_elsewhere(env, clock)
        offer = role_offer(config.roles["FleetAdmin"])
        app.access.take_role(RoleChoice(offer, 900), use_cache=False)
        modal = app.screen
        assert isinstance(modal, AssumeScreen)
        shown.append(modal)
        deadline = time.monotonic() + 20
        while app.access.active is None:
            assert time.monotonic() < deadline, modal.status_text
            await pilot.pause(0.05)
        assert app.access.active.name == "FleetAdmin"
        assert any(
            "AWS refused the code" in s and "trying once more with the next code in" in s
            for s in seen
        ), seen
