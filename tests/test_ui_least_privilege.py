"""The TUI's main paths with only what operators are given (issue 24): the SSO guide's
ProductionPermissionSet and DevelopmentPermissionSet (../shared/seeds, verbatim) and AWS's
quickstart end-user policy. Each lists its account's fleet, opens a shell on a node its policy
reaches, is told plainly that it may not forward ports (the forward dialog then says so before
asking for ports), and is told which session it opened stays open because it may not end it.

One module sandbox; StartSession and TerminateSession are the sandbox's own (its IAM evaluator
decides), only the terminal hand-over is scripted, as in the snapshot scenes.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import pytest

from sessiontui.aws.clients import ClientFactory
from sessiontui.config import load_config
from sessiontui.plugin.output import Ending
from sessiontui.plugin.shell import ShellResult, ShellRunner
from sessiontui.ui.app import SessiontuiApp
from sessiontui.ui.screens.forward import ForwardScreen
from sessiontui.ui.services import AppServices
from test_ui_access import first_forward_ready, messages, wait_for
from test_ui_identity_center import _signed_in
from test_ui_support import settle

PRODUCTION, STAGING = "210987654321", "345678901234"
# (the access, its account, a node its policy lets it open a shell on, one it does not)
CASES = [
    ("Production/ProductionPermissionSet", PRODUCTION, "prod-api-01", "prod-analytics-01"),
    ("Staging/DevelopmentPermissionSet", STAGING, "staging-sandbox-01", "staging-api-01"),
    ("Production/SessionManagerEndUser", PRODUCTION, "prod-api-01", ""),
]


@pytest.fixture
def app_services(
    sandbox: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[AppServices]:
    for key, value in sandbox.env().items():
        monkeypatch.setenv(key, value)
    for key in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "DISPLAY"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    sandbox.clear_faults()
    _signed_in(sandbox)
    yield AppServices(
        factory=ClientFactory(), regions=["us-east-1"], config=load_config(), no_browser=True
    )
    sandbox.clear_faults()


def _exited(self: ShellRunner) -> ShellResult:
    """The operator typed `exit` at once: StartSession was real, the terminal is not."""
    return ShellResult(
        self.command.session_id, 3.0, Ending.EXITED, "session exited normally", 0, None
    )


async def _select(app: SessiontuiApp, pilot: Any, name: str) -> None:
    nodes = app.main_screen.node_list
    app.main_screen.filter_input.value = name
    await pilot.pause()
    assert [n.name for n in nodes.visible_nodes()] == [name]
    assert nodes.select_id(nodes.visible_nodes()[0].id)
    nodes.focus()


@pytest.mark.parametrize(("access", "account", "reached", "refused"), CASES)
async def test_list_shell_forward_and_end_with_only_what_the_policy_grants(
    sandbox: Any, app_services: AppServices, access: str, account: str, reached: str, refused: str
) -> None:
    app_services.initial_roles = [access]
    app = SessiontuiApp(app_services)
    async with app.run_test(size=(180, 50)) as pilot:
        # the fleet: DescribeInstanceProperties and DescribeInstances are all it may list with
        nodes = app.main_screen.node_list
        await wait_for(pilot, lambda: len(app.access.held) == 1, timeout=30)
        await wait_for(pilot, lambda: any(n.name == reached for n in nodes.nodes), timeout=30)
        await settle(app, pilot)
        assert {n.account_id for n in nodes.nodes} == {account}
        if refused:  # listed though its policy opens no session there
            assert refused in {n.name for n in nodes.nodes}

        # a shell on a node the policy reaches: it opens, and when it ends AWS refuses
        # TerminateSession, so the operator is told which session stays open and why
        await _select(app, pilot, reached)
        app.clear_notifications()
        with (
            mock.patch.object(app, "suspend", contextlib.nullcontext),
            mock.patch.object(ShellRunner, "spawn", lambda self: None),
            mock.patch.object(ShellRunner, "run", _exited),
        ):
            await pilot.press("enter")
            await wait_for(pilot, lambda: any("session left open" in m for m in messages(app)))
        opened = [r for r in sandbox.state.sessions.values() if r.node_name == reached][-1]
        assert opened.owner.startswith(f"arn:aws:sts::{account}:assumed-role/AWSReservedSSO_")
        left = next(m for m in messages(app) if "session left open" in m)
        assert f"session {opened.session_id} stays open on AWS" in left
        assert "this access may not end it" in left and "ssm:TerminateSession" in left
        assert sandbox.state.session_status(opened) == "Connected"
        sandbox.state.end_session(opened, "ended by the test")  # the account's admin would

        # a port forward: refused for its document, said plainly
        app.clear_notifications()
        await pilot.press("f")
        await wait_for(pilot, lambda: isinstance(app.screen, ForwardScreen))
        await pilot.press(*"80", "enter")
        await wait_for(pilot, lambda: any("failed" in m for m in messages(app)), timeout=20)
        said = next(m for m in messages(app) if "failed" in m)
        assert "this access may open shells but not port forwards" in said, said
        assert "document/AWS-StartPortForwardingSession" in said
        # asked again, the dialog says so before asking for ports
        await _select(app, pilot, reached)
        await pilot.press("f")
        await wait_for(pilot, lambda: isinstance(app.screen, ForwardScreen))
        refusal = app.screen.query_one("#forward-refused").render()
        assert "may open shells but not port forwards" in str(refusal)
        await pilot.press("escape")

        # a node outside its policy: StartSession refused, in AWS's words, nothing left open
        if refused:
            before = len(sandbox.state.sessions)
            app.clear_notifications()
            await _select(app, pilot, refused)
            await pilot.press("enter")
            await wait_for(pilot, lambda: any("not authorized" in m for m in messages(app)))
            assert len(sandbox.state.sessions) == before


async def test_the_administrators_set_opens_and_ends_every_kind(
    sandbox: Any, app_services: AppServices
) -> None:
    """SessionManagerAdmin, the demo's administrator: the same paths end where they should, with
    nothing left open: the shell is ended by its own TerminateSession, the forward serves and is
    ended when stopped."""
    if sandbox.plugin_path is None:
        pytest.skip("the stand-in plugin is not available")
    app_services.initial_roles = ["Production/SessionManagerAdmin"]
    app = SessiontuiApp(app_services)
    async with app.run_test(size=(180, 50)) as pilot:
        nodes = app.main_screen.node_list
        await wait_for(pilot, lambda: len(app.access.held) == 1, timeout=30)
        await wait_for(
            pilot, lambda: any(n.name == "prod-analytics-01" for n in nodes.nodes), timeout=30
        )
        await settle(app, pilot)
        await _select(app, pilot, "prod-analytics-01")  # any project: its policy names none
        app.clear_notifications()
        with (
            mock.patch.object(app, "suspend", contextlib.nullcontext),
            mock.patch.object(ShellRunner, "spawn", lambda self: None),
            mock.patch.object(ShellRunner, "run", _exited),
        ):
            await pilot.press("enter")
            await wait_for(pilot, lambda: any("shell ended" in m for m in messages(app)))
        shell = [r for r in sandbox.state.sessions.values() if r.node_name == "prod-analytics-01"]
        assert sandbox.state.session_status(shell[-1]) == "Terminated"
        assert shell[-1].terminated_by.startswith(
            "arn:aws:sts::210987654321:assumed-role/AWSReservedSSO_SessionManagerAdmin_"
        )
        assert not any("left open" in m for m in messages(app))
        await pilot.press("f")
        await wait_for(pilot, lambda: isinstance(app.screen, ForwardScreen))
        await pilot.press(*"80", "enter")
        entry = await first_forward_ready(app, pilot)
        entry.session.stop()
        await wait_for(pilot, lambda: entry.forward.ended, timeout=20)
        assert entry.session.terminated is True
        assert not any("left open" in m for m in messages(app))
