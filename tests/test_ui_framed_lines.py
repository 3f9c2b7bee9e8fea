"""The node list and the details pane draw their content rows whole (ui/widgets/framed_lines.py):
each must be the row Textual's styles cache would draw, character and style, after every key an
operator presses: steps and scrolls, marks, the filter taking the focus (the list's border and
cursor change colour), a change of theme, a style of the widget's own, the narrow layout."""

from __future__ import annotations

from typing import Any

from textual.geometry import Region
from textual.widget import Widget

from sessiontui.ui.app import SessiontuiApp
from test_ui_support import FakeFleet, fake_services, make_fleet, settle


def _cells(strips: list[Any]) -> list[list[tuple[str, Any]]]:
    return [[(ch, seg.style) for seg in strip for ch in seg.text] for strip in strips]


def _differ(widget: Widget) -> list[int]:
    """The rows where the widget's own drawing and Textual's differ: all of it, and a part of
    it as the compositor asks for one."""
    width, height = widget.outer_size
    whole = Region(0, 0, width, height)
    ours = _cells(widget.render_lines(whole))
    theirs = _cells(Widget.render_lines(widget, whole))
    assert len(ours) == len(theirs) == height
    rows = [y for y, (a, b) in enumerate(zip(ours, theirs, strict=True)) if a != b]
    part = Region(2, 3, width - 4, min(5, height - 3))
    if _cells(widget.render_lines(part)) != _cells(Widget.render_lines(widget, part)):
        rows.append(-1)
    return rows


async def test_the_list_and_the_pane_draw_the_rows_textual_would() -> None:
    nodes = make_fleet(150)
    nodes[3].tags["Note"] = "a value long enough to be wrapped over more than one row of the pane"
    app = SessiontuiApp(fake_services(FakeFleet(nodes, page=40)))
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(app, pilot)
        screen = app.main_screen
        widgets = {"list": screen.node_list, "details": screen.details}
        screen.node_list.focus()
        differ: list[tuple[str, str, int, list[int]]] = []

        async def keys(label: str, *pressed: str) -> None:
            for step, key in enumerate(pressed):
                await pilot.press(key)
                await pilot.pause()
                for name, widget in widgets.items():
                    rows = _differ(widget)
                    if rows:
                        differ.append((label, name, step, rows))

        await keys("steps", *["down"] * 50)  # within the window, then scrolling
        await keys("pages and back", "pagedown", "up", "up", "pageup", "home", "end", "home")
        await keys("marks", "space", "down", "space", "down")
        await keys("filter", "slash", *"web", "escape", "down", "down")
        app.theme = "textual-light"
        await pilot.pause()
        await keys("light", "down", "down", "up")
        for widget in widgets.values():  # a style of its own; the same filters
            widget.styles.border = ("heavy", "red")
            widget.styles.background = "darkblue"
        await pilot.pause()
        await keys("own style", "down", "down", "up")
        await pilot.resize_terminal(90, 40)  # the narrow layout: the pane under the list
        await pilot.pause()
        assert screen.details.outer_size.width > 80
        await keys("narrow", *["down"] * 30)
    assert not differ, differ
