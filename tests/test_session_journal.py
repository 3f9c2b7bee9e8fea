"""The session journal: sessions a killed sessiontui left open are terminated at the next start.

Real processes: `python -m sessiontui` against this test's sandbox (the demo's own sandbox would
die with the killed process), one operator home shared by the killed run and the next one.
"""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pexpect
import pytest

from cli_support import alive, cli_env, plugin_pids, run, session_status
from sessiontui.stores.journal import JournalEntry, SessionJournal


@pytest.fixture(scope="module")
def fleet(sandbox: Any, tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    out = run(sandbox, tmp_path_factory.mktemp("fleet"), "--list", "--json")
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)  # type: ignore[no-any-return]


def staging_node(fleet: list[dict[str, Any]]) -> dict[str, Any]:
    for n in fleet:
        if (
            n["connectable"]
            and n["tags"].get("project") == "Staging"
            and not n["id"].startswith("mi-")
            and sum(m["name"] == n["name"] for m in fleet) == 1
        ):
            return n
    raise AssertionError("no connectable Staging node in the sandbox fleet")


def journal_ids(home: Path) -> set[str]:
    folder = home / "state" / "sessiontui" / "sessions"
    if not folder.exists():
        return set()
    return {p.stem for p in folder.glob("*.json")}


def wait_for(predicate: Any, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.1)


# -- the file itself --------------------------------------------------------------------------


def test_entries_are_private_durable_and_hold_no_secret(tmp_path: Path) -> None:
    journal = SessionJournal(tmp_path / "state" / "sessions", profile="work", source_profile="base")
    entry = journal.record(
        session_id="operator-0123456789abcdef0",
        region="eu-west-1",
        endpoint_url="https://ssm.eu-west-1.amazonaws.com",
        target="i-0abc",
        kind="forward",
        document="AWS-StartPortForwardingSession",
        node_name="db-01",
        role_name="ProdOps",
        role_arn="arn:aws:iam::123456789012:role/ProdOps",
        started_at=datetime(2026, 12, 1, 12, 0, tzinfo=UTC),
    )
    path = journal.directory / f"{entry.session_id}.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(journal.directory.stat().st_mode) == 0o700
    data = json.loads(path.read_text())
    assert data["profile"] == "work" and data["source_profile"] == "base"
    assert data["pid"] == os.getpid() and data["started_at"] == "2026-12-01T12:00:00Z"
    assert not {"token", "token_value", "secret_access_key", "session_token"} & set(data)
    # this process is alive: its own entries are nobody's orphans
    assert journal.entries() == [entry] and journal.orphans() == []
    journal.remove(entry.session_id)
    assert journal.entries() == [] and not journal.has_entries()


def test_an_entry_of_a_dead_process_or_a_reused_pid_is_an_orphan(tmp_path: Path) -> None:
    journal = SessionJournal(tmp_path)
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    for name, pid, ticks in (("dead", gone.pid, "1"), ("reused", os.getpid(), "0")):
        entry = JournalEntry(
            session_id=f"op-{name}", region="us-east-1", endpoint_url=None, target="i-1",
            kind="shell", pid=pid, pid_ticks=ticks,
        )  # fmt: skip
        (tmp_path / f"{entry.session_id}.json").write_text(json.dumps(entry.to_json()))
    (tmp_path / "broken.json").write_text("{not json")
    assert sorted(e.session_id for e in journal.orphans()) == ["op-dead", "op-reused"]


# -- SIGKILL mid-shell and mid-forward, then a second start -----------------------------------


def test_sigkill_mid_shell_and_mid_forward_then_the_next_start_terminates_both(
    sandbox: Any, tmp_path: Path, fleet: list[dict[str, Any]]
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    node = staging_node(fleet)
    common = ["-m", "sessiontui", "--connect", node["id"], "--role", "StagingDev"]
    shell = pexpect.spawn(
        sys.executable,
        common,
        env=cli_env(sandbox, home),
        encoding="utf-8",
        timeout=40,
        dimensions=(30, 120),
    )
    leftovers: list[int] = []
    forward: subprocess.Popen[str] | None = None
    try:
        shell.expect(r"\$ ")
        (shell_id,) = journal_ids(home)
        leftovers += plugin_pids(shell.pid)
        forward = subprocess.Popen(
            [sys.executable, *common, "--forward", "0:80", "--json"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=cli_env(sandbox, home),
            stdin=subprocess.DEVNULL,
        )
        assert forward.stdout is not None
        ready = json.loads(forward.stdout.readline())
        forward_id = ready["session_id"]
        assert journal_ids(home) == {shell_id, forward_id}
        leftovers += plugin_pids(forward.pid)

        os.kill(shell.pid, signal.SIGKILL)
        forward.kill()  # SIGKILL
        forward.wait(timeout=10)
        wait_for(lambda: not alive(shell.pid))
        time.sleep(1.0)  # the stand-in polls every 0.5 s: anything that would end them has run
        # nothing ended them: a killed process cannot, and the plugin does not (the contract)
        for sid in (shell_id, forward_id):
            assert session_status(sandbox, node["region"], sid) != "Terminated"
        assert journal_ids(home) == {shell_id, forward_id}

        second = run(sandbox, home, "--list")
        assert second.returncode == 0, second.stderr
        for sid in (shell_id, forward_id):
            assert session_status(sandbox, node["region"], sid) == "Terminated", second.stderr
            record = sandbox.state.sessions[sid]
            assert "assumed-role/StagingDev" in record.terminated_by
            assert f"ended a session an earlier sessiontui left open: {sid}" in second.stderr
        assert journal_ids(home) == set()
        # and the operator has no session of their own left Active
        ssm = boto3.client(
            "ssm",
            region_name=node["region"],
            endpoint_url=sandbox.endpoint_url,
            aws_access_key_id=sandbox.env()["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=sandbox.env()["AWS_SECRET_ACCESS_KEY"],
        )
        active = ssm.describe_sessions(State="Active")["Sessions"]
        assert not {s["SessionId"] for s in active} & {shell_id, forward_id}
        # a third start has nothing to say
        third = run(sandbox, home, "--list")
        assert "earlier sessiontui" not in third.stderr
    finally:
        shell.close(force=True)
        if forward is not None and forward.poll() is None:
            forward.kill()
        for pid in leftovers:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)


def test_a_session_whose_credentials_are_gone_is_kept_and_reported(
    sandbox: Any, tmp_path: Path, fleet: list[dict[str, Any]]
) -> None:
    node = staging_node(fleet)
    creds = sandbox.role_credentials("StagingDev")
    ssm = boto3.client(
        "ssm",
        region_name=node["region"],
        endpoint_url=sandbox.endpoint_url,
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
    )
    sid = ssm.start_session(Target=node["id"])["SessionId"]
    home = tmp_path / "home"  # no credential cache: the role's credentials are not here
    folder = home / "state" / "sessiontui" / "sessions"
    folder.mkdir(parents=True)
    entry = JournalEntry(
        session_id=sid,
        region=node["region"],
        endpoint_url=sandbox.endpoint_url,
        target=node["id"],
        kind="shell",
        role_name="StagingDev",
        role_arn="arn:aws:iam::123456789012:role/StagingDev",
        started_at=datetime.now(UTC).isoformat(),
        pid=0,
    )
    (folder / f"{sid}.json").write_text(json.dumps(entry.to_json()))
    try:
        out = run(sandbox, home, "--list")
        assert out.returncode == 0, out.stderr
        assert f"could not end {sid}" in out.stderr and "StagingDev" in out.stderr
        assert journal_ids(home) == {sid}
        assert session_status(sandbox, node["region"], sid) != "Terminated"
    finally:
        ssm.terminate_session(SessionId=sid)
    # once it is over (here: ended elsewhere), the base identity's DescribeSessions says so
    out = run(sandbox, home, "--list")
    assert "could not end" not in out.stderr
    assert journal_ids(home) == set()
