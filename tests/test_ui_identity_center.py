"""The TUI with Identity Center against the sandbox: the role picker's sign-in line, the sign-in
dialog (code, countdown, no browser, Esc cancels), the portal's permission sets searched by
typing, and a permission set taken: the header counts down, the fleet is that account's, with an
ACCOUNT column."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sessiontui.aws.clients import ClientFactory
from sessiontui.config import load_config
from sessiontui.ui.app import SessiontuiApp
from sessiontui.ui.screens.roles import RolePickerScreen
from sessiontui.ui.screens.sign_in import SignInScreen
from sessiontui.ui.services import AppServices
from sso_support import answer
from test_ui_access import first_forward_ready, messages, wait_for
from test_ui_support import settle

STAGING = "345678901234"


@pytest.fixture
def app_services(
    sandbox: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[AppServices]:
    for key, value in sandbox.env().items():
        monkeypatch.setenv(key, value)
    for key in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "DISPLAY"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))  # the AWS CLI's token cache lives here
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    sandbox.clear_faults()
    yield AppServices(
        factory=ClientFactory(),
        regions=list(sandbox.regions),
        config=load_config(),
        no_browser=True,
    )
    sandbox.clear_faults()


def _approve(sandbox: Any, user_code: str) -> None:
    status, text = answer(sandbox, user_code, "approve")
    assert status == 200 and "approved" in text


async def _open_sign_in(app: SessiontuiApp, pilot: Any) -> SignInScreen:
    await pilot.press("r")
    await pilot.pause()
    picker = app.screen
    assert isinstance(picker, RolePickerScreen)
    assert any(line.offer.needs == "listing" for line in picker.lines)
    await pilot.press(*"identity")  # typing narrows the list
    await pilot.pause()
    assert [line.offer.needs for line in picker.shown] == ["listing"]
    await pilot.press("enter")  # the line has no duration to choose: Enter signs in at once
    await wait_for(pilot, lambda: isinstance(app.screen, SignInScreen))
    screen = app.screen
    assert isinstance(screen, SignInScreen)
    return screen


async def test_sign_in_pick_a_permission_set_and_list_its_account(
    sandbox: Any, app_services: AppServices
) -> None:
    app = SessiontuiApp(app_services)
    async with app.run_test(size=(180, 50)) as pilot:
        await settle(app, pilot)
        screen = await _open_sign_in(app, pilot)
        text = " ".join(str(w.render()) for w in screen.query("Static"))
        assert screen.prompt.user_code in text
        assert "/_sandbox/device?user_code=" in text
        assert "the code expires in 0:09:5" in text or "the code expires in 0:10:00" in text
        assert "not opening a browser (--no-browser)" in text
        _approve(sandbox, screen.prompt.user_code)
        # signed in: the portal is listed, the picker opens again with the permission sets
        await wait_for(
            pilot,
            lambda: (
                isinstance(app.screen, RolePickerScreen)
                and any(line.offer.account_name for line in app.screen.lines)
            ),
        )
        picker = app.screen
        assert isinstance(picker, RolePickerScreen)
        names = {line.offer.name for line in picker.lines}
        assert {"Production/ProductionAccess", "Staging/DeveloperAccess"} <= names
        await pilot.press(*"developer")
        await pilot.pause()
        assert [line.offer.name for line in picker.shown] == ["Staging/DeveloperAccess"]
        duration = picker.query_one("#duration")
        # nothing to choose: the field is off, says so whole, and one Enter takes the set
        assert duration.disabled and duration.placeholder == "fixed"  # type: ignore[attr-defined]
        hint = str(picker.query_one("#chaining").render())
        assert "permission set's session duration decides" in hint
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.access.active is not None)
        active = app.access.active
        assert active is not None and active.access.account_id == STAGING
        header = app.main_screen.header.render().plain
        assert "Staging/DeveloperAccess 3:59:" in header, header  # four hours, counting down
        nodes = app.main_screen.node_list
        await wait_for(
            pilot,
            lambda: nodes.nodes and all(n.account_id == STAGING for n in nodes.nodes),
            timeout=30,
        )
        assert "staging-api-01" in {n.name for n in nodes.nodes}
        assert "ACCOUNT" in nodes.render_line(0).text
        assert "Staging" in "".join(nodes.render_line(y).text for y in range(1, 4))
        assert any("Staging/DeveloperAccess taken" in m for m in messages(app))


async def test_escape_cancels_the_sign_in(sandbox: Any, app_services: AppServices) -> None:
    app = SessiontuiApp(app_services)
    async with app.run_test(size=(180, 50)) as pilot:
        await settle(app, pilot)
        await _open_sign_in(app, pilot)
        await pilot.press("escape")
        await wait_for(pilot, lambda: any("sign-in cancelled" in m for m in messages(app)))
        assert not isinstance(app.screen, SignInScreen | RolePickerScreen)
        assert app.access.active is None


def _signed_in(sandbox: Any) -> None:
    """A sign-in already done (as by `sessiontui --sso-login` or `aws sso login`)."""
    from sessiontui.aws.sso_device import DeviceSignIn
    from sessiontui.aws_profiles import find_sso_session

    sandbox.sso_auto_approve = True
    try:
        DeviceSignIn(find_sso_session("sandbox"), ClientFactory()).run(lambda code: None)
    finally:
        sandbox.sso_auto_approve = False


async def _take(app: SessiontuiApp, pilot: Any, search: str, name: str) -> None:
    await pilot.press("r")
    await pilot.pause()
    picker = app.screen
    assert isinstance(picker, RolePickerScreen)
    if any(line.offer.needs == "listing" for line in picker.lines):
        await pilot.press(*"identity", "enter")  # signed in already: it only lists the portal
        await wait_for(
            pilot,
            lambda: (
                isinstance(app.screen, RolePickerScreen)
                and any(line.offer.account_name for line in app.screen.lines)
            ),
        )
        picker = app.screen
        assert isinstance(picker, RolePickerScreen)
    await pilot.press(*search)
    await pilot.pause()
    assert [line.offer.name for line in picker.shown] == [name]
    await pilot.press("enter")
    await wait_for(pilot, lambda: app.access.active is not None and app.access.active.name == name)


async def test_two_accounts_one_fleet_and_a_forward_in_the_second(
    sandbox: Any, app_services: AppServices
) -> None:
    if sandbox.plugin_path is None:
        pytest.skip("the stand-in plugin is not available")
    _signed_in(sandbox)
    app = SessiontuiApp(app_services)
    async with app.run_test(size=(180, 50)) as pilot:
        await settle(app, pilot)
        await _take(app, pilot, "productionacc", "Production/ProductionAccess")
        await _take(app, pilot, "developer", "Staging/DeveloperAccess")
        nodes = app.main_screen.node_list
        await wait_for(
            pilot,
            lambda: {n.account_name for n in nodes.nodes} == {"Production", "Staging"},
            timeout=30,
        )
        assert "also Production/ProductionAccess" in app.main_screen.header.render().plain
        app.main_screen.filter_input.value = "account:Production api-01"
        await pilot.pause()
        assert [n.name for n in nodes.visible_nodes()] == ["prod-api-01"]
        # a forward on a Production node uses Production's credentials, though Staging was last
        assert nodes.select_id(nodes.visible_nodes()[0].id)
        nodes.focus()
        await pilot.press("f")
        await pilot.pause()
        await pilot.press(*"80", "enter")
        entry = await first_forward_ready(app, pilot)
        record = [r for r in sandbox.state.sessions.values() if r.node_name == "prod-api-01"][-1]
        assert record.owner.startswith(
            "arn:aws:sts::210987654321:assumed-role/AWSReservedSSO_ProductionAccess_"
        )
        active = app.access.active
        assert active is not None and active.name == "Production/ProductionAccess"
        entry.session.stop()
        await wait_for(pilot, lambda: entry.forward.ended, timeout=20)


async def test_every_role_given_at_start_is_held_and_one_fleet_listed(
    sandbox: Any, app_services: AppServices
) -> None:
    """`sessiontui --role Production/ProductionAccess --role Staging/DeveloperAccess`: the TUI
    takes both (a sign-in already done), and lists both accounts in one fleet."""
    _signed_in(sandbox)
    app_services.initial_roles = [
        "Production/ProductionAccess",
        "Nope/Nothing",
        "Staging/DeveloperAccess",
    ]
    app = SessiontuiApp(app_services)
    async with app.run_test(size=(180, 50)) as pilot:
        await pilot.pause()  # each role taken lists again: listings are replaced, not awaited
        await wait_for(pilot, lambda: len(app.access.held) == 2, timeout=30)
        assert sorted(h.name for h in app.access.held.values()) == [
            "Production/ProductionAccess",
            "Staging/DeveloperAccess",
        ]
        assert any("Nope/Nothing" in text for text in messages(app))
        nodes = app.main_screen.node_list
        await wait_for(
            pilot,
            lambda: {n.account_name for n in nodes.nodes} == {"Production", "Staging"},
            timeout=30,
        )
