"""MFA codes: where they come from, and making sure none is ever sent twice.

Sources, in the order `make_code_source` prefers them:
  TypedCode        --mfa-code (six digits); cannot be renewed, so a spent window is refused early
  EnvSecretSource  [mfa] totp_secret_env: an environment variable holding the base32 seed
  CommandSource    [mfa] totp_command: a program (argv, no shell) printing a seed or a code
  InteractiveSource  the UI's modal, through a callback (never botocore's getpass prompt)

`MfaState` remembers per device serial the last TOTP window used (a number, never the code) in
state_dir()/mfa-windows.json, under an fcntl lock so two processes never spend the same window.
`obtain_code` ties it together: wait for a fresh window when the source can give a new code,
refuse when it cannot, reserve the window, return the code.

Decisions:
- The window is reserved *before* the code is sent, so two processes can never both send it; a
  window whose AssumeRole then failed stays spent (AWS may have consumed the code, and a seed
  source would only produce the same refused code again). A mistyped code therefore costs a
  wait for the next window, which is what the refusal message tells the operator to do.
- A typed code (--mfa-code) in a spent window is refused at once with "wait Ns for the next
  code" rather than waiting: the same code would be refused by AWS after any wait.
- The prompt (InteractiveSource) waits first, showing the countdown, then asks; the code is
  dated by when the operator answered.

Every failure is an AuthError (exit 3) in plain words; a malformed --mfa-code is a UsageError (2).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import os
import re
import shlex
import subprocess
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from sessiontui.core.clock import SYSTEM_CLOCK, Clock
from sessiontui.core.errors import AuthError, UsageError
from sessiontui.core.mfa_window import (
    STEP,
    current_window,
    seconds_until_window,
    wait_for_window,
    whole_seconds,
    window_of,
)
from sessiontui.stores import paths

if TYPE_CHECKING:
    import pyotp

STATE_FILE = "mfa-windows.json"
LOCK_FILE = "mfa-windows.lock"
COMMAND_TIMEOUT = 20.0  # `pass` may wait for a gpg-agent pinentry; long enough for a person
MAX_ROUNDS = 4  # another process keeps winning the window: give up rather than loop forever

_CODE = re.compile(r"\d{6}")

AskCode = Callable[[str], "str | None"]
"""The UI's prompt: gets the device serial, returns six digits, or None when cancelled."""


def validate_code(code: str) -> str:
    """--mfa-code as typed -> six digits; spaces (as authenticator apps show `123 456`) allowed."""
    cleaned = re.sub(r"\s+", "", code or "")
    if not _CODE.fullmatch(cleaned):
        raise UsageError("--mfa-code must be the six digits your MFA device shows")
    return cleaned


@dataclass(frozen=True)
class MfaCode:
    code: str = field(repr=False)
    window: int  # the TOTP window the code belongs to (what MfaState records)


class CodeSource(Protocol):
    description: str  # for messages: "--mfa-code", "$OPS_TOTP", "totp_command", "prompt"
    renewable: bool  # can give a fresh code after waiting for the next window

    def fetch(self, clock: Clock) -> MfaCode: ...


def _totp(secret: str) -> pyotp.TOTP:
    # on use: every launch imports this module (withhold_secret_env, before any child starts)
    # and pyotp brings hmac, secrets and calendar with it
    import pyotp

    return pyotp.TOTP(secret, interval=STEP)


def _looks_base32(text: str) -> str | None:
    """A base32 seed normalised for pyotp, or None. Seeds are shown in groups and lower case."""
    seed = re.sub(r"[\s-]+", "", text).upper().rstrip("=")
    if len(seed) < 16 or not re.fullmatch(r"[A-Z2-7]+", seed):
        return None
    try:
        base64.b32decode(seed + "=" * (-len(seed) % 8))
    except (binascii.Error, ValueError):
        return None
    return seed


def _code_from_seed(seed: str, clock: Clock) -> MfaCode:
    t = clock.time()
    return MfaCode(_totp(seed).at(int(t)), window_of(t))


class TypedCode:
    description = "--mfa-code"
    renewable = False

    def __init__(self, code: str) -> None:
        self._code = validate_code(code)

    def __repr__(self) -> str:
        return "TypedCode(<hidden>)"

    def fetch(self, clock: Clock) -> MfaCode:
        return MfaCode(self._code, current_window(clock))


# Seeds taken out of this process's environment by withhold_secret_env: {variable: seed}. The seed
# is read here only; every child (the plugin, terminal_command's terminal and its shells, tmux,
# totp_command) is started after the variable left os.environ, so none of them inherits it.
_WITHHELD: dict[str, str] = {}


def withhold_secret_env(variable: str | None) -> None:
    """Move `[mfa] totp_secret_env`'s variable from os.environ into this process's memory."""
    if variable and variable in os.environ:
        _WITHHELD[variable] = os.environ.pop(variable)


def secret_env_value(variable: str) -> str:
    """The seed in `variable`, whether still in the environment or already withheld."""
    return _WITHHELD.get(variable) or os.environ.get(variable, "")


class EnvSecretSource:
    renewable = True

    def __init__(self, variable: str, environ: Mapping[str, str] | None = None) -> None:
        self.variable = variable
        self.description = f"${variable}"
        self._environ = environ

    def fetch(self, clock: Clock) -> MfaCode:
        if self._environ is not None:
            value = self._environ.get(self.variable, "")
        else:
            value = secret_env_value(self.variable)
        if not value.strip():
            raise AuthError(
                f"no MFA secret: environment variable {self.variable} is not set",
                "set it to your MFA device's base32 secret, or remove [mfa] totp_secret_env",
            )
        seed = _looks_base32(value)
        if seed is None:
            raise AuthError(
                f"environment variable {self.variable} does not hold a base32 TOTP secret",
                "it should hold the seed shown when the virtual MFA device was set up",
            )
        return _code_from_seed(seed, clock)


class CommandSource:
    """Runs `totp_command` as argv (shlex.split, no shell). It may print a seed or a code.

    A seed is kept in memory only, so renewing after a wait does not run the command (and its
    pinentry) again; a printed code means the command is run again for the next window.
    """

    description = "totp_command"
    renewable = True

    def __init__(self, command: str, timeout: float = COMMAND_TIMEOUT) -> None:
        self.command = command
        self.timeout = timeout
        self._seed: str | None = None

    def __repr__(self) -> str:
        return f"CommandSource({self.command!r})"

    def _run(self) -> str:
        try:
            argv = shlex.split(self.command)
        except ValueError as exc:
            raise AuthError(f"totp_command cannot be read: {exc}") from None
        if not argv:
            raise AuthError("totp_command is empty")
        try:
            done = subprocess.run(
                argv,
                capture_output=True,
                text=True,
                timeout=self.timeout,
                stdin=subprocess.DEVNULL,
                check=False,
            )
        except FileNotFoundError:
            raise AuthError(
                f"totp_command failed: program {argv[0]!r} not found",
                "check [mfa] totp_command in the config",
            ) from None
        except PermissionError:
            raise AuthError(f"totp_command failed: {argv[0]!r} is not executable") from None
        except subprocess.TimeoutExpired:
            raise AuthError(
                f"totp_command did not finish within {self.timeout:g}s",
                f"run it by hand to check: {self.command}",
            ) from None
        except OSError as exc:
            raise AuthError(f"totp_command failed: {exc.strerror or exc}") from None
        if done.returncode != 0:
            # stderr only (stdout may be a seed); first line, short, as tools explain themselves there
            why = next((ln.strip() for ln in done.stderr.splitlines() if ln.strip()), "")
            raise AuthError(
                f"totp_command exited with status {done.returncode}"
                + (f": {why[:160]}" if why else ""),
                f"run it by hand to check: {self.command}",
            )
        return done.stdout

    def fetch(self, clock: Clock) -> MfaCode:
        if self._seed is not None:
            return _code_from_seed(self._seed, clock)
        out = self._run()
        line = next((ln.strip() for ln in out.splitlines() if ln.strip()), "")
        compact = re.sub(r"\s+", "", line)
        if _CODE.fullmatch(compact):
            return MfaCode(compact, current_window(clock))
        if line.startswith("otpauth://"):
            with contextlib.suppress(Exception):
                import pyotp

                uri_seed = _looks_base32(pyotp.parse_uri(line).secret)
                if uri_seed:
                    self._seed = uri_seed
                    return _code_from_seed(uri_seed, clock)
        seed = _looks_base32(line)
        if seed is None:
            # never echo what it printed: it may be a secret in a shape we did not expect
            raise AuthError(
                "totp_command printed neither a six-digit code nor a base32 secret",
                f"run it by hand to check: {self.command}",
            )
        self._seed = seed
        return _code_from_seed(seed, clock)


class InteractiveSource:
    """The UI's modal. Called from a worker thread; it blocks until the operator answers."""

    description = "prompt"
    renewable = True

    def __init__(self, ask: AskCode, serial: str = "") -> None:
        self._ask = ask
        self.serial = serial

    def fetch(self, clock: Clock) -> MfaCode:
        answer = self._ask(self.serial)
        if answer is None:
            raise AuthError("MFA cancelled")
        try:
            code = validate_code(answer)
        except UsageError:
            raise AuthError("an MFA code is six digits") from None
        # the code belongs to the moment it was typed, not the moment the modal opened
        return MfaCode(code, current_window(clock))


def make_code_source(
    totp_secret_env: str | None = None,
    totp_command: str | None = None,
    *,
    typed: str | None = None,
    ask: AskCode | None = None,
    environ: Mapping[str, str] | None = None,
) -> CodeSource | None:
    """--mfa-code wins, then the configured source, then the UI's prompt; None when nothing."""
    if typed is not None:
        return TypedCode(typed)
    if totp_secret_env:
        return EnvSecretSource(totp_secret_env, environ)
    if totp_command:
        return CommandSource(totp_command)
    if ask is not None:
        return InteractiveSource(ask)
    return None


class MfaState:
    """Last TOTP window used per device serial, shared by every sessiontui process of the user."""

    def __init__(self, directory: Path | None = None) -> None:
        self.directory = directory if directory is not None else paths.state_dir()

    @property
    def file(self) -> Path:
        return self.directory / STATE_FILE

    def _locked(self) -> contextlib.AbstractContextManager[None]:
        return paths.private_lock(self.directory, LOCK_FILE)

    def _read(self) -> dict[str, int]:
        try:
            data: Any = json.loads(self.file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}  # missing or corrupted: forgetting costs at most one refused code
        windows = data.get("windows") if isinstance(data, dict) else None
        if not isinstance(windows, dict):
            return {}
        return {str(k): v for k, v in windows.items() if isinstance(v, int)}

    def last_window(self, serial: str) -> int | None:
        with self._locked():
            return self._read().get(serial)

    def reserve(self, serial: str, window: int) -> bool:
        """Claim `window` for `serial`; False when it (or a later one) was already used."""
        with self._locked():
            windows = self._read()
            last = windows.get(serial)
            if last is not None and window <= last:
                return False
            windows[serial] = window
            paths.write_private(self.file, json.dumps({"version": 1, "windows": windows}) + "\n")
            return True


def refused_window_message(clock: Clock, window: int) -> str:
    wait = whole_seconds(seconds_until_window(window + 1, clock))
    return f"that code's window was already used; wait {wait}s for the next code"


def obtain_code(
    serial: str,
    source: CodeSource,
    state: MfaState,
    *,
    clock: Clock = SYSTEM_CLOCK,
    sleep: Callable[[float], None] = time.sleep,
    on_wait: Callable[[int], None] | None = None,
) -> MfaCode:
    """A code for a window nobody has used yet, already reserved in `state`.

    Renewable sources wait (calling `on_wait(seconds_left)` each second) for the next window;
    a typed code whose window is spent is refused at once, as it can only be refused by AWS.
    """
    if isinstance(source, InteractiveSource) and not source.serial:
        source.serial = serial  # the modal names the device it wants a code from
    for _ in range(MAX_ROUNDS):
        last = state.last_window(serial)
        if source.renewable and last is not None and current_window(clock) <= last:
            wait_for_window(last + 1, clock, sleep, on_wait)
        code = source.fetch(clock)
        if state.reserve(serial, code.window):
            return code
        if not source.renewable:
            raise AuthError(refused_window_message(clock, code.window))
    raise AuthError(
        "could not get an unused MFA code: another sessiontui keeps using each new one",
        "try again in a minute",
    )
