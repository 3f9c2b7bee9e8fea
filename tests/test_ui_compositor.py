"""The fleet screen's compositor writes out the frames Textual's own would (ui/compositor.py).

Every partial update the app makes while an operator works is rendered twice, by ours and by
Textual's, and the cells each would write on the terminal (character and style) are compared.
Textual's can also move the cursor to a cell and write nothing there; that is not compared.
"""

from __future__ import annotations

from typing import Any

from rich.segment import ControlType
from textual._compositor import Compositor

from sessiontui.ui.app import SessiontuiApp
from sessiontui.ui.compositor import CroppedCompositor
from test_ui_support import FakeFleet, fake_services, make_fleet, settle


def _cells(update: Any, console: Any) -> dict[tuple[int, int], tuple[str, Any]]:
    """What an update writes: character and style by cell."""
    written: dict[tuple[int, int], tuple[str, Any]] = {}
    x = y = 0
    for segment in update.__rich_console__(console, console.options):
        if segment.control:
            for code, *args in segment.control:
                if code == ControlType.CURSOR_MOVE_TO:
                    x, y = args[0], args[1]
            continue
        for char in segment.text:
            if char == "\n":
                x, y = 0, y + 1
                continue
            written[(x, y)] = (char, segment.style)
            x += 1
    return written


class _Checked:
    """Wraps a compositor's partial update: ours is the frame, Textual's is rendered after it."""

    def __init__(self, compositor: CroppedCompositor, console: Any) -> None:
        self.compositor = compositor
        self.console = console
        self.updates = 0
        self.differ: list[str] = []
        self._own = compositor.render_partial_update
        compositor.render_partial_update = self  # type: ignore[method-assign]

    def __call__(self) -> Any:
        comp = self.compositor
        regions = set(comp._dirty_regions)
        ours = self._own()
        if ours is None:
            return None
        comp._dirty_regions = set(regions)
        comp.__class__ = Compositor  # type: ignore[assignment]  # Textual's _get_renders, on the same map and widgets
        try:
            theirs = Compositor.render_partial_update(comp)
        finally:
            comp.__class__ = CroppedCompositor
        assert theirs is not None
        self.updates += 1
        if _cells(ours, self.console) != _cells(theirs, self.console):
            self.differ.append(repr(sorted(regions)))
        return ours


async def test_each_partial_update_matches_textuals_own() -> None:
    fleet = FakeFleet(make_fleet(300), page=40)
    app = SessiontuiApp(fake_services(fleet))
    async with app.run_test(size=(160, 48)) as pilot:
        screen = app.main_screen
        assert isinstance(screen._compositor, CroppedCompositor)
        checked = _Checked(screen._compositor, app.console)
        await settle(app, pilot)
        screen.node_list.focus()
        # cursor steps, a scroll a row at a time past the bottom, pages, the ends
        for key in ["down"] * 60 + ["pagedown", "pagedown", "up", "end", "home"]:
            await pilot.press(key)
            await pilot.pause()
        # the filter (the footer changes with the focus), a notification over the list
        await pilot.press("slash", *"web", "escape")
        await pilot.pause()
        app.notify("a toast over the list", timeout=30)
        await pilot.pause()
        for _ in range(5):
            await pilot.press("down")
            await pilot.pause()
        # a screen over it and back
        await pilot.press("t")
        await pilot.pause()
        await pilot.press("escape")
        await pilot.pause()
        await pilot.press("down", "down", "d", "down", "d")
        await pilot.pause()
        await pilot.resize_terminal(120, 40)
        await pilot.pause()
        await pilot.press("down", "up")
        await pilot.pause()
    assert checked.updates > 60
    assert not checked.differ, checked.differ


async def test_cursor_steps_leave_no_cyclic_garbage() -> None:
    """A line that one cut spans whole went into Textual's frame as `Strip.divide` of itself,
    which the strip caches in itself: each replaced line was a cycle for the collector to free
    (about 230 objects a cursor step), and the collector's passes were the slow tail of steps."""
    import gc

    from textual.strip import Strip

    fleet = FakeFleet(make_fleet(300), page=40)
    app = SessiontuiApp(fake_services(fleet))
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(app, pilot)
        app.main_screen.node_list.focus()
        await pilot.pause()
        gc.collect()
        gc.set_debug(gc.DEBUG_SAVEALL)
        try:
            for _ in range(60):  # within the window, then scrolling
                await pilot.press("down")
                await pilot.pause()
            gc.collect()
            strips = sum(isinstance(o, Strip) for o in gc.garbage)
        finally:
            gc.set_debug(0)
            gc.garbage.clear()
    assert strips < 10, strips
