"""The Run Command grid keeps rows' lines between frames and moves styled lines on a scroll
(ui/widgets/run_grid.py): whatever the cursor, the mouse, the focus and the updates did, it must
paint what Textual's own DataTable paints. And the run screen around it, with 300 rows: the title,
the cursor's position (in place of a scrollbar) and the summary in view."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from rich.text import Text
from textual.app import App, ComposeResult
from textual.strip import Strip
from textual.widgets import Button, DataTable, Static

from sessiontui.core.run import NodeRun
from sessiontui.ui.plain import plain_cell
from sessiontui.ui.screens.run import RunProgress, RunScreen
from sessiontui.ui.widgets import run_grid
from sessiontui.ui.widgets.run_grid import RunGrid

SIZE = (100, 16)


class Grids(App[None]):
    CSS = "#grid { height: 1fr; }"

    def __init__(self, kept: bool) -> None:
        super().__init__()
        self.kept = kept

    def compose(self) -> ComposeResult:
        yield Button("elsewhere", id="elsewhere")  # takes the focus, and does not blink
        if self.kept:
            yield RunGrid(id="grid", zebra_stripes=True)
        else:
            yield DataTable(id="grid", cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        grid = self.query_one("#grid", DataTable)
        for label, width in (("NODE", None), ("STATUS", 13), ("OUTPUT", 40)):
            grid.add_column(label, width=width, key=label)
        for i in range(300):
            grid.add_row(
                plain_cell(f"node-{i:03d}"), plain_cell("Pending"), plain_cell(""), key=f"n{i}"
            )
        grid.focus()


async def _session(kept: bool) -> list[str]:
    """The same keys, updates, hover and focus changes; the screen after each."""
    app = Grids(kept)
    shots: list[str] = []
    async with app.run_test(size=SIZE) as pilot:
        grid: DataTable[Text] = app.query_one("#grid", DataTable)
        await pilot.pause()

        async def shot(act: Callable[[], Awaitable[Any]]) -> None:
            await act()
            await pilot.pause()
            shots.append(app.export_screenshot())

        async def keys(*names: str) -> None:
            for name in names:
                await pilot.press(name)

        async def update(row: int, status: str, output: str = "") -> None:
            if isinstance(grid, RunGrid):
                grid.update_rows([(f"n{row}", {1: plain_cell(status), 2: plain_cell(output)})])
            else:
                grid.update_cell(f"n{row}", "STATUS", plain_cell(status))
                grid.update_cell(f"n{row}", "OUTPUT", plain_cell(output))

        await shot(lambda: keys(*["down"] * 16))  # past the window's bottom: these scroll
        await shot(lambda: update(grid.cursor_row, "Success", "under the cursor"))
        await shot(lambda: update(grid.cursor_row - 3, "Failed", "on screen"))
        await shot(lambda: update(200, "Success", "off screen"))
        await shot(lambda: keys(*["up"] * 12))
        await shot(lambda: keys("pagedown", "pagedown"))
        await shot(lambda: keys("ctrl+end"))
        await shot(lambda: keys("ctrl+home"))
        await shot(lambda: update(2, "TimedOut", "a row the cursor left"))
        await shot(lambda: pilot.hover("#grid", offset=(5, 4)))
        await shot(lambda: pilot.hover("#grid", offset=(5, 6)))
        await shot(lambda: pilot.hover("#elsewhere"))
        await shot(lambda: keys(*["down"] * 14))

        async def blur() -> None:
            app.query_one("#elsewhere", Button).focus()

        async def scroll() -> None:  # as the wheel does: the view moves, the cursor stays
            grid.scroll_to(y=grid.scroll_offset.y + 4, animate=False)

        await shot(blur)
        await shot(scroll)
        await shot(lambda: update(round(grid.scroll_offset.y) + 5, "Success", "on screen"))

        async def longer() -> None:  # NODE is as wide as its longest name
            grid.add_row(plain_cell("a-much-longer-node-name"), plain_cell(""), plain_cell(""))

        await shot(longer)
        await shot(lambda: pilot.resize_terminal(130, 20))
        await shot(lambda: pilot.resize_terminal(50, 24))

        async def focus() -> None:
            grid.focus()

        await shot(focus)
        await shot(lambda: keys("end", "up"))  # scrolled to the right
    return shots


async def test_the_grid_paints_what_textuals_data_table_paints() -> None:
    kept = await _session(True)
    plain = await _session(False)
    assert len(kept) == len(plain)
    for n, (ours, textuals) in enumerate(zip(kept, plain, strict=True)):
        assert ours == textuals, f"screen {n} differs"
    unchanged = [n for n in range(1, len(kept)) if kept[n] == kept[n - 1]]
    assert unchanged == [3], "a row off screen changed nothing; every other step did"


async def test_a_scrolling_step_renders_the_rows_that_changed_not_the_window(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    app = Grids(True)
    async with app.run_test(size=SIZE) as pilot:
        grid = app.query_one(RunGrid)
        await pilot.pause()
        for _ in range(16):
            await pilot.press("down")
        await pilot.pause()
        rendered: list[int] = []
        real = DataTable.render_line

        def counting(table: DataTable[Any], y: int) -> Strip:
            rendered.append(y)
            return real(table, y)

        monkeypatch.setattr(DataTable, "render_line", counting)
        top = grid.scroll_offset.y
        await pilot.press("down")
        await pilot.pause()
        assert grid.scroll_offset.y == top + 1
        # DataTable composed the row reached and the row left, not the 11 on screen
        assert 0 < len(rendered) <= 3, rendered


def _rows(count: int) -> list[NodeRun]:
    return [
        NodeRun(f"i-{i:017x}", f"node-{i:03d}", "123456789012", "eu-west-1") for i in range(count)
    ]


class Runs(App[None]):
    def __init__(self, rows: list[NodeRun]) -> None:
        super().__init__()
        self.rows = rows

    def on_mount(self) -> None:
        self.push_screen(RunScreen(None, self.rows, "run: hostname on 300 nodes"))


async def test_a_long_grid_keeps_the_title_and_the_summary_in_view_and_updates_in_place() -> None:
    app = Runs(_rows(300))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, RunScreen)
        title = screen.query_one("#run-title", Static)
        summary = screen.query_one("#run-summary", Static)
        grid = screen.grid
        assert title.region.y == 0
        assert summary.region.bottom == SIZE[1] and summary.region.y > grid.region.y
        assert grid.region.bottom <= summary.region.y
        position = screen.query_one("#run-position", Static)
        assert str(position.render()) == "   1/300"  # no scrollbar: the cursor's row stands in
        for _ in range(35):
            await pilot.press("down")
        await pilot.pause()
        assert screen.scroll_offset.y == 0 and title.region.y == 0
        assert str(position.render()) == "  36/300" and position.region.right == SIZE[0]

        now = datetime.now(UTC)
        done = NodeRun(
            "i-00000000000000022",
            "node-034",
            "123456789012",
            "eu-west-1",
            status="Success",
            exit_code=0,
            started=now,
            ended=now + timedelta(seconds=2),
            output="\n  first line\nsecond\n",
        )
        extra = NodeRun("i-0ffffffffffffffff", "tagged-since", "123456789012", "eu-west-1")
        screen.post_message(RunProgress([done, extra], "a note\nof two lines"))
        await pilot.pause()
        assert [str(c) for c in grid.get_row(done.node_id)] == [
            "node-034",
            "123456789012",
            "eu-west-1",
            "Success",
            "0",
            "2.0s",
            "  first line",
        ]
        assert screen.rows[34] is done and screen.rows[-1] is extra and grid.row_count == 301
        assert [str(c) for c in grid.get_row("i-00000000000000021")][3] == "Pending"
        shown = str(summary.render())
        assert "301 nodes: 300 Pending, 1 Success" in shown and "of two lines" in shown
        # the summary grew by two lines: the grid gave them up, the summary is whole
        assert summary.region.height == 3 and summary.region.bottom == SIZE[1]
        assert grid.region.bottom <= summary.region.y
        assert str(position.render()) == "  36/301"


async def test_a_poll_that_changes_every_row_is_shown_a_few_rows_a_frame(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A poll can finish hundreds of nodes at once: the screen's rows take them at once, the grid
    shows them over the next frames (a few rows on screen each, never a screen of lines composed
    in one frame), and in the end shows every one."""
    monkeypatch.setattr(run_grid, "SHOWN_PER_FRAME", 2)  # the 12 rows on screen: 6 frames
    rows = _rows(300)
    app = Runs(rows)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, RunScreen)
        grid = screen.grid
        composed: list[int] = []  # rows composed again, per frame
        real = DataTable.render_line

        def counting(table: DataTable[Any], y: int) -> Strip:
            composed[-1] += 1
            return real(table, y)

        real_lines = RunGrid.render_lines

        def frame(table: RunGrid, crop: Any) -> list[Strip]:
            composed.append(0)
            return real_lines(table, crop)

        monkeypatch.setattr(DataTable, "render_line", counting)
        monkeypatch.setattr(RunGrid, "render_lines", frame)
        done = [
            NodeRun(r.node_id, r.name, r.account, r.region, status="Success", exit_code=0)
            for r in rows
        ]
        screen.post_message(RunProgress(done))
        await pilot.pause()
        assert all(r.status == "Success" for r in screen.rows)  # the rows at once
        for _ in range(200):
            if not grid.updating:
                break
            await pilot.pause(0.01)
        await pilot.pause()
        assert not grid.updating
        assert [str(c) for c in grid.get_row(rows[0].node_id)][3:5] == ["Success", "0"]
        assert [str(c) for c in grid.get_row(rows[-1].node_id)][3:5] == ["Success", "0"]
        assert len([n for n in composed if n]) > 3 and max(composed) <= 3, composed
        assert "300 nodes: 300 Success" in str(screen.query_one("#run-summary", Static).render())
