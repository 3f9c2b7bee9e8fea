"""The port forward dialog at the operator's speed and size: keys typed in one go right behind
`f` all land where they were meant, a port in the host field is refused, nothing is cut."""

from __future__ import annotations

from typing import Any

from textual import events

from sessiontui.ui.app import SessiontuiApp
from sessiontui.ui.screens.forward import ForwardRequest, ForwardScreen
from test_ui_support import FakeFleet, fake_services, make_fleet, settle


def burst(app: SessiontuiApp, *keys: str) -> None:
    """Keys that arrive in one read from the terminal, all queued before the app handles the
    first (Pilot.press waits between keys and hides a race)."""
    for key in keys:
        char = {"tab": "\t", "enter": "\r"}.get(key, key if len(key) == 1 else None)
        app.post_message(events.Key(key, char))


def fields(screen: Any) -> dict[str, str]:
    return {
        name: screen.query_one(f"#{name}").value for name in ("remote-port", "host", "local-port")
    }


def screen_text(app: SessiontuiApp) -> str:
    return "\n".join(line.text for line in app.screen._compositor.render_strips())


async def test_keys_typed_as_the_dialog_opens_land_in_their_fields_in_order() -> None:
    app = SessiontuiApp(fake_services(FakeFleet(make_fleet(10))))
    chosen: list[ForwardRequest | None] = []
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        # the dialog is on its way up (not yet composed, nothing focused) as the keys arrive:
        # the 8 went to the screen and was lost, and each Tab moved the focus only after the
        # digits typed behind it had reached the field it left
        app.push_screen(ForwardScreen(app.main_screen.node_list.selected_node), chosen.append)
        burst(app, "8", "0", "tab", "tab", "1", "8", "0", "8", "0")
        await pilot.pause(0.2)
        await pilot.pause()
        assert fields(app.screen) == {"remote-port": "80", "host": "", "local-port": "18080"}
        burst(app, "shift+tab", "d", "b", "enter")
        await pilot.pause(0.2)
    assert chosen == [ForwardRequest(80, "db", 18080)]


async def test_a_port_in_the_host_field_is_refused_and_nothing_is_cut_at_80_columns() -> None:
    app = SessiontuiApp(fake_services(FakeFleet(make_fleet(10))))
    chosen: list[ForwardRequest | None] = []
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        app.push_screen(ForwardScreen(app.main_screen.node_list.selected_node), chosen.append)
        await pilot.pause()
        text = screen_text(app)
        # one row of labels over the fields; the placeholders whole; the dialog on the screen
        assert "Remote port (required)   Host behind the node      Local port" in text
        assert "empty, e.g. 5432" in text and "empty: the node" in text
        assert "empty: a free port" in text
        await pilot.press("8", "0", "tab", "1", "8", "0", "8", "0", "enter")
        await pilot.pause()
        assert isinstance(app.screen, ForwardScreen) and not chosen
        error = str(app.screen.query_one("#forward-error").render())
        assert error == "host: 18080 is a port number, not a host name or address"
        app.screen.query_one("#host").value = "db.internal"
        await pilot.press("enter")
        await pilot.pause()
    assert chosen == [ForwardRequest(80, "db.internal", 0)]
