"""Names you can read: the demo fleet's names told apart at common terminal widths, and the
footer showing each key once."""

from __future__ import annotations

import pytest

from sessiontui.ui.app import SessiontuiApp
from sessiontui.ui.widgets.node_list import NodeList
from test_ui_support import FakeFleet, fake_services, settle
from ui_scenes import load_fleet


def _name_cells(nodes: NodeList) -> list[str]:
    """The NAME column as painted, one entry per row on screen."""
    header = nodes.render_line(0).text
    start = header.index("NAME")
    end = header.index("ID") - 1
    rows = nodes.scrollable_content_region.height - 1
    return [nodes.render_line(y).text[start:end].rstrip() for y in range(1, rows + 1)]


@pytest.mark.parametrize("columns", [120, 140])
async def test_the_demo_fleets_names_are_told_apart(columns: int) -> None:
    fleet = load_fleet()
    app = SessiontuiApp(fake_services(FakeFleet(fleet)))
    async with app.run_test(size=(columns, 120)) as pilot:
        await settle(app, pilot)
        nodes = app.main_screen.query_one(NodeList)
        shown = _name_cells(nodes)[: nodes.visible_count]
        full = [n.display_name for n in nodes.visible_nodes()]
        assert len(shown) == len(full) == len(fleet)
        # distinct names stay distinct on screen (jump-host is in two regions: the same name)
        pairs = dict(zip(full, shown, strict=True))
        assert len(set(pairs.values())) == len(pairs), pairs
        for name in ("onprem-router-01", "onprem-router-02", "onprem-fra-router-01"):
            assert pairs[name] == name  # the demo's longest ordinary names fit whole
        long = max(full, key=len)
        assert pairs[long].endswith("…-01") and long.startswith(pairs[long].split("…")[0])
        header = nodes.render_line(0).text.split()
        assert header[:3] == ["NAME", "ID", "PING"]
        assert all("…" not in title for title in header), header  # no title cut short


async def test_the_footer_shows_each_key_once() -> None:
    app = SessiontuiApp(fake_services(FakeFleet(load_fleet())))
    async with app.run_test(size=(200, 40)) as pilot:
        await settle(app, pilot)
        from textual.widgets import Footer

        footer = app.main_screen.query_one(Footer)
        (shown,) = [keys for keys in footer.query(".footer-set") if keys.display]
        keys = [child.key for child in shown.query("FooterKey")]  # type: ignore[attr-defined]
        assert keys and len(keys) == len(set(keys)), keys
        assert "ctrl+p" in keys


async def test_the_forward_dialog_never_passes_a_placeholder_off_as_a_value() -> None:
    from textual.app import App
    from textual.widgets import Input, Static

    from sessiontui.config import ForwardPreset
    from sessiontui.ui.screens.forward import ForwardRequest, ForwardScreen

    node = load_fleet()[0]
    presets = [
        ForwardPreset("orders-db", "prod-db-01", 5432, "orders.internal", 15432),
        ForwardPreset("staging-web", "stg-web-01", 80),
    ]
    results: list[ForwardRequest | None] = []

    class Host(App[None]):
        def on_mount(self) -> None:
            self.push_screen(ForwardScreen(node, presets), results.append)

    app = Host()
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        dialog = app.screen
        fields = {
            i: dialog.query_one(f"#{i}", Input) for i in ("remote-port", "host", "local-port")
        }
        # empty fields say they are empty; what they suggest is marked as a suggestion
        for field in fields.values():
            assert field.value == "" and field.placeholder.startswith("empty")
        # Enter with nothing typed is refused: the suggested 5432 is not a value
        await pilot.press("enter")
        await pilot.pause()
        assert "remote port: a port is required" in str(
            dialog.query_one("#forward-error", Static).render()
        )
        assert not results
        # Enter on a preset fills the fields (and says so); a second Enter starts it
        await pilot.press("shift+tab", "down", "enter")
        await pilot.pause()
        assert [f.value for f in fields.values()] == ["80", "", ""]
        assert "staging-web" in str(dialog.query_one("#forward-hint", Static).render())
        await pilot.press("enter")
        await pilot.pause()
        assert results == [ForwardRequest(80, None, 0, "staging-web", "stg-web-01")]
