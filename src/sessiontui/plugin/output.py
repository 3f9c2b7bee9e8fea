"""What session-manager-plugin prints, and what it means.

The plugin exits 0 in nearly every case, errors included, so the outcome of a session is read
from its printed lines (see ssm-plugin-contract.md, "What it prints").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum


class LineKind(StrEnum):
    STARTING = "starting"
    PORT_OPENED = "port_opened"
    WAITING = "waiting"
    CONNECTION_ACCEPTED = "connection_accepted"
    SERVER_ENDED = "server_ended"
    EXITING = "exiting"
    DESTINATION_FAILED = "destination_failed"
    START_FAILED = "start_failed"
    TIMED_OUT = "timed_out"
    UNKNOWN_OPERATION = "unknown_operation"
    TERMINATE_SIGNAL = "terminate_signal"


class Ending(StrEnum):
    """How a session ended; written to the audit log and shown to the operator."""

    EXITED = "exited"  # the plugin said "Exiting session" (shell exit, Ctrl-C in a forward)
    SERVER_ENDED = "server_ended"  # "SessionId: X : <reason>" (idle timeout, TerminateSession)
    START_FAILED = "start_failed"  # "Cannot perform start session" / unknown operation
    CRASHED = "crashed"  # exited non-zero, or exited without saying why
    KILLED = "killed"  # the plugin died from a signal we did not send
    WATCHDOG = "watchdog"  # no ready line in time
    EXPIRED = "expired"  # the role's credentials ran out
    STOPPED = "stopped"  # the operator (or the TUI) stopped it
    INTERRUPTED = "interrupted"  # SIGTERM/SIGHUP/Ctrl-C reached our process


@dataclass(frozen=True)
class PluginLine:
    kind: LineKind
    text: str
    session_id: str | None = None
    port: int | None = None
    reason: str = ""


_PATTERNS: list[tuple[LineKind, re.Pattern[str]]] = [
    (LineKind.STARTING, re.compile(r"^Starting session with SessionId: (?P<sid>\S+)")),
    (
        LineKind.PORT_OPENED,
        re.compile(r"^Port (?P<port>\d+) opened for sessionId (?P<sid>\S+?)\.?$"),
    ),
    (LineKind.WAITING, re.compile(r"^Waiting for connections\.\.\.")),
    (
        LineKind.CONNECTION_ACCEPTED,
        re.compile(r"^Connection accepted for session (?:\[(?P<sid>[^\]]+)\]|(?P<old>\S+?)\.?$)"),
    ),
    (LineKind.EXITING, re.compile(r"^Exiting session with sessionId: (?P<sid>\S+?)\.?$")),
    (LineKind.SERVER_ENDED, re.compile(r"^SessionId: (?P<sid>\S+) : (?P<reason>.*)$")),
    (LineKind.DESTINATION_FAILED, re.compile(r"^Connection to destination port failed")),
    (LineKind.START_FAILED, re.compile(r"^Cannot perform start session: ?(?P<reason>.*)$")),
    (LineKind.TIMED_OUT, re.compile(r"^Session: (?P<sid>\S+) timed out\.")),
    (LineKind.UNKNOWN_OPERATION, re.compile(r"^Unknown operation (?P<reason>.*?)\.?\s*$")),
    (LineKind.TERMINATE_SIGNAL, re.compile(r"^Terminate signal received")),
]

_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def parse_line(raw: str) -> PluginLine | None:
    """Classify one printed line; None for anything else (shell output, prompts)."""
    text = _ANSI.sub("", raw).strip()
    if not text:
        return None
    for kind, pattern in _PATTERNS:
        m = pattern.match(text)
        if not m:
            continue
        groups = m.groupdict()
        sid = groups.get("sid") or groups.get("old")
        port = int(groups["port"]) if groups.get("port") else None
        return PluginLine(kind, text, sid, port, (groups.get("reason") or "").strip())
    return None


class LineSplitter:
    """Turns a byte stream into lines; remembers a partial line between chunks.

    A remote shell can print a megabyte without a newline, so the partial line is capped: the
    plugin's own lines are short and always start a line.
    """

    MAX_PARTIAL = 4096

    def __init__(self) -> None:
        self._partial = ""

    @property
    def partial(self) -> str:
        return self._partial

    def feed(self, data: bytes) -> list[str]:
        text = self._partial + data.decode("utf-8", errors="replace")
        *lines, rest = text.split("\n")
        self._partial = rest[-self.MAX_PARTIAL :]
        return [line.rstrip("\r") for line in lines]

    def take_partial(self) -> str:
        rest, self._partial = self._partial, ""
        return rest.rstrip("\r")


@dataclass
class Outcome:
    """What the printed lines say about the end of a session, gathered as they arrive."""

    session_id: str | None = None
    exiting: bool = False
    server_reason: str | None = None
    start_error: str | None = None
    timed_out: bool = False

    def observe(self, line: PluginLine) -> None:
        if line.session_id and self.session_id is None:
            self.session_id = line.session_id
        if line.kind is LineKind.EXITING:
            self.exiting = True
        elif line.kind is LineKind.SERVER_ENDED:
            self.server_reason = line.reason
        elif line.kind is LineKind.START_FAILED:
            self.start_error = line.reason or line.text
        elif line.kind is LineKind.UNKNOWN_OPERATION:
            self.start_error = line.text
        elif line.kind is LineKind.TIMED_OUT:
            self.timed_out = True

    def decide(self, exit_status: int | None, signal_status: int | None) -> tuple[Ending, str]:
        """(how, reason) once the plugin has exited."""
        if self.server_reason is not None:
            return Ending.SERVER_ENDED, self.server_reason or "ended by the server"
        if self.start_error is not None:
            return Ending.START_FAILED, f"plugin could not start the session: {self.start_error}"
        if self.timed_out:
            return Ending.SERVER_ENDED, "session timed out"
        if signal_status:
            return Ending.KILLED, f"plugin killed by signal {signal_status}"
        if exit_status:
            return Ending.CRASHED, f"plugin crashed (exit status {exit_status})"
        if self.exiting:
            return Ending.EXITED, "session exited normally"
        return Ending.CRASHED, "plugin exited without ending the session"
