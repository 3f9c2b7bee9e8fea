"""The TUI against the real sandbox: listing, roles with MFA, the countdown, shells, forwards.

Time: the app runs on a FakeClock that starts at the sandbox's time; `advance` moves both, so
credentials, TOTP windows and the countdown agree without waiting.
"""

from __future__ import annotations

import re
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from textual.widgets import OptionList

from sessiontui.access.iam_role import role_access, role_offer
from sessiontui.aws.clients import ClientFactory
from sessiontui.config import MfaConfig, load_config
from sessiontui.core.clock import FakeClock
from sessiontui.core.credentials import Credentials
from sessiontui.ui.app import SessiontuiApp
from sessiontui.ui.screens.confirm import ConfirmScreen
from sessiontui.ui.screens.forward import ForwardScreen
from sessiontui.ui.screens.forwards import ForwardsScreen
from sessiontui.ui.screens.mfa import AssumeScreen
from sessiontui.ui.screens.reason import ReasonScreen
from sessiontui.ui.screens.roles import RolePickerScreen
from sessiontui.ui.services import AppServices
from test_ui_support import ScriptedShell, settle

pytest.importorskip("sessiontui_sandbox.server", reason="the sandbox is not there yet")


@dataclass
class Env:
    sandbox: Any
    clock: FakeClock

    def advance(self, seconds: float) -> None:
        self.clock.advance(seconds)
        self.sandbox.clock_offset = self.sandbox.clock_offset + seconds


@pytest.fixture
def env(sandbox: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> Iterator[Env]:
    for key, value in sandbox.env().items():
        monkeypatch.setenv(key, value)
    for key in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    # TOTP windows other tests spent stay spent: start this test on fresh ones
    sandbox.clock_offset = sandbox.clock_offset + 120
    sandbox.silent_agents = []
    start = datetime.now(UTC) + timedelta(seconds=sandbox.clock_offset)
    yield Env(sandbox, FakeClock(start))


@pytest.fixture
def plugin_env(env: Env, plugin: Any, monkeypatch: pytest.MonkeyPatch) -> Env:
    """`env` with the plugin of conftest's `plugin` fixture: the stand-in, then AWS's."""
    monkeypatch.setenv("SESSIONTUI_PLUGIN", str(plugin))
    return env


def services(env: Env, **kw: Any) -> AppServices:
    factory = ClientFactory()
    kw.setdefault("config", load_config())
    return AppServices(factory=factory, regions=list(env.sandbox.regions), clock=env.clock, **kw)


def role_credentials(env: Env, role: str, seconds: int) -> Credentials:
    raw = env.sandbox.role_credentials(role, seconds)
    exp = raw["Expiration"]
    if isinstance(exp, str):
        exp = datetime.fromisoformat(exp.replace("Z", "+00:00"))
    return Credentials(
        raw["AccessKeyId"],
        raw["SecretAccessKey"],
        raw["SessionToken"],
        exp,
        role,
        f"arn:aws:iam::123456789012:role/{role}",
    )


async def wait_for(pilot: Any, predicate: Any, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await pilot.pause(0.05)


def messages(app: SessiontuiApp) -> list[str]:
    return [f"{n.title} {n.message}" for n in app._notifications]


async def first_forward_ready(app: SessiontuiApp, pilot: Any) -> Any:
    """The forwards panel's first entry once its forward is ready (failing with its error)."""
    book = app.forwards
    await wait_for(pilot, lambda: bool(book.entries()) and book.entries()[0].forward is not None)
    entry = book.entries()[0]
    await wait_for(pilot, lambda: entry.forward.is_ready or bool(entry.error), timeout=30)
    assert not entry.error, entry.error
    return entry


async def open_role_picker(app: SessiontuiApp, pilot: Any) -> None:
    await pilot.press("r")
    await pilot.pause()
    assert isinstance(app.screen, RolePickerScreen)


def second_forward_ready(book: Any) -> bool:
    entries = book.entries()
    return len(entries) == 2 and entries[1].forward is not None and entries[1].forward.is_ready


async def test_sandbox_fleet_lists_and_filters(env: Env) -> None:
    app = SessiontuiApp(services(env))
    async with app.run_test(size=(180, 50)) as pilot:
        await settle(app, pilot)
        nodes = app.main_screen.node_list
        assert nodes.total_count >= 60
        assert {n.region for n in nodes.nodes} == {"us-east-1", "eu-west-1"}
        app.main_screen.filter_input.value = "project=Staging region:eu"
        await pilot.pause()
        shown = nodes.visible_nodes()
        assert shown and all(
            n.tags["project"] == "Staging" and n.region == "eu-west-1" for n in shown
        )
        app.main_screen.filter_input.value = "prod-cache-01"
        await pilot.pause()
        assert [n.name for n in nodes.visible_nodes()] == ["prod-cache-01"]
        await pilot.pause()  # the details pane follows the list one frame later
        assert "not connectable: agent ConnectionLost" in app.main_screen.details.plain
        # the account's Session Manager preferences, read once after the listing
        await settle(app, pilot)
        assert "idle timeout" in app.main_screen.details.plain
        assert "20 min" in app.main_screen.details.plain
        # hybrid nodes carry their tags (ListTagsForResource)
        app.main_screen.filter_input.value = "type:hybrid site=nyc"
        await pilot.pause()
        assert {n.name for n in nodes.visible_nodes()} == {"onprem-router-01", "onprem-router-02"}


async def test_role_picker_then_mfa_fills_itself(env: Env) -> None:
    app = SessiontuiApp(services(env))
    async with app.run_test(size=(180, 50)) as pilot:
        await settle(app, pilot)
        await pilot.press("r")
        await pilot.pause()
        picker = app.screen
        assert isinstance(picker, RolePickerScreen)
        names = [line.offer.name for line in picker.lines]
        assert names[:3] == ["ProdOps", "StagingDev", "FleetAdmin"]
        await pilot.press("down", "enter")  # StagingDev, then its duration
        await pilot.pause()
        duration = picker.query_one("#duration")
        assert app.focused is duration
        duration.value = "30m"  # type: ignore[attr-defined]
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.access.active is not None)
        await pilot.pause()
        assert not isinstance(app.screen, AssumeScreen | RolePickerScreen)
        header = app.main_screen.header.render().plain
        # the sandbox's clock runs on while the FakeClock stands still: a second or two either way
        assert re.search(r"role StagingDev 0:(29:5\d|30:0\d)", header), header
        nodes = app.main_screen.node_list
        assert nodes.visible_nodes() and all(
            n.tags.get("project") == "Staging" for n in nodes.visible_nodes()
        )
        assert nodes.hidden_out_of_scope > 0
        assert any("role StagingDev taken" in m for m in messages(app))


async def test_duration_is_checked_before_any_code(env: Env) -> None:
    app = SessiontuiApp(services(env))
    async with app.run_test(size=(180, 50)) as pilot:
        await settle(app, pilot)
        await pilot.press("r")
        await pilot.pause()
        picker = app.screen
        assert isinstance(picker, RolePickerScreen)
        await pilot.press("down", "enter")
        # the picker learns StagingDev's MaxSessionDuration (1h) from IAM in a worker
        await wait_for(pilot, lambda: picker.lines[1].max_duration == 3600)
        box = picker.query_one("#duration")
        check = picker.query_one("#duration-check")
        box.value = "10m"  # type: ignore[attr-defined]
        await pilot.pause()
        assert "below the AWS minimum of 15m" in str(check.render())
        box.value = "2h"  # type: ignore[attr-defined]
        await pilot.pause()
        assert "over the role's maximum of 1h" in str(check.render())
        await pilot.press("enter")
        await pilot.pause()
        assert app.screen is picker  # refused: still picking
        box.value = "45m"  # type: ignore[attr-defined]
        await pilot.pause()
        assert str(check.render()) == ""
        assert "max 1h" in str(picker.query_one("#role-options").get_option_at_index(1).prompt)  # type: ignore[attr-defined]


async def test_mfa_modal_asks_and_checks_six_digits(env: Env) -> None:
    config = load_config()
    config = replace(config, mfa=MfaConfig(serial=config.mfa.serial))  # no secret: the UI asks
    app = SessiontuiApp(services(env, config=config))
    async with app.run_test(size=(180, 50)) as pilot:
        await settle(app, pilot)
        spec = config.roles["StagingDev"]
        from sessiontui.ui.screens.roles import RoleChoice

        app.access.take_role(RoleChoice(role_offer(spec), 1800))
        await pilot.pause()
        modal = app.screen
        assert isinstance(modal, AssumeScreen)
        code_box = modal.query_one("#code")
        await wait_for(pilot, lambda: not code_box.disabled)
        assert "arn:aws:iam::123456789012:mfa/operator" in str(modal.query_one("#serial").render())
        assert "s left" in str(modal.query_one("#window").render())
        await pilot.press(*"123", "enter")
        await pilot.pause()
        assert "six digits" in modal.status_text
        code_box.value = env.sandbox.totp_now()  # type: ignore[attr-defined]
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.access.active is not None)
        assert app.access.active is not None and app.access.active.name == "StagingDev"


async def test_mfa_waits_with_countdown_when_window_used(env: Env) -> None:
    from sessiontui.aws.identity import IdentityService

    config = load_config()
    factory = ClientFactory()

    shown: list[Any] = []  # the modal whose countdown the operator must see
    seen: list[str] = []

    def sleep(seconds: float) -> None:
        # the worker waits for the next code window: hold it until the modal says so, however
        # slow the machine (a fixed nap here raced the UI thread on a busy CI runner)
        deadline = time.monotonic() + 5
        while shown and time.monotonic() < deadline:
            if "already used" in shown[0].status_text:
                break
            time.sleep(0.02)
        if shown:
            seen.append(shown[0].status_text)
        env.advance(seconds)

    identity = IdentityService.from_config(
        config, lambda _p: factory, clock=env.clock, sleep=sleep, region="us-east-1"
    )
    app = SessiontuiApp(services(env, config=config, identity=identity))
    async with app.run_test(size=(180, 50)) as pilot:
        await settle(app, pilot)
        from sessiontui.ui.screens.roles import RoleChoice

        spec = config.roles["StagingDev"]
        app.access.take_role(RoleChoice(role_offer(spec), 900))
        await wait_for(pilot, lambda: app.access.active is not None)
        app.access.take_role(
            RoleChoice(role_offer(config.roles["FleetAdmin"]), 900), use_cache=False
        )
        modal = app.screen  # pushed at once; its worker starts when it mounts
        assert isinstance(modal, AssumeScreen)
        shown.append(modal)
        await wait_for(
            pilot,
            lambda: app.access.active is not None and app.access.active.name == "FleetAdmin",
        )
        assert any("already used: next code in" in s for s in seen), seen


async def test_countdown_notices_then_expiry_ends_sessions_and_reauth(env: Env) -> None:
    config = load_config()
    spec = config.roles["StagingDev"]
    creds = role_credentials(env, "StagingDev", 900)
    # counted from the app's clock, so the countdown reads whole numbers
    creds = replace(creds, expiration=env.clock.now() + timedelta(seconds=900))
    app = SessiontuiApp(services(env, access=role_access(spec, creds)))
    async with app.run_test(size=(180, 50)) as pilot:
        await settle(app, pilot)
        header = app.main_screen.header
        assert "role StagingDev 0:15:00" in header.render().plain
        env.advance(300)  # 10:00 left
        app.main_screen.tick()
        await pilot.pause()
        assert "role StagingDev 0:10:00" in header.render().plain
        assert any("10:00 left" in m for m in messages(app))
        env.advance(481)  # 1:59 left: red
        app.main_screen.tick()
        await pilot.pause()
        text = header.role_text()
        assert "0:01:59" in text.plain
        assert any("red" in str(span.style) for span in text.spans)
        assert any("1:59 left" in m for m in messages(app))
        env.advance(119)
        app.main_screen.tick()
        await pilot.pause()
        assert app.access.active is None
        assert "StagingDev expired" in header.render().plain
        assert isinstance(app.screen, ConfirmScreen)
        # the role's name as configured, not str.capitalize's "Role stagingdev"
        assert app.screen.question.startswith("Role StagingDev expired. Take it again now")
        await pilot.press("y")  # re-authenticate: MFA fills itself from the demo secret
        await wait_for(pilot, lambda: app.access.active is not None)
        assert app.access.active is not None
        assert app.access.active.access.credentials.access_key_id != creds.access_key_id
        assert "expired" not in header.render().plain


async def test_shell_with_reason_then_summary(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    import contextlib

    from sessiontui.plugin.output import Ending
    from sessiontui.plugin.shell import ShellResult
    from sessiontui.plugin.supervisor import SessionSupervisor

    calls: list[dict[str, Any]] = []

    def fake_open_shell(self: SessionSupervisor, target: Any, **kw: Any) -> ScriptedShell:
        calls.append({"target": target, "role": self.credentials.role_name, **kw})
        return ScriptedShell(
            ShellResult("sess-1", 125.0, Ending.EXITED, "session exited normally", 0, None)
        )

    monkeypatch.setattr(SessionSupervisor, "open_shell", fake_open_shell)
    config = load_config()
    spec = config.roles["ProdOps"]
    creds = role_credentials(env, "ProdOps", 3600)
    app = SessiontuiApp(services(env, access=role_access(spec, creds)))
    async with app.run_test(size=(180, 50)) as pilot:
        monkeypatch.setattr(app, "suspend", contextlib.nullcontext)
        await settle(app, pilot)
        nodes = app.main_screen.node_list
        # not connectable: said, nothing started
        app.main_screen.filter_input.value = "prod-cache-01"
        await pilot.pause()
        nodes.focus()
        await pilot.press("enter")
        await pilot.pause()
        assert any("ConnectionLost" in m for m in messages(app))
        # outside the role's scope: shown with `o`, refused
        app.main_screen.filter_input.value = "stg-web-01"
        await pilot.pause()
        assert nodes.visible_count == 0
        await pilot.press("o")
        await pilot.pause()
        assert nodes.selected_node is not None and nodes.selected_node.name == "stg-web-01"
        await pilot.press("enter")
        await pilot.pause()
        assert any("outside role scope" in m for m in messages(app))
        assert not calls
        # in scope: ProdOps wants a reason, then the shell runs and a summary follows
        app.main_screen.filter_input.value = "prod-web-01"
        await pilot.pause()
        nodes.focus()
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, ReasonScreen)
        await pilot.press(*"OPS-42 restart", "enter")
        await pilot.pause()
        await wait_for(pilot, lambda: bool(calls))
        assert calls[0]["reason"] == "OPS-42 restart"
        assert calls[0]["role"] == "ProdOps"
        assert calls[0]["target"].name == "prod-web-01"
        await pilot.pause()
        assert any(
            "shell on prod-web-01 ended after 0:02:05: session exited normally" in m
            for m in messages(app)
        )


def _http_get(port: int) -> str:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(b"GET / HTTP/1.0\r\nHost: x\r\n\r\n")
        data = b""
        while chunk := s.recv(4096):
            data += chunk
    return data.decode(errors="replace")


async def test_forward_dialog_panel_stop_and_quit(plugin_env: Env) -> None:
    env = plugin_env
    config = load_config()
    spec = config.roles["StagingDev"]
    creds = role_credentials(env, "StagingDev", 3600)
    app = SessiontuiApp(services(env, access=role_access(spec, creds)))
    async with app.run_test(size=(180, 50)) as pilot:
        await settle(app, pilot)
        nodes = app.main_screen.node_list
        app.main_screen.filter_input.value = "stg-web-01"
        await pilot.pause()
        nodes.focus()
        await pilot.press("f")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, ForwardScreen)
        await pilot.press(*"80", "enter")
        await pilot.pause()
        entry = await first_forward_ready(app, pilot)
        book = app.forwards
        port = entry.forward.local_port
        # nobody connected yet: the idle timeout (20 min) comes first, and the header says so
        assert "forward 0:" in str(app.main_screen.header.render())
        assert "idle" in str(app.main_screen.header.render())
        assert port and "hello from stg-web-01" in _http_get(port)
        assert any("forward ready" in m for m in messages(app))
        await pilot.press("F")
        await pilot.pause()
        panel = app.screen
        assert isinstance(panel, ForwardsScreen)
        table = panel.query_one("#forwards-table")
        row = [str(c) for c in table.get_row_at(0)]  # type: ignore[attr-defined]
        assert row[0] == f"127.0.0.1:{port}" and "stg-web-01" in row[1]
        assert row[4] == "yes"  # a client came through (the plugin says so once, not a count)
        assert row[5].startswith("0:5")  # about an hour left
        # a client came through, so idle does not end it; the hour's credentials and the
        # account's 60 min max session end together, and the tie names the credentials
        assert row[5].endswith(("(credentials)", "(max session 60 min)"))
        # the role's countdown says when the credentials end it: the header does not repeat it
        assert "forward" not in str(app.main_screen.header.render())
        assert row[6] == f"http://127.0.0.1:{port}"
        await pilot.press("x")
        await wait_for(pilot, lambda: entry.forward.ended, timeout=20)
        assert entry.forward.how == "stopped"
        await pilot.press("escape")
        # a second forward keeps running: quitting asks, then terminates it
        nodes.focus()
        await pilot.press("f")
        await pilot.pause()
        await pilot.press(*"80", "enter")
        await wait_for(pilot, lambda: second_forward_ready(book), timeout=30)
        second = book.entries()[1]
        await pilot.press("q")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        await wait_for(pilot, lambda: second.forward.ended, timeout=20)
    assert second.session is not None and second.session.terminated


async def test_forward_ended_by_expiry_restarts_on_same_port_after_reauth(plugin_env: Env) -> None:
    env = plugin_env
    config = load_config()
    spec = config.roles["StagingDev"]
    creds = role_credentials(env, "StagingDev", 3600)
    creds = replace(creds, expiration=env.clock.now() + timedelta(seconds=900))
    app = SessiontuiApp(services(env, access=role_access(spec, creds)))
    async with app.run_test(size=(180, 50)) as pilot:
        await settle(app, pilot)
        nodes = app.main_screen.node_list
        app.main_screen.filter_input.value = "stg-web-01"
        await pilot.pause()
        nodes.focus()
        await pilot.press("f")
        await pilot.pause()
        await pilot.press(*"80", "enter")
        book = app.forwards
        await wait_for(
            pilot,
            lambda: (
                bool(book.entries())
                and book.entries()[0].forward is not None
                and book.entries()[0].forward.is_ready
            ),
            timeout=30,
        )
        first = book.entries()[0]
        port = first.forward.local_port
        env.advance(900)
        app.main_screen.tick()
        await wait_for(pilot, lambda: first.forward.ended, timeout=20)
        assert first.forward.how == "expired"
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        await wait_for(pilot, lambda: app.access.active is not None)
        assert any("on the same local ports" in m for m in messages(app))
        await pilot.press("F")
        await pilot.pause()
        await pilot.press("s")
        await wait_for(pilot, lambda: second_forward_ready(book), timeout=30)
        second = book.entries()[1]
        assert second.forward.local_port == port
        assert "hello from stg-web-01" in _http_get(port)
        await pilot.press("down", "x")  # the second row: the first is the expired one
        await wait_for(pilot, lambda: second.forward.ended, timeout=20)


def burst(app: SessiontuiApp, *keys: str) -> None:
    """Keys that arrive in one read from the terminal (fast typing, a paste, key repeat): all
    queued before the app handles the first. Pilot.press waits between keys and hides this."""
    from textual import events

    for key in keys:
        char = key if len(key) == 1 else ("\r" if key == "enter" else None)
        app.post_message(events.Key(key, char))


async def test_keys_typed_ahead_go_where_the_operator_meant(env: Env) -> None:
    """Enter, Enter in the role picker takes the role at its default duration; `80`, Enter, F
    in the forward dialog starts the forward and opens the panel. No key of a burst is lost
    to a dialog that is already on its way out or to a field that is not focused yet."""
    if env.sandbox.plugin_path is None:
        pytest.skip("the stand-in plugin is not available")
    app = SessiontuiApp(services(env))
    async with app.run_test(size=(180, 50)) as pilot:
        await settle(app, pilot)
        await open_role_picker(app, pilot)
        burst(app, "down", "enter", "enter")  # StagingDev, its default duration (1h)
        await wait_for(pilot, lambda: app.access.active is not None)
        assert app.access.active is not None
        assert app.access.active.name == "StagingDev"
        assert app.access.active.access.duration == 3600
        await pilot.pause()

        app.main_screen.filter_input.value = "stg-web-01"
        await pilot.pause()
        app.main_screen.node_list.focus()
        await pilot.press("f")
        await pilot.pause()
        assert isinstance(app.screen, ForwardScreen)
        burst(app, "8", "0", "enter", "F")
        await wait_for(pilot, lambda: isinstance(app.screen, ForwardsScreen))
        book = app.forwards
        await wait_for(pilot, lambda: bool(book.entries()))
        assert book.entries()[0].request.remote_port == 80
        entry = book.entries()[0]
        await wait_for(pilot, lambda: entry.forward is not None and entry.forward.is_ready, 30)
        await pilot.press("escape")
        await pilot.press("q")
        await pilot.pause()
        await pilot.press("y")
        await wait_for(pilot, lambda: entry.forward.ended, timeout=20)


async def test_a_duration_typed_right_after_enter_reaches_the_duration_field(env: Env) -> None:
    """Enter on a role then `45m` typed at once: the digits were routed to the list while it
    still had focus, and landed in its search instead of the duration."""
    app = SessiontuiApp(services(env))
    async with app.run_test(size=(180, 50)) as pilot:
        await settle(app, pilot)
        await open_role_picker(app, pilot)
        burst(app, "down", "enter", "4", "5", "m", "enter")
        await wait_for(pilot, lambda: app.access.active is not None)
        assert app.access.active is not None
        assert app.access.active.name == "StagingDev"
        assert app.access.active.access.duration == 45 * 60


async def test_a_forward_lives_until_its_own_access_ends_and_restarts_under_it(
    plugin_env: Env,
) -> None:
    """ProdOps opens a forward, then StagingDev (same account, shorter) is taken: StagingDev's
    expiry leaves the forward running with ProdOps' time; ProdOps' own end ends it; `s` starts
    it again only under ProdOps taken again, never under whatever is active."""
    env = plugin_env
    config = load_config()

    def access(role: str, seconds: int) -> Any:
        creds = role_credentials(env, role, 3600)
        creds = replace(creds, expiration=env.clock.now() + timedelta(seconds=seconds))
        return role_access(config.roles[role], creds)

    app = SessiontuiApp(services(env, access=access("ProdOps", 1500), reason="OPS-1"))
    async with app.run_test(size=(180, 50)) as pilot:
        await settle(app, pilot)
        nodes = app.main_screen.node_list
        app.main_screen.filter_input.value = "prod-web-01"
        await pilot.pause()
        nodes.focus()
        await pilot.press("f")
        await wait_for(pilot, lambda: isinstance(app.screen, ForwardScreen))
        await pilot.press(*"80", "enter")
        if isinstance(app.screen, ReasonScreen):
            await pilot.press("enter")  # the reason given at start, prefilled
        first = await first_forward_ready(app, pilot)
        port = first.forward.local_port
        assert "hello from prod-web-01" in _http_get(port)  # a client: no idle end

        app.access.activate(access("StagingDev", 600))
        env.advance(600)
        app.main_screen.tick()
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("escape")  # not now
        for _ in range(10):
            await pilot.pause(0.05)
        assert not first.forward.ended, first.forward.reason
        assert "hello from prod-web-01" in _http_get(port)  # traffic: no idle end before ProdOps'
        await pilot.press("F")
        await wait_for(pilot, lambda: isinstance(app.screen, ForwardsScreen))
        row = app.screen.query_one("#forwards-table").get_row_at(0)  # type: ignore[attr-defined]
        assert str(row[5]).startswith("0:1"), row  # ProdOps' 25 minutes less the 10 gone by

        # nothing held: `s` names the access to take again, and starts nothing under another
        env.advance(900)
        app.main_screen.tick()
        await wait_for(pilot, lambda: first.forward.ended, timeout=20)
        assert first.forward.how == "expired"
        app.access.activate(access("StagingDev", 900))
        await pilot.press("s")
        await pilot.pause()
        assert len(app.forwards.entries()) == 1
        assert any("take ProdOps again first" in m for m in messages(app))

        app.access.activate(access("ProdOps", 1800))  # taken again: it replaces StagingDev
        await pilot.press("s")
        await wait_for(pilot, lambda: second_forward_ready(app.forwards), timeout=30)
        second = app.forwards.entries()[1]
        assert second.access is not None and second.access.name == "ProdOps"
        assert second.forward.local_port == port
        assert "hello from prod-web-01" in _http_get(port)


async def test_the_role_picker_lines_up_says_what_enter_does_and_stops_at_its_ends(
    env: Env,
) -> None:
    app = SessiontuiApp(services(env))
    async with app.run_test(size=(140, 40)) as pilot:
        await settle(app, pilot)
        await open_role_picker(app, pilot)
        picker = app.screen
        assert isinstance(picker, RolePickerScreen)
        options = picker.query_one("#role-options", OptionList)
        labels = [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]
        roles = [label for label in labels if "default " in label]
        # ProductionDeploy (16 letters) no longer pushes its details out of line
        assert len({label.index("default ") for label in roles}) == 1, roles
        portal = [label for label in labels if label.startswith("Identity Center")]
        assert portal == [
            "Identity Center (sandbox) Enter signs in (when needed) and lists your accounts' "
            "permission sets"
        ], portal
        # the ends hold: Up on the first line stays there, Down on the last too
        assert options.highlighted == 0
        await pilot.press("up")
        assert options.highlighted == 0
        await pilot.press("end", "down")
        assert options.highlighted == options.option_count - 1
        # the portal's line has no duration to choose: its field is off and says so whole
        duration = picker.query_one("#duration")
        assert duration.disabled and duration.placeholder == "fixed"  # type: ignore[attr-defined]
        await pilot.press("home", "down", "enter", "enter")  # StagingDev at its default
        await wait_for(pilot, lambda: app.access.active is not None)
        await open_role_picker(app, pilot)
        # the cursor starts on the access held
        picker = app.screen
        assert isinstance(picker, RolePickerScreen)
        assert picker.current is not None and picker.current.offer.name == "StagingDev"
        # at 80 columns the picker stays on the screen, its lines whole ("reason requi" before)
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        await pilot.pause()
        box = picker.query_one("#role-options").parent
        assert box is not None and box.region.right <= 80
        shown = "\n".join(line.text for line in picker._compositor.render_strips())
        assert "reason required" in " ".join(shown.split()), shown
        await pilot.press("escape")
