"""The panels' tables (forwards, sessions, access requests): a few rows whose every cell moves each
second, so each refresh rebuilds them and keeps the cursor where it was."""

from __future__ import annotations

import textwrap
from collections.abc import Iterable, Sequence
from typing import Any, TypeVar

from rich.cells import cell_len
from rich.text import Text
from textual.widgets import DataTable

from sessiontui.core.untrusted import terminal_text
from sessiontui.ui.plain import plain_cell

T = TypeVar("T")


def column_widths(titles: Sequence[str], rows: Sequence[Sequence[str]], room: int) -> list[int]:
    """Each column's width so that the row fits in `room` cells: the widest columns give up
    cells first (their text wraps), none below MIN_WIDTH. Without room to spare, as wide as
    their longest text."""
    widths = [
        max([cell_len(title), *(cell_len(row[i]) for row in rows)])
        for i, title in enumerate(titles)
    ]
    room -= 2 * len(widths)  # DataTable's padding, a cell each side
    while sum(widths) > room:
        widest = max(range(len(widths)), key=lambda i: widths[i])
        if widths[widest] <= MIN_WIDTH:
            break
        others = sorted(widths, reverse=True)
        runner_up = others[1] if len(others) > 1 else 0
        widths[widest] = max(MIN_WIDTH, runner_up, widths[widest] - (sum(widths) - room))
        if widths[widest] == runner_up and sum(widths) > room:
            widths[widest] = max(MIN_WIDTH, runner_up - 1)
    return widths


MIN_WIDTH = 12  # a wrapped column keeps room for a word or two per line


def wrapped(text: str, width: int) -> Text:
    """A cell of `text` in lines of at most `width` cells, broken between words where it can
    be; as plain_cell, its text from AWS shows its controls rather than sending them."""
    if cell_len(text) <= width:
        return plain_cell(text)
    lines = textwrap.wrap(text, width, break_long_words=True, break_on_hyphens=False)
    return Text("\n".join(terminal_text(line) for line in lines), no_wrap=True, end="")


def refill(table: DataTable[Text], rows: Iterable[tuple[str, Sequence[str]]]) -> None:
    """Replace the rows with (key, cells) pairs, the cursor on the same index (or the last row).

    A row wider than the table wraps its widest cells, so a reason or an id is read whole
    rather than cut at the panel's edge ("stopped by the operat")."""
    keep = table.cursor_row
    table.clear()
    count = 0
    keyed = [(key, list(cells)) for key, cells in rows]
    titles = [str(column.label) for column in table.columns.values()]
    room = table.scrollable_content_region.width
    widths = column_widths(titles, [cells for _, cells in keyed], room) if room else []
    for key, cells in keyed:
        # targets, reasons and statuses come from AWS: a str cell would be read as markup
        shown = (
            [wrapped(c, w) for c, w in zip(cells, widths, strict=False)]
            if widths
            else [plain_cell(c) for c in cells]
        )
        lines = max((len(cell.plain.split("\n")) for cell in shown), default=1)
        table.add_row(*shown, key=key, height=lines)
        count += 1
    if count:
        table.move_cursor(row=min(max(keep, 0), count - 1))


def selected(table: DataTable[Any], items: Sequence[T]) -> T | None:
    """The item under the cursor, with `items` in the table's row order."""
    row = table.cursor_row
    return items[row] if items and 0 <= row < len(items) else None
