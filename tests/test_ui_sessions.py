"""The TUI's sessions panel (S) and its start-up recovery of a killed run's sessions, on the
sandbox, with a real Runtime behind the app as the CLI builds it."""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest

from cli_support import session_status
from sessiontui.aws.clients import ClientFactory
from sessiontui.aws.credcache import CredentialCache
from sessiontui.config import load_config
from sessiontui.core.credentials import Credentials
from sessiontui.runtime import Runtime
from sessiontui.stores.journal import JournalEntry, SessionJournal
from sessiontui.ui.app import SessiontuiApp
from sessiontui.ui.screens.confirm import ConfirmScreen
from sessiontui.ui.screens.sessions import SessionsScreen
from sessiontui.ui.services import AppServices
from sessiontui_sandbox.ssm_nodes import node_tags
from test_ui_support import settle

STAGING_ARN = "arn:aws:iam::123456789012:role/StagingDev"


@pytest.fixture
def runtime(sandbox: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> Iterator[Runtime]:
    for key, value in sandbox.env().items():
        monkeypatch.setenv(key, value)
    for key in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    args = argparse.Namespace(role=None, duration=None, mfa_code=None, filter="", tag=[])
    yield Runtime(
        args=args, factory=ClientFactory(), regions=list(sandbox.regions), config=load_config()
    )


def services(rt: Runtime) -> AppServices:
    return AppServices(
        factory=rt.factory, regions=rt.regions, config=rt.config, clock=rt.clock, runtime=rt
    )


def staging(sandbox: Any) -> tuple[Any, Credentials, str]:
    """An ssm client of the operator's StagingDev role, its credentials, and a Staging node."""
    raw = sandbox.role_credentials("StagingDev", session_name="operator")
    exp = raw["Expiration"]
    if isinstance(exp, str):
        exp = datetime.fromisoformat(exp.replace("Z", "+00:00"))
    creds = Credentials(
        raw["AccessKeyId"],
        raw["SecretAccessKey"],
        raw["SessionToken"],
        exp,
        "StagingDev",
        STAGING_ARN,
    )
    ssm = boto3.client(
        "ssm",
        region_name="us-east-1",
        endpoint_url=sandbox.endpoint_url,
        **creds.boto_kwargs(),
    )
    node = next(
        node_id
        for node_id, n in sandbox.state.nodes["us-east-1"].items()
        if node_tags("us-east-1", n, node_id).get("project") == "Staging"
        and n.ping_status == "Online"
        and node_id.startswith("i-")
    )
    return ssm, creds, node


async def wait_for(pilot: Any, predicate: Any, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await pilot.pause(0.05)


def messages(app: SessiontuiApp) -> list[str]:
    return [f"{n.title} {n.message}" for n in app._notifications]


async def test_sessions_panel_lists_and_ends_sessions_started_elsewhere(
    sandbox: Any, runtime: Runtime
) -> None:
    ssm, _, node = staging(sandbox)
    a = ssm.start_session(Target=node, Reason="TICKET-9")["SessionId"]
    b = ssm.start_session(Target=node)["SessionId"]
    app = SessiontuiApp(services(runtime))
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(app, pilot)
            app.main_screen.node_list.focus()
            await pilot.press("S")
            await wait_for(pilot, lambda: isinstance(app.screen, SessionsScreen))
            panel = app.screen
            assert isinstance(panel, SessionsScreen)
            await wait_for(pilot, lambda: panel.loaded)
            ids = [s.session_id for s in panel.sessions]
            assert a in ids and b in ids
            table = panel.query_one("#sessions-table")
            await pilot.pause(1.2)  # a redraw with the panel's width known
            row = [str(c) for c in table.get_row_at(ids.index(a))]  # type: ignore[attr-defined]
            # the node by the name the operator knows it by; at 120 columns the widest cells
            # wrap rather than being cut at the panel's edge (`operat`)
            name = next(n.display_name for n in app.main_screen.node_list.nodes if n.id == node)

            def whole(cell: str) -> str:  # the cell's text with its wrapping undone
                return "".join(cell.split())

            assert whole(row[0]) == whole(f"{name} ({node})"), row
            assert row[2] == "TICKET-9" and row[6] == "StagingDev"
            assert whole(row[4]).endswith("(maxsession60min)")
            assert whole(row[7]) == a, row
            table.move_cursor(row=ids.index(a))  # type: ignore[attr-defined]
            await pilot.press("x")  # asks first, as X does
            await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
            assert a in app.screen.question  # type: ignore[attr-defined]
            assert session_status(sandbox, "us-east-1", a) != "Terminated"
            await pilot.press("y")
            await wait_for(pilot, lambda: session_status(sandbox, "us-east-1", a) == "Terminated")
            await wait_for(pilot, lambda: a not in [s.session_id for s in panel.sessions])
            assert session_status(sandbox, "us-east-1", b) != "Terminated"
            await pilot.press("X")
            await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
            await pilot.press("y")
            await wait_for(pilot, lambda: session_status(sandbox, "us-east-1", b) == "Terminated")
            assert any(f"terminated {b}" in m for m in messages(app))
            await pilot.press("escape")
            assert not isinstance(app.screen, SessionsScreen)
    finally:
        for sid in (a, b):
            ssm.terminate_session(SessionId=sid)


async def test_tui_start_ends_a_killed_runs_sessions_after_the_first_frame(
    sandbox: Any, runtime: Runtime
) -> None:
    ssm, creds, node = staging(sandbox)
    sid = ssm.start_session(Target=node)["SessionId"]
    # the killed run had taken the role: its credentials are in the cache, its entry in the journal
    CredentialCache().put(creds, None, os.environ["AWS_ACCESS_KEY_ID"])
    entry = JournalEntry(
        session_id=sid,
        region="us-east-1",
        endpoint_url=sandbox.endpoint_url,
        target=node,
        kind="forward",
        role_name="StagingDev",
        role_arn=STAGING_ARN,
        started_at=datetime.now(UTC).isoformat(),
        pid=0,  # no such process: nobody else will end it
    )
    journal = SessionJournal()
    journal.directory.mkdir(parents=True, mode=0o700)
    (journal.directory / f"{sid}.json").write_text(json.dumps(entry.to_json()))
    app = SessiontuiApp(services(runtime))
    async with app.run_test(size=(180, 50)) as pilot:
        await settle(app, pilot)
        await wait_for(pilot, lambda: any(sid in m for m in messages(app)), timeout=20)
        assert any("earlier sessiontui" in m for m in messages(app))
    assert session_status(sandbox, "us-east-1", sid) == "Terminated"
    assert journal.entries() == []
