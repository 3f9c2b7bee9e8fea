"""Identity Center's scenes for the README and the snapshot tests (see ui_scenes.py): the device
sign-in dialog, the role picker with the portal's permission sets beside the IAM roles, and one
fleet across two accounts with the ACCOUNT column.

What the sandbox makes up on each run is pinned, as ui_scenes pins the clock and the fleet:

- the sign-in's user code and the sandbox's port in its address (both random), and the code's
  life on the FakeClock (PINNED_CODE, PINNED_ORIGIN, CODE_LEFT);
- the permission sets' credentials: real ones from GetRoleCredentials, their expiry moved onto
  the FakeClock (PRODUCTION_LEFT, STAGING_LEFT);
- the two accounts' nodes: the recorded demo fleet's Production and Staging nodes stand for what
  each account lists (the sandbox's own account nodes carry random instance ids and live pings).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from typing import Any
from unittest import mock

from sessiontui.access.base import Prompts
from sessiontui.core.access import Access
from sessiontui.core.clock import FakeClock
from sessiontui.core.node import Node
from sessiontui.ui.services import AppServices
from test_ui_support import FakeFleet

PINNED_CODE = "WDJB-MJHT"
PINNED_ORIGIN = "http://127.0.0.1:4570"
CODE_LEFT = 9 * 60 + 42
PRODUCTION = "Production/ProductionAccess"
STAGING = "Staging/DeveloperAccess"
PRODUCTION_LEFT = 47 * 60 + 12  # ProductionAccess lasts one hour
STAGING_LEFT = 3 * 3600 + 21 * 60 + 5  # DeveloperAccess lasts four


def _identity_center(services: AppServices) -> Any:
    assert services.runtime is not None
    return next(s for s in services.runtime.access_book.sources if s.kind == "identity-center")


def _sign_in(sandbox: Any) -> None:
    """A sign-in already done, as `aws sso login` leaves it (the sandbox approves by itself)."""
    from sessiontui.aws.clients import ClientFactory
    from sessiontui.aws.sso_device import DeviceSignIn
    from sessiontui.aws_profiles import find_sso_session

    sandbox.sso_auto_approve = True
    try:
        DeviceSignIn(find_sso_session("sandbox"), ClientFactory()).run(lambda code: None)
    finally:
        sandbox.sso_auto_approve = False


def _no_browser(sandbox: Any, services: AppServices, clock: FakeClock) -> AppServices:
    # the dialog says so; and a run of `make screenshots` on a desktop opens no browser tab
    return replace(services, no_browser=True)


def _listed(sandbox: Any, services: AppServices, clock: FakeClock) -> AppServices:
    _sign_in(sandbox)
    _identity_center(services).accounts(fresh=True)  # the portal's listing, cached for `r`
    return services


def _pinned(services: AppServices, name: str, left: int, clock: FakeClock) -> Access:
    book = services.runtime.access_book if services.runtime is not None else None
    assert book is not None
    access = book.obtain(book.find(name), None, Prompts())
    ends = clock.now() + timedelta(seconds=left)
    return replace(access, credentials=replace(access.credentials, expiration=ends), ends_at=ends)


class AccountFleet:
    """list_fleet for two accounts: each listing gets the nodes of the project its permission
    set is scoped to, chosen by the credentials it lists with."""

    def __init__(self, nodes: list[Node], projects: dict[str, str]) -> None:
        self.fleets = {
            name: FakeFleet([n for n in nodes if n.tags.get("project") == project], page=10)
            for name, project in projects.items()
        }

    def __call__(self, factory: Any, regions: list[str], **kwargs: Any) -> Any:
        creds = getattr(factory, "credentials", None)
        fleet = self.fleets.get(getattr(creds, "role_name", ""), FakeFleet([]))
        return fleet(factory, regions, **kwargs)


def _two_accounts(sandbox: Any, services: AppServices, clock: FakeClock) -> AppServices:
    from ui_scenes import load_fleet

    _sign_in(sandbox)
    staging = _pinned(services, STAGING, STAGING_LEFT, clock)
    fleet = AccountFleet(load_fleet(), {PRODUCTION: "Production", STAGING: "Staging"})
    return replace(services, access=staging, list_fleet=fleet, list_fleets=None)


# ---- the scenes ------------------------------------------------------------------------------


def sign_in_scene(stage: Any) -> Callable[[Any], Any]:
    async def scene(pilot: Any) -> None:
        from sessiontui.ui.screens.sign_in import SignInScreen
        from ui_scenes import settle, still, wait_for

        app = pilot.app
        original = SignInScreen.__init__

        def pinned(self: SignInScreen, prompt: Any, *args: Any, **kwargs: Any) -> None:
            prompt = replace(
                prompt,
                url=f"{PINNED_ORIGIN}/_sandbox/device?user_code={PINNED_CODE}",
                user_code=PINNED_CODE,
                expires_at=stage.clock.now() + timedelta(seconds=CODE_LEFT),
            )
            original(self, prompt, *args, **kwargs)
            stage.cleanups.append(self.cancel.set)  # the worker stops polling on the way out

        await settle(pilot)
        with mock.patch.object(SignInScreen, "__init__", pinned):
            await pilot.press("r")
            await pilot.pause()
            await pilot.press(*"identity", "enter")  # no duration to choose: it signs in
            await wait_for(pilot, lambda: isinstance(app.screen, SignInScreen), "sign-in dialog")
        app.clear_notifications()  # "asking Identity Center…" comes and goes on its own timer
        await still(pilot)

    return scene


def portal_roles_scene(stage: Any) -> Callable[[Any], Any]:
    async def scene(pilot: Any) -> None:
        from ui_scenes import _open_picker, still

        picker = await _open_picker(pilot)
        names = [line.offer.name for line in picker.shown]
        await pilot.press(*["down"] * (names.index(PRODUCTION) - 1))  # _open_picker moved one
        await still(pilot)

    return scene


def two_accounts_scene(stage: Any) -> Callable[[Any], Any]:
    async def scene(pilot: Any) -> None:
        from ui_scenes import select_node, settle, still, wait_for

        app = pilot.app
        await settle(pilot)
        production = _pinned(app.services, PRODUCTION, PRODUCTION_LEFT, stage.clock)
        app.access.activate(production)
        nodes = app.main_screen.node_list
        await wait_for(
            pilot,
            lambda: {n.account_name for n in nodes.nodes} == {"Production", "Staging"},
            "both accounts listed",
        )
        await settle(pilot)
        app.clear_notifications()
        await select_node(pilot, "stg-web-01")
        await still(pilot)

    return scene


def sso_scenes() -> tuple[Any, ...]:
    from ui_scenes import Scene

    return (
        Scene(
            "sso-sign-in",
            "Identity Center sign-in: the address, the code, its countdown",
            None,
            sign_in_scene,
            prepare=_no_browser,
        ),
        Scene(
            "sso-roles",
            "The role picker: IAM roles beside the portal's permission sets",
            None,
            portal_roles_scene,
            prepare=_listed,
        ),
        Scene(
            "sso-fleet",
            "One fleet across two accounts, with the ACCOUNT column",
            None,
            two_accounts_scene,
            prepare=_two_accounts,
        ),
    )
