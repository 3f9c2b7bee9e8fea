"""Errors that carry the documented exit code, so every layer can fail in plain words."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    UNEXPECTED = 1
    USAGE = 2  # usage, bad config, unknown or ambiguous target
    AUTH = 3  # MFA refused, AssumeRole refused, AccessDenied, duration over the maximum
    NOT_CONNECTABLE = 4  # TargetNotConnected, ConnectionLost, stopped
    PLUGIN = 5  # session-manager-plugin missing or failed
    PORT_IN_USE = 6
    RUN_FAILED = 7  # --run: the command failed, timed out or was undeliverable on some node


class SessiontuiError(Exception):
    """An error the operator can act on: one or two plain lines, never a traceback."""

    exit_code: ExitCode = ExitCode.UNEXPECTED

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def lines(self) -> list[str]:
        return [self.message] + ([self.hint] if self.hint else [])


class UsageError(SessiontuiError):
    exit_code = ExitCode.USAGE


class ConfigError(UsageError):
    """A bad config file; the message starts with `config.toml:LINE:`."""


class TargetError(UsageError):
    """Unknown or ambiguous --connect target; `candidates` lists what matched."""

    def __init__(self, message: str, candidates: list[str] | None = None) -> None:
        super().__init__(message)
        self.candidates = candidates or []

    def lines(self) -> list[str]:
        return [self.message] + [f"  {c}" for c in self.candidates]


class AuthError(SessiontuiError):
    exit_code = ExitCode.AUTH


class SessionKindError(AuthError):
    """StartSession refused for its document: the access may open other kinds of session (a
    shell) but not this one (a port forward, SSH). `kind` is the ability's key ("forward")."""

    def __init__(self, message: str, hint: str, document: str, kind: str) -> None:
        super().__init__(message, hint)
        self.document = document
        self.kind = kind


class NotConnectableError(SessiontuiError):
    exit_code = ExitCode.NOT_CONNECTABLE


class PluginError(SessiontuiError):
    exit_code = ExitCode.PLUGIN


class PortInUseError(SessiontuiError):
    exit_code = ExitCode.PORT_IN_USE
