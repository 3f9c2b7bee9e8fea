"""Append-only JSONL audit log of who took which role and opened which session.

Each event is one line, written with O_APPEND and fsynced, so a crash loses at most the event
being written and concurrent sessiontui processes never interleave inside a line.
"""

from __future__ import annotations

import json
import os
import re
import threading
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sessiontui.core.clock import SYSTEM_CLOCK, Clock
from sessiontui.stores import paths

# Field names that would hold a secret; the log must never carry one, even by accident.
_FORBIDDEN = re.compile(r"token|secret|code|password|passwd|credential", re.IGNORECASE)


class AuditSecretError(ValueError):
    """A caller tried to write a field whose name looks like a secret."""


def _check(fields: Mapping[str, Any], where: str = "") -> None:
    for key, value in fields.items():
        if _FORBIDDEN.search(str(key)):
            raise AuditSecretError(
                f"refusing to write audit field {where}{key!r}: looks like a secret"
            )
        if isinstance(value, Mapping):
            _check(value, f"{where}{key}.")


def _iso(when: datetime | None) -> str | None:
    if when is None:
        return None
    aware = when if when.tzinfo else when.replace(tzinfo=UTC)
    return aware.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


class AuditLog:
    def __init__(self, path: Path | None = None, clock: Clock = SYSTEM_CLOCK) -> None:
        self.path = path if path is not None else paths.audit_log()
        self._clock = clock
        self._lock = threading.Lock()

    def write(self, event: str, **fields: Any) -> dict[str, Any]:
        _check(fields)
        record = {"ts": _iso(self._clock.now()), "event": event, **fields}
        line = json.dumps(record, default=_json_default, sort_keys=False) + "\n"
        paths.ensure_private_dir(self.path.parent)
        with self._lock:
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.fchmod(fd, 0o600)  # a file created wider by someone else is narrowed
                os.write(fd, line.encode("utf-8"))
                os.fsync(fd)
            finally:
                os.close(fd)
        return record

    def role_assumed(
        self,
        role: str,
        arn: str,
        duration: int,
        expires_at: datetime | None,
        source: str,
    ) -> dict[str, Any]:
        return self.write(
            "role_assumed",
            role=role,
            arn=arn,
            duration=duration,
            expires_at=_iso(expires_at),
            source=source,
        )

    def session_started(
        self,
        session_id: str,
        target: str,
        node_name: str,
        region: str,
        document: str | None,
        reason: str | None,
        role: str,
        local_port: int | None = None,
        remote_port: int | None = None,
        host: str | None = None,
    ) -> dict[str, Any]:
        return self.write(
            "session_started",
            session_id=session_id,
            target=target,
            node_name=node_name,
            region=region,
            document=document or "SSM-SessionManagerRunShell",
            local_port=local_port,
            remote_port=remote_port,
            host=host,
            reason=reason,
            role=role,
        )

    def session_refused(
        self, target: str, node_name: str, region: str, document: str, role: str, why: str
    ) -> dict[str, Any]:
        """StartSession refused for its document (a kind of session this access may not open):
        what --doctor learns an access lacks where IAM's simulator is not allowed."""
        return self.write(
            "session_refused",
            target=target,
            node_name=node_name,
            region=region,
            document=document,
            role=role,
            detail=why,
        )

    def session_ended(
        self,
        session_id: str,
        target: str,
        how: str,
        seconds: float,
        detail: str = "",
        local_port: int | None = None,
        terminated: bool | None = None,
    ) -> dict[str, Any]:
        return self.write(
            "session_ended",
            session_id=session_id,
            target=target,
            how=how,
            seconds=round(seconds, 1),
            detail=detail,
            local_port=local_port,
            terminated=terminated,
        )


def read_events(path: Path | None = None) -> list[dict[str, Any]]:
    """Every event in the log, oldest first (for the TUI's history and for tests)."""
    p = path if path is not None else paths.audit_log()
    if not p.exists():
        return []
    out = []
    for line in p.read_text(encoding="utf-8").splitlines():
        if line.strip():
            out.append(json.loads(line))
    return out


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return _iso(value)
    if isinstance(value, Path):
        return str(value)
    return str(value)
