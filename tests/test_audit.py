"""The audit log: append-only JSONL, private, and never a secret in it."""

from __future__ import annotations

import json
import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest

from sessiontui.core.clock import FakeClock
from sessiontui.stores import paths
from sessiontui.stores.audit import AuditLog, AuditSecretError, read_events


def test_events_are_appended_as_jsonl_with_utc_timestamps(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "logs" / "audit.jsonl", FakeClock())
    exp = datetime(2026, 11, 21, 14, 0, tzinfo=UTC)
    log.role_assumed("ProdOps", "arn:aws:iam::123456789012:role/ProdOps", 7200, exp, "mfa")
    log.session_started("operator-1", "i-1", "web-01", "us-east-1", None, "ticket OPS-1", "ProdOps")
    log.session_ended("operator-1", "i-1", "exited", 12.34, "session exited normally")
    lines = (tmp_path / "logs" / "audit.jsonl").read_text().splitlines()
    assert len(lines) == 3
    events = [json.loads(x) for x in lines]
    assert [e["event"] for e in events] == ["role_assumed", "session_started", "session_ended"]
    assert events[0]["ts"] == "2026-11-21T12:00:00Z"
    assert events[0]["expires_at"] == "2026-11-21T14:00:00Z"
    assert events[0]["duration"] == 7200 and events[0]["source"] == "mfa"
    assert events[1]["document"] == "SSM-SessionManagerRunShell"
    assert events[1]["node_name"] == "web-01" and events[1]["reason"] == "ticket OPS-1"
    assert events[2]["how"] == "exited" and events[2]["seconds"] == 12.3
    assert read_events(tmp_path / "logs" / "audit.jsonl") == events


def test_file_is_0600_and_folder_0700(tmp_path: Path) -> None:
    folder = tmp_path / "logs"
    folder.mkdir(mode=0o755)
    path = folder / "audit.jsonl"
    path.write_text("")
    path.chmod(0o644)
    AuditLog(path).session_ended("s", "i-1", "exited", 1)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700


def test_default_location_is_paths_audit_log(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.setattr(paths, "log_dir", lambda: tmp_path / "log")
    log = AuditLog()
    assert log.path == tmp_path / "log" / "audit.jsonl"
    log.session_ended("s", "i-1", "exited", 1)
    assert read_events(log.path)[0]["session_id"] == "s"


@pytest.mark.parametrize(
    "field", ["token", "TokenValue", "secret_access_key", "mfa_code", "password"]
)
def test_secret_named_fields_are_refused(tmp_path: Path, field: str) -> None:
    log = AuditLog(tmp_path / "audit.jsonl")
    with pytest.raises(AuditSecretError):
        log.write("oops", **{field: "x"})
    with pytest.raises(AuditSecretError):
        log.write("oops", nested={field: "x"})
    assert not (tmp_path / "audit.jsonl").exists() or read_events(tmp_path / "audit.jsonl") == []


def test_appends_never_truncate(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    for i in range(3):
        AuditLog(path).session_ended(f"s{i}", "i-1", "exited", i)
    assert [e["session_id"] for e in read_events(path)] == ["s0", "s1", "s2"]
