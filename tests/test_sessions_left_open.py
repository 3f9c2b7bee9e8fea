"""Sessions an access may not end (issue 24): the seed's ProductionPermissionSet may not call
TerminateSession on its own sessions, so a session whose plugin died stays open on AWS. The
journal keeps it, marked; `--sessions` marks it; and the next start that holds credentials that
can end it (SessionManagerAdmin, same account) ends it, with the CLI as a subprocess."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path
from typing import Any

import pexpect
import pytest

from cli_support import plugin_pids, run
from sessiontui.operations.operator_sessions import LEFT_OPEN_NOTE
from sessiontui_sandbox import Sandbox
from sessiontui_sandbox.ssm_sessions import terminate
from test_least_privilege import PERMISSION_SET, _shell
from test_sso_access import aws_cli_login

ADMIN = "Production/SessionManagerAdmin"


@pytest.fixture
def home(sandbox: Sandbox, tmp_path: Path) -> Any:
    sandbox.clear_faults()
    path = tmp_path / "home"
    path.mkdir()
    aws_cli_login(sandbox, path)
    return path


def _left_open(sandbox: Sandbox, home: Path) -> str:
    """A shell under ProductionPermissionSet whose plugin is killed: its id, left open."""
    child = _shell(sandbox, home)
    (plugin,) = plugin_pids(child.pid)
    os.kill(plugin, signal.SIGKILL)
    child.expect(pexpect.EOF)
    told = " ".join(str(child.before).split())
    child.close()
    assert "stays open on AWS" in told, told
    (record,) = [r for r in sandbox.state.sessions.values() if r.session_id in told]
    return str(record.session_id)


def test_a_session_left_open_is_marked_and_ended_by_the_next_start_holding_an_admin(
    sandbox: Sandbox, home: Path
) -> None:
    session_id = _left_open(sandbox, home)
    record = sandbox.state.sessions[session_id]
    try:
        journal = home / "state" / "sessiontui" / "sessions" / f"{session_id}.json"
        entry = json.loads(journal.read_text())
        assert "ssm:TerminateSession" in entry["left_open"], entry
        # a start holding only the access that may not end it: kept, listed and marked
        out = run(sandbox, home, "--sessions", "--json", "--role", PERMISSION_SET)
        assert out.returncode == 0, out.stderr
        listed = {s["session_id"]: s for s in json.loads(out.stdout)}
        assert "ssm:TerminateSession" in (listed[session_id]["left_open"] or "")
        assert sandbox.state.session_status(record) != "Terminated"
        table = run(sandbox, home, "--sessions", "--role", PERMISSION_SET)
        row = next(line for line in table.stdout.splitlines() if session_id in line)
        assert row.endswith(LEFT_OPEN_NOTE)
        # the administrator's access taken (and cached) by another command...
        taken = run(sandbox, home, "--list", "--role", ADMIN)
        assert taken.returncode == 0, taken.stderr
        # ...and the next start ends the session with it
        out = run(sandbox, home, "--sessions", "--json", "--role", PERMISSION_SET)
        assert out.returncode == 0, out.stderr
        said = " ".join(out.stderr.split())
        assert f"ended {session_id}" in said and f"with access {ADMIN}" in said, said
        assert sandbox.state.session_status(record) == "Terminated"
        assert "AWSReservedSSO_SessionManagerAdmin_" in record.terminated_by
        assert not journal.exists()
        assert session_id not in [s["session_id"] for s in json.loads(out.stdout)]
    finally:
        if sandbox.state.session_status(record) != "Terminated":
            terminate(sandbox.state, record, "the test's cleanup")
