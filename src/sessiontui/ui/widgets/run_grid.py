"""The Run Command grid: a DataTable whose rows are painted once, not again at every cursor step
or every result.

Textual's DataTable (8.2.8) keys its line caches on the cursor's position and on a count of
every change to any cell, so a cursor step, and each cell a result updated, made every visible
line a miss: each of the ~45 rows was composed again from its seven cells (0.5-1.7 ms a row;
four fifths of a step's frame in cProfile), while only the rows left, reached or changed look
any different. Here a row's line is kept (as
under the cursor and as not) for as long as what it shows holds: its cells, the table's styles,
width and horizontal scroll. The row under the mouse goes to the DataTable as before.

Textual's styles cache, keyed by screen line, is kept too: a scroll moves its styled lines
(styled_lines.move_styled_lines) and a row's update restyles that row's line only.

Results land a poll at a time, and a poll can change every row on screen at once: a changed
row's line is composed again from its seven cells (1.7-1.9 ms: DataTable's cell renders are
keyed on its count of changes, so none is kept), and ~45 of them were a frame of 80 ms that a
keystroke waited behind. Updates are applied between frames instead, SHOWN_PER_FRAME rows on
screen a frame (rows off screen cost no painting, only their cells' bookkeeping), and none in
the frame that answers a key: they wait for the frame after it (KEYS_FIRST_FOR at most). The
batches are few and large on purpose: each one invalidates DataTable's caches, and 2 rows a
frame put a batch into nearly every cursor step while results came in (the steps' UI CPU p95
17 -> 22-34 ms in bench.run_grid), where 15 a frame halved the worst steps and left the rest
as they were.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Self

from rich.text import Text, TextType
from textual import events
from textual.cache import LRUCache
from textual.geometry import Region
from textual.strip import Strip
from textual.widgets import DataTable
from textual.widgets.data_table import ColumnKey, RowKey

from sessiontui.ui.widgets.styled_lines import restyle_only, scroll_keeping_styled_lines

SHOWN_PER_FRAME = 15  # rows on screen updated between two frames: each composed again, ~1.8 ms
ROWS_PER_FRAME = 1000  # rows updated between two frames in all: ~10 us each off screen
KEYS_FIRST_FOR = 0.5  # seconds: a held key's frames come first, then results show regardless

# a row's key and its changed cells (column index -> cell), or what to call once those before it
# are shown
_Update = tuple[str, Mapping[int, Text]] | Callable[[], None]


class RunGrid(DataTable[Text]):
    """Rows of one line each, a row cursor; their lines kept between frames."""

    def __init__(self, *, id: str | None = None, zebra_stripes: bool = False) -> None:
        self._holding = False  # update_cell's refresh of the whole table, held: one a batch
        super().__init__(id=id, cursor_type="row", zebra_stripes=zebra_stripes)
        # (row index, under the cursor) -> its line; a screen is ~45 of them
        self._lines: LRUCache[tuple[int, bool], Strip] = LRUCache(1024)
        self._painted_as: tuple[object, ...] = ()  # what every kept line was painted under
        self._queued: deque[_Update] = deque()  # updates not shown yet, in their order
        self._waiting = False  # the queue's next batch is due after the next frame
        self._answering = False  # a key came in: its frame is not painted yet
        self._held_since: float | None = None  # updates have waited for keys' frames since

    def _look(self) -> tuple[object, ...]:
        """Everything other than a row's own cells that its line depends on."""
        return (
            self.rich_style,  # the focus tints the background
            self.get_pseudo_class_state(),
            self.size.width,
            self.scroll_offset.x,
            tuple(column.get_render_width(self) for column in self.ordered_columns),
            self.zebra_stripes,
            self.fixed_rows,
            self.fixed_columns,
            self.show_header,
            self.header_height,
            self.show_row_labels,
            self.cursor_type,
            self.show_cursor,
            self.cell_padding,
            self.cursor_foreground_priority,
            self.cursor_background_priority,
        )

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        header = self.header_height if self.show_header else 0
        scroll_keeping_styled_lines(self, old_value, new_value, fixed=header)

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._lines.clear()  # a theme's colours, which the look's own style may not show

    def render_lines(self, crop: Region) -> list[Strip]:
        look = self._look()
        if look != self._painted_as:
            self._lines.clear()
            self._painted_as = look
        return super().render_lines(crop)

    def render_line(self, y: int) -> Strip:
        header = self.header_height if self.show_header else 0
        row = y + self.scroll_offset.y - header
        if (
            y < header
            or self.cursor_type != "row"
            or self.fixed_rows
            or row == self.hover_row  # drawn as the mouse's moves say (DataTable's own state)
            or not 0 <= row < self.row_count
        ):
            return super().render_line(y)
        key = (row, row == self.cursor_row)
        line = self._lines.get(key)
        if line is None:
            line = super().render_line(y)
            self._lines.set(key, line)
        return line

    @property
    def updating(self) -> bool:
        """Updates given are still waiting for their frame."""
        return bool(self._queued)

    def update_rows(
        self, rows: Iterable[tuple[str, Mapping[int, Text]]], then: Callable[[], None] | None = None
    ) -> None:
        """Rows' changed cells (column index -> cell) put in, and only those rows' lines painted
        again (DataTable.update_cell repaints the whole table); SHOWN_PER_FRAME rows on screen
        a frame, the rest after the next frames. `then` is called once all of them are shown."""
        self._queued.extend(rows)
        if then is not None:
            self._queued.append(then)
        if not self._waiting:  # else these wait behind the ones already waiting
            self._show_queued()

    def on_key(self, _: events.Key) -> None:
        # not stopped: the table's bindings move the cursor as before
        self._answering = True
        self.call_after_refresh(self._answered)

    def _answered(self) -> None:
        self._answering = False

    def _show_queued(self) -> None:
        self._waiting = False
        if self._answering and self._queued:
            now = time.monotonic()
            self._held_since = self._held_since or now
            if now - self._held_since < KEYS_FIRST_FOR:
                self._waiting = self.call_after_refresh(self._show_queued)
                return
        self._held_since = None
        header = self.header_height if self.show_header else 0
        top = self.content_offset.y + header  # the first row's screen line
        end = self.content_offset.y + self.scrollable_content_region.height
        scrolled = self.scroll_offset.y
        columns = [column.key for column in self.ordered_columns]
        changed: list[tuple[str, Mapping[int, Text]]] = []
        lines: set[int] = set()
        calls: list[Callable[[], None]] = []
        while self._queued:
            update = self._queued[0]
            if callable(update):  # what came before it is in by the end of this batch
                calls.append(update)
                self._queued.popleft()
                continue
            if len(changed) >= ROWS_PER_FRAME:
                break
            row_key, _ = update
            y = top + self.get_row_index(row_key) - scrolled
            if top <= y < end:
                if len(lines) >= SHOWN_PER_FRAME:
                    break
                lines.add(y)
            changed.append(update)
            self._queued.popleft()

        def change() -> None:
            self._holding = True
            try:
                for row_key, cells in changed:
                    for column, cell in cells.items():
                        self.update_cell(row_key, columns[column], cell)
            finally:
                self._holding = False
            self.refresh()

        if changed:
            restyle_only(self._styles_cache, change, sorted(lines))
        for call in calls:
            call()
        if self._queued:
            self._waiting = self.call_after_refresh(self._show_queued)

    def refresh(
        self,
        *regions: Region,
        repaint: bool = True,
        layout: bool = False,
        recompose: bool = False,
    ) -> Self:
        # each update_cell refreshes the whole table: a poll's hundreds of cells made as many
        # refreshes (most of applying a poll), where one does
        if self._holding and not (regions or layout or recompose):
            return self
        return super().refresh(*regions, repaint=repaint, layout=layout, recompose=recompose)

    def add_row(
        self,
        *cells: Text,
        height: int | None = 1,
        key: str | None = None,
        label: TextType | None = None,
    ) -> RowKey:
        # a row's index is its line (render_line): a taller row would shift every line below
        if height != 1:
            raise ValueError("a run grid's rows are one line each")
        return super().add_row(*cells, height=1, key=key, label=label)

    def update_cell(
        self,
        row_key: RowKey | str,
        column_key: ColumnKey | str,
        value: Text,
        *,
        update_width: bool = False,
    ) -> None:
        super().update_cell(row_key, column_key, value, update_width=update_width)
        row = self.get_row_index(row_key)
        self._lines.discard((row, False))
        self._lines.discard((row, True))

    # rows that change place: their kept lines no longer match their index
    def remove_row(self, row_key: RowKey | str) -> None:
        super().remove_row(row_key)
        self._lines.clear()

    def clear(self, columns: bool = False) -> Self:
        self._lines.clear()
        return super().clear(columns)

    def sort(
        self,
        *columns: ColumnKey | str,
        key: Callable[[Any], Any] | None = None,
        reverse: bool = False,
    ) -> Self:
        self._lines.clear()
        return super().sort(*columns, key=key, reverse=reverse)
