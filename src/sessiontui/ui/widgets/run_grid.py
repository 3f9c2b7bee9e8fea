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
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, Self

from rich.text import Text, TextType
from textual.cache import LRUCache
from textual.geometry import Region
from textual.strip import Strip
from textual.widgets import DataTable
from textual.widgets.data_table import ColumnKey, RowKey

from sessiontui.ui.widgets.styled_lines import restyle_only, scroll_keeping_styled_lines


class RunGrid(DataTable[Text]):
    """Rows of one line each, a row cursor; their lines kept between frames."""

    def __init__(self, *, id: str | None = None, zebra_stripes: bool = False) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=zebra_stripes)
        # (row index, under the cursor) -> its line; a screen is ~45 of them
        self._lines: LRUCache[tuple[int, bool], Strip] = LRUCache(1024)
        self._painted_as: tuple[object, ...] = ()  # what every kept line was painted under

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

    def update_rows(self, rows: Iterable[tuple[str, Sequence[Text]]]) -> None:
        """Each row's cells that differ from the ones given replaced, and only those rows' lines
        painted again (DataTable.update_cell repaints the whole table)."""
        columns = self.ordered_columns
        changed = [
            (row_key, column.key, cell)
            for row_key, cells in rows
            for column, was, cell in zip(columns, self.get_row(row_key), cells, strict=True)
            if cell != was
        ]
        if not changed:
            return

        def change() -> None:
            for row_key, column_key, cell in changed:
                self.update_cell(row_key, column_key, cell)

        header = self.header_height if self.show_header else 0
        top = self.content_offset.y + header  # the first row's screen line
        end = self.content_offset.y + self.scrollable_content_region.height
        scrolled = self.scroll_offset.y
        lines = {top + self.get_row_index(row_key) - scrolled for row_key, _, _ in changed}
        restyle_only(self._styles_cache, change, [y for y in lines if top <= y < end])

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
