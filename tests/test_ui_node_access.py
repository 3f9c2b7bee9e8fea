"""The TUI under just-in-time node access, against the real sandbox: a refused shell leads to the
request dialog, an auto-approved request becomes the access held (header countdown, the token's
credentials on StartSession), the requests panel, a manual approval, expiry, bad input."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest
from textual.widgets import DataTable, Static

import test_ui_access
from sessiontui.access.iam_role import role_access
from sessiontui.config import load_config
from sessiontui.plugin.output import Ending
from sessiontui.plugin.shell import ShellResult
from sessiontui.plugin.supervisor import SessionSupervisor
from sessiontui.ui.app import SessiontuiApp
from sessiontui.ui.screens.access_request import AccessRequestScreen
from sessiontui.ui.screens.access_requests import AccessRequestsScreen
from sessiontui.ui.screens.confirm import ConfirmScreen
from sessiontui_sandbox import ssm_access
from test_ui_access import Env, messages, role_credentials, services, wait_for
from test_ui_support import ScriptedShell, settle

env = test_ui_access.env  # the fixture: the app's FakeClock and the sandbox's clock together


@pytest.fixture
def shells(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """open_shell with a real StartSession (and TerminateSession) but no terminal hand-over."""
    calls: list[dict[str, Any]] = []

    def open_shell(self: SessionSupervisor, target: Any, **kw: Any) -> ScriptedShell:
        started = self.start_session(target.id, None, {}, kw.get("reason"))
        calls.append({"node": target.name, "access": self.access_name, "id": started.session_id})
        self.ssm.terminate_session(SessionId=started.session_id)
        return ScriptedShell(
            ShellResult(started.session_id, 5.0, Ending.EXITED, "session exited normally", 0, None)
        )

    monkeypatch.setattr(SessionSupervisor, "open_shell", open_shell)
    return calls


async def select(app: SessiontuiApp, pilot: Any, name: str) -> None:
    app.main_screen.filter_input.value = name
    await pilot.pause()
    app.main_screen.node_list.focus()
    await wait_for(
        pilot, lambda: getattr(app.main_screen.node_list.selected_node, "name", "") == name
    )


def fleet_admin(env: Env) -> Any:
    spec = load_config().roles["FleetAdmin"]
    return role_access(spec, role_credentials(env, "FleetAdmin", 3600))


async def test_refused_shell_leads_to_a_request_then_the_shell_under_it(
    env: Env, shells: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    app = SessiontuiApp(services(env, access=fleet_admin(env)))
    async with app.run_test(size=(180, 50)) as pilot:
        monkeypatch.setattr(app, "suspend", contextlib.nullcontext)
        await settle(app, pilot)
        await select(app, pilot, "pay-api-01")
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, AccessRequestScreen))
        why = str(app.screen.query_one("#access-why", Static).render())
        assert "governed by just-in-time node access" in why
        assert not shells
        await pilot.press(*"INC-1234", "enter")
        await wait_for(pilot, lambda: bool(shells))
        header = app.main_screen.header
        request_id = str(header.role_name)
        assert request_id.startswith("oi-")
        assert shells[0] == {"node": "pay-api-01", "access": request_id, "id": shells[0]["id"]}
        left = header.remaining()
        assert left is not None and 3500 < left <= 3660  # the app clock is fake, the sandbox's runs
        assert "just-in-time access ends" in header.role_text().plain
        assert any("approved for 0:59" in m or "approved for 1:00" in m for m in messages(app))

        # the panel: id, targets, reason, state, time left
        await pilot.press("A")
        await wait_for(pilot, lambda: isinstance(app.screen, AccessRequestsScreen))
        table = app.screen.query_one(DataTable)
        row = [str(c) for c in table.get_row_at(0)]
        assert row[:4] == [request_id, "pay-api-01", "INC-1234", "Approved"]
        assert row[4].startswith("0:59") or row[4].startswith("1:00")
        await pilot.press("escape")

        # the token opens only its nodes: another governed node is refused in words
        await select(app, pilot, "pay-api-02")
        await pilot.press("enter")
        await pilot.pause()
        assert any("not among the nodes this access was granted for" in m for m in messages(app))

        # at expiry the access ends like a role: the header says so
        env.advance(3700)
        await wait_for(pilot, lambda: header.expired)
        assert app.access.active is None and app.access.expired is not None
        assert app.access.expired.name == request_id
        assert "expired" in header.role_text().plain
        # said as what it is, an access request, not a role; and asked for again, not renewed
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await wait_for(
            pilot, lambda: any(f"access request {request_id} expired" in m for m in messages(app))
        )
        assert not any(f"role {request_id}" in m for m in messages(app))
        assert app.screen.question == (  # type: ignore[attr-defined]
            f"Access request {request_id} expired. Request access to its nodes again?"
        )
        await pilot.press("y")
        await wait_for(pilot, lambda: isinstance(app.screen, AccessRequestScreen))
        assert app.screen.query_one("#access-targets").value == "pay-api-01"  # type: ignore[attr-defined]
        assert "expired" in str(app.screen.query_one("#access-why", Static).render())


async def test_manual_request_from_the_key_approved_while_waiting(
    env: Env, shells: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    app = SessiontuiApp(services(env, access=fleet_admin(env)))
    async with app.run_test(size=(180, 50)) as pilot:
        monkeypatch.setattr(app, "suspend", contextlib.nullcontext)
        await settle(app, pilot)
        await select(app, pilot, "pay-ledger-01")
        await pilot.press("a")
        await wait_for(pilot, lambda: isinstance(app.screen, AccessRequestScreen))
        assert app.screen.query_one("#access-targets").value == "pay-ledger-01"  # type: ignore[attr-defined]
        await pilot.press("enter")  # no reason yet
        error = app.screen.query_one("#access-error", Static)
        assert "a reason is required" in str(error.render())
        await pilot.press(*"CHG-77 ledger repair", "enter")
        await wait_for(pilot, lambda: any("Pending" in m for m in messages(app)))
        (request,) = [
            r
            for r in env.sandbox.state.access.requests.values()
            if r.reason == "CHG-77 ledger repair"
        ]
        assert app.main_screen.header.role_name == "FleetAdmin"  # nothing changed while pending
        ssm_access.decide(env.sandbox.state, "approve", request.request_id)
        await wait_for(
            pilot, lambda: app.main_screen.header.role_name == request.request_id, timeout=20
        )
        left = app.main_screen.header.remaining()
        assert left is not None and 7100 < left <= 7260  # the manual policy's two hours
        await pilot.press("enter")
        await wait_for(pilot, lambda: bool(shells))
        assert shells[0]["node"] == "pay-ledger-01"


async def test_the_dialog_refuses_bad_targets(env: Env) -> None:
    app = SessiontuiApp(services(env, access=fleet_admin(env)))
    async with app.run_test(size=(180, 50)) as pilot:
        await settle(app, pilot)
        await select(app, pilot, "pay-api-01")
        await pilot.press("a")
        await wait_for(pilot, lambda: isinstance(app.screen, AccessRequestScreen))
        app.screen.query_one("#access-targets").value = ",".join(["pay-api-01"] * 6)  # type: ignore[attr-defined]
        await pilot.press(*"INC-1", "enter")
        assert "at most 5 nodes" in str(app.screen.query_one("#access-error", Static).render())
        app.screen.query_one("#access-targets").value = "project=Payments, pay-api-01"  # type: ignore[attr-defined]
        await pilot.press("enter")
        assert "a tag target stands alone" in str(
            app.screen.query_one("#access-error", Static).render()
        )
        # a tag target that takes in the restricted vault: the deny policy's words come back
        app.screen.query_one("#access-targets").value = "project=Payments"  # type: ignore[attr-defined]
        await pilot.press("enter")
        await wait_for(pilot, lambda: any("deny-access policy" in m for m in messages(app)))


async def test_marked_nodes_are_the_requests_targets_and_a_sixth_is_refused_at_the_request(
    env: Env,
) -> None:
    app = SessiontuiApp(services(env, access=fleet_admin(env)))
    async with app.run_test(size=(180, 50)) as pilot:
        await settle(app, pilot)
        nodes = app.main_screen.node_list
        for name in ("pay-api-01", "pay-api-02"):
            await select(app, pilot, name)
            await pilot.press("space")
        assert [n.name for n in nodes.marked_nodes()] == ["pay-api-01", "pay-api-02"]
        assert "2 marked" in str(nodes.border_title)
        await select(app, pilot, "pay-api-02")
        assert str(nodes.render_line(1).text).startswith("✓pay-api-02")
        await pilot.press("a")
        await wait_for(pilot, lambda: isinstance(app.screen, AccessRequestScreen))
        targets = app.screen.query_one("#access-targets").value  # type: ignore[attr-defined]
        assert targets == "pay-api-01, pay-api-02"
        await pilot.press(*"INC-55 both web nodes", "enter")
        header = app.main_screen.header
        await wait_for(pilot, lambda: str(header.role_name).startswith("oi-"), timeout=20)
        held = app.access.active
        assert held is not None and held.access.targets is not None
        by_name = {n.name: n.id for n in nodes.nodes}
        assert set(held.access.targets) == {by_name["pay-api-01"], by_name["pay-api-02"]}
        (request,) = [
            r
            for r in env.sandbox.state.access.requests.values()
            if r.reason == "INC-55 both web nodes"
        ]
        assert request.status == "Approved" and len(request.node_ids) == 2
        assert nodes.marked == []  # sent: the marks are spent

        # a request takes five nodes: six may be marked (a command run takes any number), but
        # asking for access on six is refused in words
        five = ["dev-web-01", "dev-web-02", "dev-db-01", "build-box", "pay-api-01"]
        for name in five:
            await select(app, pilot, name)
            await pilot.press("space")
        await select(app, pilot, "pay-ledger-01")
        await pilot.press("space")
        assert [n.name for n in nodes.marked_nodes()] == [*five, "pay-ledger-01"]
        await pilot.press("a")
        await wait_for(pilot, lambda: any("at most 5" in m for m in messages(app)))
        assert not isinstance(app.screen, AccessRequestScreen)
        await select(app, pilot, "dev-db-01")
        await pilot.press("space")  # space again unmarks
        assert "dev-db-01" not in [n.name for n in nodes.marked_nodes()]


def staging_dev(env: Env) -> Any:
    spec = load_config().roles["StagingDev"]
    return role_access(spec, role_credentials(env, "StagingDev", 3600))


async def show_out_of_scope(app: SessiontuiApp, pilot: Any) -> None:
    """o: a scoped role's list shows the nodes outside its scope too (hidden by default)."""
    app.main_screen.node_list.focus()
    await pilot.press("o")
    await wait_for(pilot, lambda: app.main_screen.node_list.show_out_of_scope)


async def test_a_scoped_role_offers_a_request_for_a_node_known_to_be_governed(
    env: Env, shells: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    # a scoped role refuses nodes outside its scope before StartSession: with nothing known,
    # Enter on a governed node is only the scope's refusal
    app = SessiontuiApp(services(env, access=staging_dev(env)))
    async with app.run_test(size=(180, 50)) as pilot:
        await settle(app, pilot)
        await show_out_of_scope(app, pilot)
        await select(app, pilot, "pay-api-01")
        await pilot.press("enter")
        await pilot.pause()
        assert not isinstance(app.screen, AccessRequestScreen)
        assert any("outside role scope" in m for m in messages(app))

    # a wider role learns from StartSession that the node is governed (the operator cancels)
    app = SessiontuiApp(services(env, access=fleet_admin(env)))
    async with app.run_test(size=(180, 50)) as pilot:
        monkeypatch.setattr(app, "suspend", contextlib.nullcontext)
        await settle(app, pilot)
        await select(app, pilot, "pay-api-01")
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, AccessRequestScreen))
        await pilot.press("escape")

    # after a restart, under the scoped role: Enter says why and offers the request
    app = SessiontuiApp(services(env, access=staging_dev(env)))
    async with app.run_test(size=(180, 50)) as pilot:
        monkeypatch.setattr(app, "suspend", contextlib.nullcontext)
        await settle(app, pilot)
        await show_out_of_scope(app, pilot)
        await select(app, pilot, "prod-web-01")  # not governed: the scope's refusal alone
        await pilot.press("enter")
        await pilot.pause()
        assert not isinstance(app.screen, AccessRequestScreen)
        await select(app, pilot, "pay-api-01")
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, AccessRequestScreen))
        why = str(app.screen.query_one("#access-why", Static).render())
        assert "StagingDev cannot open it" in why and "outside role scope" in why
        assert "governed by just-in-time node access" in why
        await pilot.press(*"INC-9 scoped", "enter")
        await wait_for(pilot, lambda: bool(shells), timeout=20)
        assert shells[0]["node"] == "pay-api-01"
        assert str(shells[0]["access"]).startswith("oi-")


async def test_a_request_in_another_account_is_filed_with_that_accounts_permission_set(
    env: Env,
    shells: list[dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Any,
) -> None:
    """Production's governed gateway, from a TUI holding Production's permission set: the
    request is Production's (filed and polled with those credentials), and the shell opens
    under its token in that account."""
    from test_ui_identity_center import _signed_in

    monkeypatch.setenv("HOME", str(tmp_path / "home"))  # the AWS CLI's token cache lives here
    _signed_in(env.sandbox)
    app = SessiontuiApp(services(env, initial_roles=["Production/ProductionAccess"]))
    async with app.run_test(size=(180, 50)) as pilot:
        monkeypatch.setattr(app, "suspend", contextlib.nullcontext)
        await pilot.pause()
        await wait_for(pilot, lambda: app.access.active is not None, timeout=30)
        await select(app, pilot, "prod-pay-gw-01")
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, AccessRequestScreen), timeout=20)
        await pilot.press(*"INC-77", "enter")
        await wait_for(pilot, lambda: bool(shells), timeout=30)
        request_id = shells[0]["access"]
        assert shells[0]["node"] == "prod-pay-gw-01" and request_id.startswith("oi-")
        record = env.sandbox.state.sessions[shells[0]["id"]]
        assert record.owner.startswith("arn:aws:sts::210987654321:")


def details_text(app: SessiontuiApp) -> str:
    return app.main_screen.details.plain


async def test_without_a_role_enter_on_a_governed_node_offers_the_request_and_the_details_say_so(
    env: Env, shells: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    # a wider role learns from StartSession that pay-api-01 is governed (the operator cancels)
    app = SessiontuiApp(services(env, access=fleet_admin(env)))
    async with app.run_test(size=(180, 50)) as pilot:
        monkeypatch.setattr(app, "suspend", contextlib.nullcontext)
        await settle(app, pilot)
        await select(app, pilot, "pay-api-01")
        assert "\nconnectable\n" in details_text(app)  # nothing known yet
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, AccessRequestScreen))
        await pilot.press("escape")
        await wait_for(pilot, lambda: "Enter offers an access request" in details_text(app))
        assert "governed by just-in-time node access" in details_text(app)
        assert "\nconnectable\n" not in details_text(app)

    # no role at all: Enter offers the request, not the role picker
    app = SessiontuiApp(services(env))
    async with app.run_test(size=(180, 50)) as pilot:
        monkeypatch.setattr(app, "suspend", contextlib.nullcontext)
        await settle(app, pilot)
        await select(app, pilot, "pay-api-01")
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, AccessRequestScreen))
        why = str(app.screen.query_one("#access-why", Static).render())
        assert why.startswith("pay-api-01: it is governed by just-in-time node access"), why
        await pilot.press(*"INC-5", "enter")
        await wait_for(pilot, lambda: bool(shells), timeout=20)
        request_id = shells[0]["access"]
        await pilot.pause()
        assert f"access request {request_id} is held: Enter opens a shell" in details_text(app)

        # StagingDev taken again: its scope leaves pay-api-01 out, but the approved request
        # opens it, and the details say that rather than "outside role scope"
        app.access.activate(staging_dev(env))
        await show_out_of_scope(app, pilot)
        await select(app, pilot, "pay-api-01")
        await wait_for(pilot, lambda: f"{request_id} approved: Enter opens" in details_text(app))
        assert "outside role scope" not in details_text(app)

        # a pending request says so where "connectable" stood
        await select(app, pilot, "pay-ledger-01")
        await pilot.press("a")
        await wait_for(pilot, lambda: isinstance(app.screen, AccessRequestScreen))
        await pilot.press(*"CHG-8 ledger", "enter")
        await wait_for(pilot, lambda: "is pending approval" in details_text(app))
