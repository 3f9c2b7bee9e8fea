"""MFA: window maths, code sources, and the used-window state shared between runs."""

from __future__ import annotations

import os
import stat
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path

import pyotp
import pytest

from sessiontui.aws.mfa import (
    CommandSource,
    EnvSecretSource,
    InteractiveSource,
    MfaState,
    TypedCode,
    make_code_source,
    obtain_code,
    validate_code,
)
from sessiontui.core.clock import FakeClock
from sessiontui.core.errors import AuthError, ExitCode, UsageError
from sessiontui.core.mfa_window import (
    current_window,
    seconds_left_in_window,
    seconds_until_next_window,
    wait_for_window,
    whole_seconds,
    window_of,
)

SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
SERIAL = "arn:aws:iam::123456789012:mfa/operator"
# 12:00:10 UTC: 10 s into a window
START = datetime(2026, 11, 21, 12, 0, 10, tzinfo=UTC)


pytestmark = pytest.mark.usefixtures("private_home")  # conftest: tmp HOME and XDG folders


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


def test_window_maths(clock: FakeClock) -> None:
    assert window_of(59.9) == 1 and window_of(60) == 2
    assert seconds_left_in_window(clock) == pytest.approx(20)
    assert seconds_until_next_window(clock) == pytest.approx(20)
    clock.advance(19.5)
    assert seconds_left_in_window(clock) == pytest.approx(0.5)
    assert whole_seconds(0.5) == 1 and whole_seconds(0) == 0 and whole_seconds(12.2) == 13


def test_wait_counts_down_each_second_with_injected_sleep(clock: FakeClock) -> None:
    clock.advance(7.5)  # 12.5 s left
    ticks: list[int] = []
    target = current_window(clock) + 1
    wait_for_window(target, clock, clock.advance, ticks.append)
    assert ticks == [13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1]
    assert current_window(clock) == target
    assert seconds_left_in_window(clock) == pytest.approx(30)


def test_wait_can_be_cancelled_by_the_tick(clock: FakeClock) -> None:
    def cancel(_: int) -> None:
        raise AuthError("MFA cancelled")

    with pytest.raises(AuthError):
        wait_for_window(current_window(clock) + 1, clock, clock.advance, cancel)


@pytest.mark.parametrize("good", ["123456", " 123 456 ", "000000"])
def test_validate_code_accepts(good: str) -> None:
    assert validate_code(good) == good.replace(" ", "")


@pytest.mark.parametrize("bad", ["", "12345", "1234567", "12345a", "abcdef"])
def test_validate_code_refuses_with_usage_exit(bad: str) -> None:
    with pytest.raises(UsageError) as info:
        TypedCode(bad)
    assert info.value.exit_code == ExitCode.USAGE


def test_env_secret_source(clock: FakeClock) -> None:
    source = EnvSecretSource("OPS_TOTP", {"OPS_TOTP": SECRET.lower()})
    code = source.fetch(clock)
    assert code.code == pyotp.TOTP(SECRET).at(clock.time())
    assert code.window == current_window(clock)
    assert SECRET not in repr(code) and code.code not in repr(code)


def test_env_secret_source_failures(clock: FakeClock) -> None:
    with pytest.raises(AuthError, match="OPS_TOTP is not set"):
        EnvSecretSource("OPS_TOTP", {}).fetch(clock)
    with pytest.raises(AuthError, match="does not hold a base32 TOTP secret") as info:
        EnvSecretSource("OPS_TOTP", {"OPS_TOTP": "not a secret!"}).fetch(clock)
    assert info.value.exit_code == ExitCode.AUTH
    assert "not a secret" not in " ".join(info.value.lines())


def script(tmp_path: Path, body: str) -> str:
    path = tmp_path / "totp.py"
    path.write_text(body)
    return f"{sys.executable} {path}"


def test_command_printing_a_secret(tmp_path: Path, clock: FakeClock) -> None:
    source = CommandSource(script(tmp_path, f"print('{SECRET}')\n"))
    first = source.fetch(clock)
    assert first.code == pyotp.TOTP(SECRET).at(clock.time())
    # the seed is remembered in memory: the next window needs no second run
    (tmp_path / "totp.py").write_text("raise SystemExit(1)\n")
    clock.advance(30)
    assert source.fetch(clock).code == pyotp.TOTP(SECRET).at(clock.time())


def test_command_printing_an_otpauth_uri(tmp_path: Path, clock: FakeClock) -> None:
    uri = pyotp.TOTP(SECRET).provisioning_uri(name="op", issuer_name="aws")
    source = CommandSource(script(tmp_path, f"print({uri!r})\n"))
    assert source.fetch(clock).code == pyotp.TOTP(SECRET).at(clock.time())


def test_command_printing_a_code(tmp_path: Path, clock: FakeClock) -> None:
    source = CommandSource(script(tmp_path, "print('654321')\n"))
    code = source.fetch(clock)
    assert (code.code, code.window) == ("654321", current_window(clock))


def test_command_gets_argv_not_a_shell(tmp_path: Path, clock: FakeClock) -> None:
    marker = tmp_path / "pwned"
    body = "import sys; print('123456' if sys.argv[1:] == ['a;b', '$HOME'] else 'no')\n"
    source = CommandSource(script(tmp_path, body) + f" 'a;b' '$HOME'; touch {marker}")
    # the `;` and `touch` arrive as plain arguments, so the script prints "no"
    with pytest.raises(AuthError, match="neither a six-digit code nor a base32 secret"):
        source.fetch(clock)
    assert not marker.exists()
    ok = CommandSource(script(tmp_path, body) + " 'a;b' '$HOME'")
    assert ok.fetch(clock).code == "123456"


def test_command_failures_in_plain_words(tmp_path: Path, clock: FakeClock) -> None:
    with pytest.raises(AuthError, match="program 'no-such-totp-tool' not found"):
        CommandSource("no-such-totp-tool --code").fetch(clock)
    failing = script(
        tmp_path, "import sys; sys.stderr.write('gpg: decryption failed\\n'); raise SystemExit(2)\n"
    )
    with pytest.raises(AuthError, match="exited with status 2: gpg: decryption failed"):
        CommandSource(failing).fetch(clock)
    slow = script(tmp_path, "import time; time.sleep(5)\n")
    with pytest.raises(AuthError, match=r"did not finish within 0.5s"):
        CommandSource(slow, timeout=0.5).fetch(clock)
    with pytest.raises(AuthError, match="cannot be read"):
        CommandSource("pass 'unterminated").fetch(clock)
    garbage = script(tmp_path, "print('hunter2-not-a-code')\n")
    with pytest.raises(AuthError) as info:
        CommandSource(garbage).fetch(clock)
    assert "hunter2" not in " ".join(info.value.lines())


def test_interactive_source(clock: FakeClock) -> None:
    asked: list[str] = []

    def ask(serial: str) -> str | None:
        asked.append(serial)
        clock.advance(25)  # the operator takes their time: the code belongs to when they answer
        return "123 456"

    code = InteractiveSource(ask, SERIAL).fetch(clock)
    assert asked == [SERIAL] and code.code == "123456"
    assert code.window == current_window(clock)
    with pytest.raises(AuthError, match="cancelled"):
        InteractiveSource(lambda _: None).fetch(clock)
    with pytest.raises(AuthError, match="six digits"):
        InteractiveSource(lambda _: "12").fetch(clock)


def test_make_code_source_priority() -> None:
    env = {"X": SECRET}
    assert isinstance(make_code_source("X", None, typed="123456", environ=env), TypedCode)
    assert isinstance(make_code_source("X", None, ask=lambda _: None, environ=env), EnvSecretSource)
    assert isinstance(make_code_source(None, "pass otp aws"), CommandSource)
    assert isinstance(make_code_source(None, None, ask=lambda _: "1"), InteractiveSource)
    assert make_code_source() is None


def test_state_file_private_and_holds_windows_not_codes(tmp_path: Path, clock: FakeClock) -> None:
    state = MfaState()
    source = EnvSecretSource("S", {"S": SECRET})
    code = obtain_code(SERIAL, source, state, clock=clock, sleep=clock.advance)
    assert state.file.parent == tmp_path / "xdg_state_home" / "sessiontui"
    assert stat.S_IMODE(state.file.stat().st_mode) == 0o600
    assert stat.S_IMODE(state.file.parent.stat().st_mode) == 0o700
    for path in state.file.parent.iterdir():
        text = path.read_text()
        assert code.code not in text and SECRET not in text
    assert state.last_window(SERIAL) == current_window(clock)


def test_secret_source_waits_for_next_window_across_runs(clock: FakeClock) -> None:
    source = EnvSecretSource("S", {"S": SECRET})
    first = obtain_code(SERIAL, source, MfaState(), clock=clock, sleep=clock.advance)
    # a second run: fresh objects, same state file
    ticks: list[int] = []
    second = obtain_code(
        SERIAL, source, MfaState(), clock=clock, sleep=clock.advance, on_wait=ticks.append
    )
    assert second.window == first.window + 1
    assert second.code != first.code
    assert ticks[0] == 20 and ticks[-1] == 1 and len(ticks) == 20


def test_typed_code_in_a_spent_window_is_refused_early(clock: FakeClock) -> None:
    state = MfaState()
    obtain_code(SERIAL, EnvSecretSource("S", {"S": SECRET}), state, clock=clock)
    clock.advance(8)
    slept: list[float] = []
    with pytest.raises(AuthError) as info:
        obtain_code(SERIAL, TypedCode("123456"), state, clock=clock, sleep=slept.append)
    assert info.value.message == "that code's window was already used; wait 12s for the next code"
    assert info.value.exit_code == ExitCode.AUTH and not slept
    clock.advance(12)
    assert obtain_code(SERIAL, TypedCode("123456"), state, clock=clock).code == "123456"


def test_other_devices_are_independent(clock: FakeClock) -> None:
    state = MfaState()
    obtain_code(SERIAL, TypedCode("111111"), state, clock=clock)
    other = "arn:aws:iam::123456789012:mfa/other"
    assert obtain_code(other, TypedCode("222222"), state, clock=clock).code == "222222"


def test_corrupted_state_is_forgotten(clock: FakeClock) -> None:
    state = MfaState()
    state.directory.mkdir(parents=True)
    state.file.write_text("{not json")
    assert state.last_window(SERIAL) is None
    assert obtain_code(SERIAL, TypedCode("123456"), state, clock=clock).code == "123456"


def test_two_processes_never_reserve_the_same_window(tmp_path: Path) -> None:
    """Many threads, each with its own MfaState (own lock fd): exactly one wins a window."""
    window = 1_000_000
    results: list[bool] = []
    barrier = threading.Barrier(8)

    def contend() -> None:
        state = MfaState(tmp_path / "state")
        barrier.wait()
        results.append(state.reserve(SERIAL, window))

    threads = [threading.Thread(target=contend) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.count(True) == 1


def test_reserve_from_another_process(tmp_path: Path) -> None:
    state = MfaState(tmp_path / "state")
    code = (
        "import sys; from pathlib import Path; from sessiontui.aws.mfa import MfaState; "
        f"sys.exit(0 if MfaState(Path({str(tmp_path / 'state')!r})).reserve({SERIAL!r}, 42) "
        "else 1)"
    )
    import subprocess

    assert subprocess.run([sys.executable, "-c", code]).returncode == 0
    assert state.last_window(SERIAL) == 42
    assert not state.reserve(SERIAL, 42)
    assert subprocess.run([sys.executable, "-c", code]).returncode == 1
    assert os.stat(state.directory).st_mode & 0o077 == 0
