"""The session journal: every session this machine's sessiontui started and has not yet ended.

A process killed with SIGKILL, a power loss or a crashed terminal host cannot terminate its
sessions; they would stay open server-side until the idle timeout. So each session is written here
(flushed and fsynced) right after StartSession answers and before the plugin starts, and removed
once TerminateSession succeeded. The next start of sessiontui terminates what is left
(`aws.session_recovery`).

One 0600 file per session in a 0700 folder of the state directory, so concurrent processes never
rewrite each other's entries. An entry holds no secret: the session id, where it lives (region,
endpoint) and who can end it (profile, role name and ARN, source profile), so the credential cache
or the base credentials can terminate it later. It also names the process that owns it, so a
second sessiontui running beside the first leaves the first's live sessions alone.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sessiontui.stores import paths

VERSION = 1
_SAFE_ID = re.compile(r"[A-Za-z0-9._@+=-]{1,200}")  # session ids are <name>-<hex>; refuse paths


def journal_dir() -> Path:
    return paths.state_dir() / "sessions"


def _proc_stat(pid: int) -> list[str]:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return []
    # comm (field 2) may hold spaces and parentheses: the fields that follow start after the last ")"
    return raw.rsplit(")", 1)[1].split()


def process_start_ticks(pid: int) -> str:
    """The process's start time in clock ticks since boot (/proc), "" where there is no /proc.

    With the pid it tells a live owner from an unrelated process that got the pid later.
    """
    fields = _proc_stat(pid)
    return fields[19] if len(fields) > 19 else ""


def owner_alive(pid: int, ticks: str) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # someone else's process holds the pid: it is not ours, unless /proc says so below
    fields = _proc_stat(pid)
    if not fields:  # no /proc: trust the pid
        return True
    # a zombie (killed, not yet reaped by its parent) ends nothing any more
    return fields[0] != "Z" and len(fields) > 19 and fields[19] == ticks


@dataclass(frozen=True)
class JournalEntry:
    session_id: str
    region: str
    endpoint_url: str | None
    target: str
    kind: str  # "shell" | "forward"
    document: str | None = None
    node_name: str = ""
    profile: str | None = None  # the base profile sessiontui ran with
    role_name: str = ""  # "" when the base credentials opened the session
    role_arn: str = ""
    source_profile: str | None = None  # the profile whose credentials assume the role
    started_at: str = ""  # ISO 8601 UTC
    pid: int = 0
    pid_ticks: str = ""
    # why the access that opened it may not end it (TerminateSession refused while it was still
    # Active); "" otherwise. A later start ends it with any held credentials that can
    left_open: str = ""

    @property
    def account(self) -> str:
        """The account the session lives in, from its role's ARN ("" for base credentials)."""
        parts = self.role_arn.split(":")
        return parts[4] if len(parts) > 5 else ""

    def to_json(self) -> dict[str, Any]:
        return {"version": VERSION, **asdict(self)}

    @classmethod
    def from_json(cls, data: object) -> JournalEntry | None:
        if not isinstance(data, dict) or data.get("version") != VERSION:
            return None
        try:
            entry = cls(
                session_id=str(data["session_id"]),
                region=str(data["region"]),
                endpoint_url=data.get("endpoint_url") or None,
                target=str(data.get("target", "")),
                kind=str(data.get("kind", "")),
                document=data.get("document") or None,
                node_name=str(data.get("node_name", "")),
                profile=data.get("profile") or None,
                role_name=str(data.get("role_name", "")),
                role_arn=str(data.get("role_arn", "")),
                source_profile=data.get("source_profile") or None,
                started_at=str(data.get("started_at", "")),
                pid=int(data.get("pid", 0)),
                pid_ticks=str(data.get("pid_ticks", "")),
                left_open=str(data.get("left_open", "")),
            )
        except (KeyError, TypeError, ValueError):
            return None
        return entry if _SAFE_ID.fullmatch(entry.session_id) else None

    @property
    def label(self) -> str:
        """How the operator recognises it: `i-0abc (web-01), shell, role StagingDev`."""
        who = f"role {self.role_name}" if self.role_name else "base credentials"
        name = f" ({self.node_name})" if self.node_name else ""
        return f"{self.session_id}: {self.kind} on {self.target}{name} in {self.region}, {who}"

    def owned_by_live_process(self) -> bool:
        return owner_alive(self.pid, self.pid_ticks)


@dataclass(frozen=True)
class SessionJournal:
    """Where entries go, and who is asking: the base profile and the role's source profile."""

    directory: Path = field(default_factory=journal_dir)
    profile: str | None = None
    source_profile: str | None = None

    def bound(self, source_profile: str | None) -> SessionJournal:
        return replace(self, source_profile=source_profile)

    def _path(self, session_id: str) -> Path | None:
        if not _SAFE_ID.fullmatch(session_id):
            return None
        return self.directory / f"{session_id}.json"

    def record(
        self,
        *,
        session_id: str,
        region: str,
        endpoint_url: str | None,
        target: str,
        kind: str,
        document: str | None,
        node_name: str,
        role_name: str,
        role_arn: str,
        started_at: datetime,
        sync: bool = True,
    ) -> JournalEntry:
        """Write the entry durably (file and folder fsynced). Raises OSError: the caller decides.

        Without `sync` the entry is in place for any later start to read, a SIGKILL of this
        process included (the kernel keeps what was written), but not yet fsynced against a
        power loss: `sync_entry` does that once the caller's urgent work is done."""
        pid = os.getpid()
        entry = JournalEntry(
            session_id=session_id,
            region=region,
            endpoint_url=endpoint_url,
            target=target,
            kind=kind,
            document=document,
            node_name=node_name,
            profile=self.profile,
            role_name=role_name,
            role_arn=role_arn,
            source_profile=self.source_profile,
            started_at=_iso(started_at),
            pid=pid,
            pid_ticks=process_start_ticks(pid),
        )
        path = self._path(session_id)
        if path is None:
            raise OSError(f"refusing a session id that is not a file name: {session_id!r}")
        paths.ensure_private_dir(self.directory)
        paths.write_private(path, json.dumps(entry.to_json(), indent=1) + "\n", sync=sync)
        if sync:
            _fsync_dir(self.directory)  # the rename itself must survive a power loss
        return entry

    def sync_entry(self, session_id: str) -> None:
        """fsync an entry written without `sync`, and its folder (the rename)."""
        path = self._path(session_id)
        if path is None:
            return
        with contextlib.suppress(FileNotFoundError):
            fd = os.open(path, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        _fsync_dir(self.directory)

    def mark_left_open(self, session_id: str, why: str) -> None:
        """Keep the entry, saying that its own access may not end it (and why)."""
        path = self._path(session_id)
        found = next((e for e in self.entries() if e.session_id == session_id), None)
        if path is None or found is None:
            return
        entry = replace(found, left_open=why)
        paths.write_private(path, json.dumps(entry.to_json(), indent=1) + "\n")
        _fsync_dir(self.directory)

    def left_open(self) -> dict[str, JournalEntry]:
        """Entries whose own access may not end them, by session id (--sessions marks them)."""
        return {e.session_id: e for e in self.entries() if e.left_open}

    def remove(self, session_id: str) -> None:
        path = self._path(session_id)
        if path is None:
            return
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
            _fsync_dir(self.directory)

    def entries(self) -> list[JournalEntry]:
        """Every readable entry; unreadable files are left for the operator to look at."""
        try:
            files = sorted(p for p in self.directory.iterdir() if p.suffix == ".json")
        except OSError:
            return []
        out = []
        for path in files:
            try:
                entry = JournalEntry.from_json(json.loads(path.read_text(encoding="utf-8")))
            except (OSError, ValueError):
                continue
            if entry is not None and path.stem == entry.session_id:
                out.append(entry)
        return out

    def orphans(self) -> list[JournalEntry]:
        """Entries whose process is gone: nobody will terminate them unless we do."""
        return [e for e in self.entries() if not e.owned_by_live_process()]

    def has_entries(self) -> bool:
        """Cheap check for start-up: one directory read, no file parsed."""
        try:
            return any(p.suffix == ".json" for p in self.directory.iterdir())
        except OSError:
            return False


def _fsync_dir(directory: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _iso(when: datetime) -> str:
    aware = when if when.tzinfo else when.replace(tzinfo=UTC)
    return aware.astimezone(UTC).isoformat().replace("+00:00", "Z")
