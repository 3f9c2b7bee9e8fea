"""Bindings: every one has an id, help is derived from them, a keymap moves them, the palette names them."""

from __future__ import annotations

from textual.binding import Binding
from textual.command import CommandPalette

from sessiontui.ui.app import SessiontuiApp
from sessiontui.ui.commands import PALETTE, SessiontuiCommands
from sessiontui.ui.keys import APP_BINDINGS, MAIN_BINDINGS
from sessiontui.ui.screens.help import HelpScreen
from sessiontui.ui.widgets.node_list import NodeList
from test_ui_support import FakeFleet, fake_services, make_fleet, settle


def test_every_binding_has_a_unique_id() -> None:
    ids = [
        b.id
        for group in (APP_BINDINGS, MAIN_BINDINGS, NodeList.BINDINGS)
        for b in group
        if isinstance(b, Binding)
    ]
    assert all(ids)
    assert len(ids) == len(set(ids))
    for wanted in ("connect", "forward", "forwards", "role", "filter", "facets", "refresh"):
        assert wanted in ids
    assert {"help", "quit", "palette"} <= set(ids)


async def test_help_lists_every_binding() -> None:
    app = SessiontuiApp(fake_services(FakeFleet(make_fleet(5))))
    async with app.run_test(size=(160, 40)) as pilot:
        await settle(app, pilot)
        await pilot.press("question_mark")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, HelpScreen)
        by_id = {r.binding_id: r for r in screen.rows}
        declared = [b for _, g in app.binding_groups() for b in g if isinstance(b, Binding)]
        assert {"connect", "refresh", "list.down", "forwards.stop"} <= {b.id for b in declared}
        assert set(by_id) == {b.id for b in declared}
        assert by_id["refresh"].key == "R"
        assert by_id["filter"].key == "/"
        assert by_id["help"].key == "?"
        assert by_id["connect"].description == "Shell"
        table = screen.query_one("#keys")
        assert table.row_count == len(declared)  # type: ignore[attr-defined]
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, HelpScreen)


async def test_keymap_override_moves_a_binding() -> None:
    fleet = FakeFleet(make_fleet(5))
    app = SessiontuiApp(fake_services(fleet, keymap={"refresh": "ctrl+r", "facets": "g"}))
    async with app.run_test(size=(160, 40)) as pilot:
        await settle(app, pilot)
        assert fleet.calls == 1
        await pilot.press("R")
        await settle(app, pilot)
        assert fleet.calls == 1  # R no longer refreshes
        await pilot.press("ctrl+r")
        await settle(app, pilot)
        assert fleet.calls == 2
        await pilot.press("question_mark")
        await pilot.pause()
        rows = {r.binding_id: r for r in app.screen.rows}  # type: ignore[attr-defined]
        assert rows["refresh"].key == "^r"
        assert rows["facets"].key == "g"


async def test_keymap_from_config_and_unknown_ids_warn() -> None:
    from sessiontui.config import Config

    config = Config(keymap={"refresh": "ctrl+r", "no-such-binding": "x"})
    fleet = FakeFleet(make_fleet(5))
    app = SessiontuiApp(fake_services(fleet, config=config))
    async with app.run_test(size=(160, 40)) as pilot:
        await settle(app, pilot)
        await pilot.press("ctrl+r")
        await settle(app, pilot)
        assert fleet.calls == 2
        assert any("no-such-binding" in n.message for n in app._notifications)


async def test_palette_provider_names_the_commands() -> None:
    app = SessiontuiApp(fake_services(FakeFleet(make_fleet(5))))
    async with app.run_test(size=(160, 40)) as pilot:
        await settle(app, pilot)
        provider = SessiontuiCommands(app.screen)
        titles = [hit.text async for hit in provider.discover()]
        for wanted in (
            "session: connect",
            "role: switch",
            "fleet: refresh",
            "view: toggle out-of-scope",
            "credentials: log out",
        ):
            assert wanted in titles
        assert all(": " in c.title for c in PALETTE)
        hits = [hit.text async for hit in provider.search("refresh")]
        assert hits and hits[0] == "fleet: refresh"


async def test_palette_runs_a_command() -> None:
    app = SessiontuiApp(fake_services(FakeFleet(make_fleet(5))))
    async with app.run_test(size=(160, 40)) as pilot:
        await settle(app, pilot)
        nodes = app.main_screen.node_list
        assert not nodes.show_out_of_scope
        await pilot.press("ctrl+p")
        await pilot.pause()
        assert isinstance(app.screen, CommandPalette)
        await pilot.press(*"toggle out-of-scope")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await pilot.pause(0.2)
        assert nodes.show_out_of_scope


async def test_help_keeps_its_text_and_its_key_column() -> None:
    """The hint names the `[keymap]` table in words (not eaten as markup), and moving through
    the help (End, Down, Up, Home) never scrolls it sideways past the Key column."""
    app = SessiontuiApp(fake_services(FakeFleet(make_fleet(5))))
    async with app.run_test(size=(140, 40)) as pilot:
        await settle(app, pilot)
        await pilot.press("question_mark")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, HelpScreen)
        hint = str(screen.query_one(".hint").render())
        assert 'config.toml: [keymap] followed by  binding-id = "key"' in hint, hint
        table = screen.query_one("#keys")
        for key in ("end", "down", "up", "home", "end"):
            await pilot.press(key)
            await pilot.wait_for_scheduled_animations()
            await pilot.pause()
            assert table.scroll_x == 0, (key, table.scroll_x)  # type: ignore[attr-defined]
        assert table.cursor_row == table.row_count - 1  # type: ignore[attr-defined]
        assert table.scroll_y == table.max_scroll_y > 0  # type: ignore[attr-defined]
