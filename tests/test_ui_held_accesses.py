"""Several accesses held at once (one per account): each counts down in the header, and one that
is not the active one ends on its own: its forwards end, the operator is told which access and why,
and the active one goes on. The active one running out first hands over to the next one held.

Real app, real sandbox (Identity Center sign-in, GetRoleCredentials), the real plugin for the
forward; time is a FakeClock moved with the sandbox's (test_ui_access.Env)."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from sessiontui.access.base import Prompts
from sessiontui.config import load_config
from sessiontui.core.access import Access
from sessiontui.ui.app import SessiontuiApp
from sessiontui.ui.screens.confirm import ConfirmScreen
from test_ui_access import Env, env, first_forward_ready, messages, plugin_env, services, wait_for  # noqa: F401
from test_ui_identity_center import _signed_in
from test_ui_support import settle

PRODUCTION = "Production/ProductionAccess"
STAGING = "Staging/DeveloperAccess"


@pytest.fixture
def ic_env(
    env: Env,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> Env:
    """`env`, signed in to the sandbox's Identity Center (as `aws sso login` leaves it)."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))  # the AWS CLI's token cache lives here
    monkeypatch.delenv("DISPLAY", raising=False)
    _signed_in(env.sandbox)
    return env


def _held(app: SessiontuiApp, on: Env, name: str, seconds: int) -> Access:
    """The permission set's real credentials, ending `seconds` from now on the FakeClock."""
    book = app.access.book
    access = book.obtain(book.find(name), None, Prompts())
    ends = on.clock.now() + timedelta(seconds=seconds)
    return replace(access, credentials=replace(access.credentials, expiration=ends), ends_at=ends)


def _header(app: SessiontuiApp) -> str:
    return app.main_screen.header.render().plain


async def _two_held(app: SessiontuiApp, pilot: Any, on: Env, first: int, second: int) -> None:
    production = await asyncio.to_thread(_held, app, on, PRODUCTION, first)
    staging = await asyncio.to_thread(_held, app, on, STAGING, second)
    app.access.activate(production)
    app.access.activate(staging)  # the active one: the last taken
    await pilot.pause()


async def test_a_held_access_that_is_not_active_ends_alone(
    plugin_env: Env,  # noqa: F811
    ic_env: Env,
) -> None:
    env = ic_env  # noqa: F811
    app = SessiontuiApp(services(env, config=load_config(), no_browser=True))
    async with app.run_test(size=(180, 50)) as pilot:
        await settle(app, pilot)
        await _two_held(app, pilot, env, 600, 1800)
        header = _header(app)
        assert f"{STAGING} 0:30:00" in header, header
        # the other access held by name, with its own time left
        assert f"also {PRODUCTION} 0:10:00" in header, header
        nodes = app.main_screen.node_list
        await wait_for(
            pilot,
            lambda: {n.account_name for n in nodes.nodes} == {"Production", "Staging"},
            timeout=30,
        )
        # a forward in Production (which becomes the active one for it), then Staging's node
        # is chosen and Staging is the active one again
        app.main_screen.filter_input.value = "prod-api-01"
        await pilot.pause()
        assert nodes.select_id(nodes.visible_nodes()[0].id)
        nodes.focus()
        await pilot.press("f")
        await pilot.pause()
        await pilot.press(*"80", "enter")
        entry = await first_forward_ready(app, pilot)
        staging_node = next(n for n in nodes.nodes if n.name == "staging-api-01")
        app.access.use_for(staging_node)
        assert app.access.active is not None and app.access.active.name == STAGING
        env.advance(300)
        app.main_screen.tick()
        await pilot.pause()
        assert f"also {PRODUCTION} 0:05:00" in _header(app)
        env.advance(300)
        app.main_screen.tick()
        await wait_for(pilot, lambda: entry.forward.ended, timeout=20)
        assert entry.forward.how == "expired"
        said = [m for m in messages(app) if f"permission set {PRODUCTION} expired" in m]
        assert said, messages(app)
        assert "its credentials expired" in said[0] and "in Production" in said[0]
        assert f"{STAGING} is still held" in said[0]
        # the active one goes on, alone, without a re-authentication dialog
        active = app.access.active
        assert active is not None and active.name == STAGING
        assert [h.name for h in app.access.held.values()] == [STAGING]
        assert not isinstance(app.screen, ConfirmScreen)
        header = _header(app)
        assert f"{STAGING} 0:20:00" in header and "also" not in header, header


async def test_the_active_access_ending_first_hands_over_to_the_next(ic_env: Env) -> None:
    env = ic_env  # noqa: F811
    app = SessiontuiApp(services(env, config=load_config(), no_browser=True))
    async with app.run_test(size=(180, 50)) as pilot:
        await settle(app, pilot)
        await _two_held(app, pilot, env, 1800, 600)  # Staging, the active one, ends first
        assert f"also {PRODUCTION} 0:30:00" in _header(app)
        env.advance(600)
        app.main_screen.tick()
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.pause()  # the notices are messages: handled after the push
        active = app.access.active
        assert active is not None and active.name == PRODUCTION
        said = [m for m in messages(app) if f"permission set {STAGING} expired" in m]
        assert said and f"permission set {PRODUCTION} is the active one now" in said[0], messages(
            app
        )
        assert "in Staging" in said[0]
        header = _header(app)
        assert f"{PRODUCTION} 0:20:00" in header and "more" not in header, header


async def test_an_approved_request_beside_roles_leaves_every_node_its_account(
    ic_env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ProdOps taken after start, an approved just-in-time request, then Production's
    permission set: every node keeps its account (the grant's token does not list, it opens its
    nodes), and Enter on a node of ProdOps' account opens it under ProdOps, not under the
    permission set taken last."""
    from sessiontui.access.iam_role import role_access
    from sessiontui.plugin.output import Ending
    from sessiontui.plugin.shell import ShellResult
    from sessiontui.plugin.supervisor import SessionSupervisor
    from sessiontui.ui.screens.access_request import AccessRequestScreen
    from test_ui_access import role_credentials
    from test_ui_node_access import select
    from test_ui_support import ScriptedShell

    env = ic_env  # noqa: F811
    opened: list[str] = []

    def open_shell(self: SessionSupervisor, target: Any, **kw: Any) -> ScriptedShell:
        opened.append(self.access_name)
        return ScriptedShell(ShellResult("s-1", 1.0, Ending.EXITED, "exited", 0, None))

    monkeypatch.setattr(SessionSupervisor, "open_shell", open_shell)
    app = SessiontuiApp(services(env, config=load_config(), no_browser=True, reason="OPS-1"))
    async with app.run_test(size=(180, 50)) as pilot:
        await settle(app, pilot)
        spec = load_config().roles["ProdOps"]
        app.access.activate(role_access(spec, role_credentials(env, "ProdOps", 3600)))
        app.main_screen.node_list.show_out_of_scope = True
        await select(app, pilot, "pay-api-01")
        await pilot.press("a")
        await wait_for(pilot, lambda: isinstance(app.screen, AccessRequestScreen))
        await pilot.press(*"INC-1", "enter")
        await wait_for(
            pilot, lambda: app.access.active is not None and app.access.active.name[:3] == "oi-"
        )
        production = await asyncio.to_thread(_held, app, env, PRODUCTION, 3600)
        app.access.activate(production)
        await settle(app, pilot)
        nodes = app.main_screen.node_list.nodes
        blank = sorted(n.display_name for n in nodes if not n.account_id)
        assert not blank, blank
        assert {n.account_id for n in nodes} == {"123456789012", "210987654321"}
        await select(app, pilot, "prod-web-01")
        await pilot.press("enter")
        if app.screen is not app.main_screen:
            await pilot.press("enter")  # the reason given at start, prefilled
        await wait_for(pilot, lambda: bool(opened))
        assert opened == ["ProdOps"], messages(app)


async def test_escape_on_the_reason_keeps_the_access_that_was_active(ic_env: Env) -> None:
    """Staging's permission set is the active access and ProdOps is held for the demo account:
    Enter on prod-web-01 turns to ProdOps (the node's account's access), which asks a reason;
    Esc there leaves Staging the active one, as it was."""
    from sessiontui.access.iam_role import role_access
    from sessiontui.ui.screens.reason import ReasonScreen
    from test_ui_access import role_credentials

    env = ic_env  # noqa: F811
    app = SessiontuiApp(services(env, config=load_config(), no_browser=True))
    async with app.run_test(size=(180, 50)) as pilot:
        await settle(app, pilot)
        spec = load_config().roles["ProdOps"]
        app.access.activate(role_access(spec, role_credentials(env, "ProdOps", 3600)))
        staging = await asyncio.to_thread(_held, app, env, STAGING, 1800)
        app.access.activate(staging)
        nodes = app.main_screen.node_list
        await wait_for(
            pilot,
            lambda: any(
                n.name == "prod-web-01" and n.account_id == "123456789012" for n in nodes.nodes
            ),
            timeout=30,
        )
        app.main_screen.filter_input.value = "prod-web-01"
        await pilot.pause()
        assert nodes.select_id(nodes.visible_nodes()[0].id)
        nodes.focus()
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ReasonScreen))
        assert app.access.active is not None and app.access.active.name == "ProdOps"
        await pilot.press("escape")
        await pilot.pause()
        assert app.access.active is not None and app.access.active.name == STAGING
        assert f"{STAGING} 0:30:00" in _header(app) and "also ProdOps" in _header(app)
