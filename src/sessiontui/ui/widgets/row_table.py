"""The panels' tables (forwards, sessions, access requests): a few rows whose every cell moves each
second, so each refresh rebuilds them and keeps the cursor where it was."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, TypeVar

from rich.text import Text
from textual.widgets import DataTable

from sessiontui.ui.plain import plain_cell

T = TypeVar("T")


def refill(table: DataTable[Text], rows: Iterable[tuple[str, Sequence[str]]]) -> None:
    """Replace the rows with (key, cells) pairs, the cursor on the same index (or the last row)."""
    keep = table.cursor_row
    table.clear()
    count = 0
    for key, cells in rows:
        # targets, reasons and statuses come from AWS: a str cell would be read as markup
        table.add_row(*(plain_cell(c) for c in cells), key=key)
        count += 1
    if count:
        table.move_cursor(row=min(max(keep, 0), count - 1))


def selected(table: DataTable[Any], items: Sequence[T]) -> T | None:
    """The item under the cursor, with `items` in the table's row order."""
    row = table.cursor_row
    return items[row] if items and 0 <= row < len(items) else None
