"""A shell that cannot start never costs the operator the TUI.

Textual 8.2.8's `App.suspend()` resumes only when its block ends normally. These tests stand in
for it with a suspend that behaves the same way (no `finally`), against the real sandbox: a
refused shell (StartSession refused, the plugin not starting) is refused before the terminal is
handed over, a shell that fails once it has the terminal gives it back, and after each the app
answers its keys and `q` quits.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import pexpect
import pytest

from sessiontui.core.errors import PluginError
from sessiontui.plugin.supervisor import SessionSupervisor
from sessiontui.ui.app import SessiontuiApp
from sessiontui.ui.screens.access_request import AccessRequestScreen
from sessiontui.ui.screens.help import HelpScreen
from test_ui_access import Env, messages, services, wait_for
from test_ui_node_access import fleet_admin, select, staging_dev
from test_ui_support import settle

env = __import__("test_ui_access").env  # the fixture: the app's FakeClock and the sandbox's


class Terminal:
    """The app's suspend as Textual 8.2.8 has it: resumed only when the block ends normally."""

    def __init__(self) -> None:
        self.events: list[str] = []

    @contextlib.contextmanager
    def suspend(self) -> Iterator[None]:
        self.events.append("suspended")
        yield
        self.events.append("resumed")

    @property
    def given_back(self) -> bool:
        return self.events.count("suspended") == self.events.count("resumed")


async def answers_keys_then_quits(app: SessiontuiApp, pilot: Any) -> None:
    app.main_screen.node_list.focus()
    await pilot.press("question_mark")
    await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen))
    await pilot.press("escape")
    await wait_for(pilot, lambda: not isinstance(app.screen, HelpScreen))
    await pilot.press("q")
    await wait_for(pilot, lambda: app.return_value == 0)


async def test_a_governed_node_is_refused_before_the_terminal_is_handed_over(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    terminal = Terminal()
    app = SessiontuiApp(services(env, access=fleet_admin(env)))
    async with app.run_test(size=(180, 50)) as pilot:
        monkeypatch.setattr(app, "suspend", terminal.suspend)
        await settle(app, pilot)
        await select(app, pilot, "pay-api-02")
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, AccessRequestScreen), timeout=20)
        assert terminal.events == []  # StartSession refused it with the TUI still on screen
        await pilot.press("escape")
        await answers_keys_then_quits(app, pilot)


async def test_a_plugin_that_cannot_start_is_refused_before_the_terminal_is_handed_over(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sessiontui.plugin.shell as shell

    def cannot_spawn(*_args: Any, **_kw: Any) -> Any:
        raise pexpect.ExceptionPexpect("The command was not found or was not executable")

    monkeypatch.setattr(shell.os, "isatty", lambda fd: True)
    monkeypatch.setattr(shell.pexpect, "spawn", cannot_spawn)
    terminal = Terminal()
    app = SessiontuiApp(services(env, access=staging_dev(env)))
    async with app.run_test(size=(180, 50)) as pilot:
        monkeypatch.setattr(app, "suspend", terminal.suspend)
        await settle(app, pilot)
        await select(app, pilot, "stg-web-01")
        node = app.main_screen.node_list.selected_node
        assert node is not None
        await pilot.press("enter")
        await wait_for(
            pilot,
            lambda: any("cannot start session-manager-plugin" in m for m in messages(app)),
            timeout=20,
        )
        assert terminal.events == []
        # the session StartSession opened for it was terminated, not left to the idle timeout
        started = [s for s in env.sandbox.state.sessions.values() if s.target == node.id]
        assert started and all(s.status == "Terminated" for s in started)
        await answers_keys_then_quits(app, pilot)


async def test_a_shell_that_fails_with_the_terminal_gives_it_back(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Failing:
        def run(self, *, handle_signals: bool = True) -> Any:
            raise PluginError("session-manager-plugin crashed")

        def abandon(self, why: str) -> None:
            raise AssertionError("a shell handed the terminal is not abandoned")

    monkeypatch.setattr(SessionSupervisor, "open_shell", lambda self, node, **kw: Failing())
    terminal = Terminal()
    app = SessiontuiApp(services(env, access=staging_dev(env)))
    async with app.run_test(size=(180, 50)) as pilot:
        monkeypatch.setattr(app, "suspend", terminal.suspend)
        await settle(app, pilot)
        await select(app, pilot, "stg-web-01")
        await pilot.press("enter")
        await wait_for(pilot, lambda: any("crashed" in m for m in messages(app)))
        assert terminal.events == ["suspended", "resumed"]
        assert terminal.given_back
        await answers_keys_then_quits(app, pilot)
