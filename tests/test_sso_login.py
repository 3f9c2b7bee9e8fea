"""The Identity Center device sign-in against the sandbox's sso-oidc: approved, denied, expired,
slow_down, cancelled, refresh and a refused refresh, and `sessiontui --sso-login` as the operator
runs it (URL and code on stderr, exit codes, the token in the AWS CLI's cache and nowhere else)."""

from __future__ import annotations

import hashlib
import json
import os
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.utils import JSONFileCache, SSOTokenLoader

from cli_support import audit_path, cli_env
from sessiontui.aws.clients import ClientFactory
from sessiontui.aws.sso_device import DeviceSignIn, SignInCancelled, SignInFailed
from sessiontui.aws.sso_token import SignInRequired, TokenCache, TokenSource
from sessiontui.aws_profiles import find_sso_session
from sessiontui.core.errors import ExitCode, UsageError
from sessiontui.core.sso import DeviceCode, SsoSession
from sessiontui_sandbox import Sandbox
from sso_support import answer

CALLER_IDENTITY = (
    "import sys, boto3; "
    "print(boto3.Session(profile_name=sys.argv[1]).client('sts').get_caller_identity()['Arn'])"
)


@pytest.fixture
def env(
    sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[dict[str, str]]:
    home = tmp_path / "home"
    home.mkdir()
    values = cli_env(sandbox, home)
    for key in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "DISPLAY", "WAYLAND_DISPLAY"):
        monkeypatch.delenv(key, raising=False)
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    sandbox.clear_faults()
    sandbox.sso_auto_approve = False
    yield values
    sandbox.clear_faults()
    sandbox.sso_auto_approve = False
    sandbox.sso_access_token_seconds = 8 * 3600
    sandbox.sso_session_seconds = 8 * 3600


def _session() -> SsoSession:
    return find_sso_session("sandbox")


def _answer(sandbox: Sandbox, user_code: str, decision: str) -> str:
    """What the operator does on the verification page: press Approve or Deny."""
    status, text = answer(sandbox, user_code, decision)
    assert status == 200, text
    return text


def _approving(sandbox: Sandbox, decision: str = "approve") -> Any:
    shown: list[DeviceCode] = []

    def on_code(code: DeviceCode) -> None:
        shown.append(code)
        assert decision in _answer(sandbox, code.user_code, decision).lower().replace("ied", "y")

    return on_code, shown


def test_device_sign_in_writes_the_aws_cli_cache(sandbox: Sandbox, env: dict[str, str]) -> None:
    session = _session()
    on_code, shown = _approving(sandbox)
    token = DeviceSignIn(session, ClientFactory()).run(on_code)
    code = shown[0]
    assert code.verification_uri == f"{sandbox.endpoint_url}/_sandbox/device"
    assert code.user_code in code.verification_uri_complete
    assert 500 < (code.expires_at - token.expires_at).total_seconds() + 8 * 3600 < 700
    path = Path(env["HOME"]) / ".aws/sso/cache" / f"{hashlib.sha1(b'sandbox').hexdigest()}.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    loaded = SSOTokenLoader(cache=JSONFileCache(str(path.parent)))(
        sandbox.sso_start_url, session_name="sandbox"
    )
    assert loaded["accessToken"] == token.access_token
    assert loaded["refreshToken"] == token.refresh_token
    assert set(loaded) == {
        "startUrl",
        "region",
        "accessToken",
        "expiresAt",
        "refreshToken",
        "clientId",
        "clientSecret",
        "registrationExpiresAt",
    }
    # the AWS CLI's engine takes it from there (another process, as `aws` is: botocore fixes
    # the cache folder from HOME at import): a profile of that sso-session gets role keys
    arn = subprocess.run(
        [sys.executable, "-c", CALLER_IDENTITY, "Production-ProductionAccess"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=True,
    ).stdout.strip()
    assert arn.startswith("arn:aws:sts::210987654321:assumed-role/AWSReservedSSO_ProductionAccess_")
    # a second sign-in reuses the registration kept with the token
    registered = sandbox.calls[("sso-oidc", "RegisterClient")]
    on_code, _ = _approving(sandbox)
    again = DeviceSignIn(session, ClientFactory()).run(on_code)
    assert again.client_id == token.client_id
    assert sandbox.calls[("sso-oidc", "RegisterClient")] == registered


def test_denied_code(sandbox: Sandbox, env: dict[str, str]) -> None:
    on_code, _ = _approving(sandbox, "deny")
    with pytest.raises(SignInFailed) as err:
        DeviceSignIn(_session(), ClientFactory()).run(on_code)
    assert err.value.kind == "denied" and err.value.exit_code == ExitCode.AUTH
    assert not TokenCache().path(_session()).exists()


def test_expired_code(sandbox: Sandbox, env: dict[str, str]) -> None:
    def on_code(code: DeviceCode) -> None:
        sandbox.clock_offset = 601  # the operator went for coffee

    with pytest.raises(SignInFailed, match="expired before it was approved") as err:
        DeviceSignIn(_session(), ClientFactory()).run(on_code)
    assert err.value.kind == "expired"


def test_slow_down_adds_five_seconds(sandbox: Sandbox, env: dict[str, str]) -> None:
    """Another poller of the same device code (a second window of the tool) makes ours too fast:
    sso-oidc says slow_down, and the next poll waits 5 s more."""
    ic = sandbox.state.identity_center
    polled: list[float] = []

    def on_code(code: DeviceCode) -> None:
        device = ic.device_by_user_code(code.user_code)
        assert device is not None

        def other_poller() -> None:
            time.sleep(0.6)
            ic.devices[device.device_code].last_poll = sandbox.state.now()
            polled.append(time.monotonic())
            time.sleep(2)
            _answer(sandbox, code.user_code, "approve")

        threading.Thread(target=other_poller, daemon=True).start()

    started = time.monotonic()
    token = DeviceSignIn(_session(), ClientFactory()).run(on_code)
    took = time.monotonic() - started
    assert token.access_token
    assert polled and 1 + 6 - 0.5 < took < 1 + 6 + 3, took  # 1 s, slow_down, then 6 s


def test_cancel_stops_the_wait_at_once(sandbox: Sandbox, env: dict[str, str]) -> None:
    cancel = threading.Event()
    sign_in = DeviceSignIn(_session(), ClientFactory(), cancel=cancel)
    started = time.monotonic()
    with pytest.raises(SignInCancelled):
        sign_in.run(lambda code: cancel.set())
    assert time.monotonic() - started < 1


def test_unknown_start_url_is_a_config_error(sandbox: Sandbox, env: dict[str, str]) -> None:
    wrong = SsoSession("sandbox", "https://nobody.awsapps.com/start", "us-east-1")
    with pytest.raises(UsageError, match="does not know the start URL"):
        DeviceSignIn(wrong, ClientFactory()).run(lambda code: None)


def test_refresh_before_the_end_and_a_refused_refresh(
    sandbox: Sandbox, env: dict[str, str]
) -> None:
    session = _session()
    sandbox.sso_access_token_seconds = 600  # inside the 15-minute refresh window at once
    sandbox.sso_session_seconds = 3600
    on_code, _ = _approving(sandbox)
    first = DeviceSignIn(session, ClientFactory()).run(on_code)
    source = TokenSource(session, ClientFactory())
    fresh = source.token()
    assert fresh.access_token != first.access_token
    assert TokenCache().load(session) == fresh  # saved for the AWS CLI too
    assert sandbox.calls[("sso-oidc", "CreateToken")] >= 2
    # past the Identity Center session: the refresh is refused, the way back is a sign-in
    sandbox.clock_offset = 3700
    source.clock = _Shifted(3700)
    with pytest.raises(SignInRequired) as err:
        source.token()
    assert "refused to refresh" in err.value.message
    assert "--sso-login sandbox" in (err.value.hint or "")


class _Shifted:
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def now(self) -> Any:
        from datetime import UTC, datetime, timedelta

        return datetime.now(UTC) + timedelta(seconds=self.seconds)

    def time(self) -> float:
        return time.time() + self.seconds


# -- the command ----------------------------------------------------------------------------------


def _popen(env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "sessiontui", "--sso-login", *args],
        stderr=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        env=env,
    )


def _read_code(proc: subprocess.Popen[str]) -> tuple[str, list[str]]:
    assert proc.stderr is not None
    lines: list[str] = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line:
            break
        lines.append(line)
        if "enter the code" in line:
            return line.split("enter the code ")[1].split()[0], lines
    raise AssertionError("no code shown: " + "".join(lines))


def _finish(proc: subprocess.Popen[str]) -> tuple[str, str]:
    """The rest of the output: read through the same buffered pipes as `_read_code` (communicate()
    would read the raw fds and lose what the buffer already holds)."""
    assert proc.stdout is not None and proc.stderr is not None
    proc.wait(timeout=30)
    return proc.stdout.read(), proc.stderr.read()


def test_sso_login_command(sandbox: Sandbox, env: dict[str, str]) -> None:
    proc = _popen(env, "sandbox", "--no-browser")
    code, lines = _read_code(proc)
    assert f"open {sandbox.endpoint_url}/_sandbox/device and enter the code {code}" in lines[-1]
    cmdline = Path(f"/proc/{proc.pid}/cmdline").read_bytes().decode()
    _answer(sandbox, code, "approve")
    out, err = _finish(proc)
    assert proc.returncode == 0, err
    err = "".join(lines) + err
    assert "not opening a browser (--no-browser)" in err
    assert "signed in to sandbox" in err and "renewed by its refresh token" in err
    cache = TokenCache().load(_session())
    assert cache is not None
    audit = audit_path(Path(env["HOME"])).read_text()
    assert json.loads(audit.splitlines()[-1])["event"] == "sso_signed_in"
    for secret in (cache.access_token, cache.refresh_token, cache.client_secret):
        assert secret and secret not in out + err + audit + cmdline


def test_sso_login_command_denied_and_no_display(sandbox: Sandbox, env: dict[str, str]) -> None:
    proc = _popen(env)  # the only sso-session; DISPLAY unset: no browser
    code, lines = _read_code(proc)
    _answer(sandbox, code, "deny")
    _, err = _finish(proc)
    assert proc.returncode == 3
    err = "".join(lines) + err
    assert "no display here" in err
    assert "was denied" in err and "Traceback" not in err


def test_sso_login_command_unknown_session(sandbox: Sandbox, env: dict[str, str]) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "sessiontui", "--sso-login", "nope"],
        capture_output=True,
        text=True,
        env=env,
        timeout=30,
        stdin=subprocess.DEVNULL,
    )
    assert out.returncode == 2
    assert "named 'nope' (sso-sessions: sandbox)" in out.stderr
    assert os.environ.get("DISPLAY") is None
