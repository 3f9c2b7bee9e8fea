"""The TUI's forwards heal: past the sandbox's max session duration (its clock and the app's
moved on together), the forward gets a new session on the same local port, and the panel says so."""

from __future__ import annotations

import pytest

from sessiontui.access.iam_role import role_access
from sessiontui.config import load_config
from sessiontui.ui.app import SessiontuiApp
from sessiontui.ui.screens.forwards import ForwardsScreen, entry_row
from test_ui_access import (  # the sandbox environment and helpers of the access tests
    Env,
    _http_get,
    env,  # noqa: F401  (a fixture)
    messages,
    role_credentials,
    services,
    wait_for,
)
from test_ui_support import settle


async def test_forward_heals_on_the_same_port_and_the_panel_says_so(env: Env) -> None:  # noqa: F811
    if env.sandbox.plugin_path is None:
        pytest.skip("the stand-in plugin is not available")
    spec = load_config().roles["FleetAdmin"]
    creds = role_credentials(env, "FleetAdmin", 7200)  # outlives the 60 min max session
    app = SessiontuiApp(services(env, access=role_access(spec, creds)))
    async with app.run_test(size=(180, 50)) as pilot:
        await settle(app, pilot)
        app.main_screen.filter_input.value = "stg-web-01"
        await pilot.pause()
        app.main_screen.node_list.focus()
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
        entry = book.entries()[0]
        port, first = entry.forward.local_port, entry.forward.session_id
        assert "hello from stg-web-01" in _http_get(port)
        env.advance(3601)
        await wait_for(pilot, lambda: entry.forward.heals == 1 and entry.forward.is_ready, 30)
        assert not entry.forward.ended and entry.forward.local_port == port
        assert entry.forward.session_id != first
        assert "hello from stg-web-01" in _http_get(port)
        assert any("forward healed" in m for m in messages(app))
        # the details pane of the node shows the forward's time left and what ends it
        ((label, left),) = book.lines_for(entry.node, env.clock.now())
        assert label == f"forward :{port}" and left.endswith(")")
        app.main_screen.tick()
        shown = " ".join(t for line in app.main_screen.details._lines for t, _ in line)
        assert "sessions (time left)" in shown and f"forward :{port}" in shown
        await pilot.press("F")
        await wait_for(pilot, lambda: isinstance(app.screen, ForwardsScreen))
        row = entry_row(entry, env.clock.now())
        assert row[3].endswith("(healed 1)") and row[0] == f"127.0.0.1:{port}"
        await pilot.press("x")
        await wait_for(pilot, lambda: entry.forward.ended, timeout=20)
        assert entry.forward.how == "stopped" and entry.session.terminated
        await pilot.press("escape")
        # a forward nobody uses: its idle end is warned about as the role's end is (WARN_AT)
        app.main_screen.node_list.focus()
        await pilot.press("f")
        await pilot.pause()
        await pilot.press(*"80", "enter")
        await wait_for(
            pilot, lambda: len(book.entries()) == 2 and book.entries()[1].forward is not None
        )
        idle = book.entries()[1]
        await wait_for(pilot, lambda: idle.forward.is_ready, timeout=30)
        assert "idle" in str(app.main_screen.header.render())
        env.clock.advance(10 * 60 + 1)  # the app's clock only: 9:59 before the 20 min idle end
        app.on_tick()
        await pilot.pause()
        assert any("forward ending" in m and "(idle)" in m for m in messages(app))
        idle.session.stop()
