"""Text from AWS in Textual: plain content, never markup, its controls visible.

Textual reads a str as content markup in most places (Static, notifications, option prompts,
border titles, DataTable cells): `[@click=app.quit]` there is an action a click runs and a broken
tag a crash. Node data reaches those places only through these functions, which build Textual's
plain types from `core.untrusted.terminal_text`.
"""

from __future__ import annotations

from rich.text import Text
from textual.content import Content

from sessiontui.core.untrusted import terminal_lines, terminal_text


def plain(text: str) -> Content:
    """Content that shows `text` as it reads (Static, Option, border titles)."""
    return Content(terminal_text(text))


def plain_cell(text: str) -> Text:
    """A DataTable cell that shows `text` as it reads (a str cell would be parsed as markup)."""
    return Text(terminal_text(text), no_wrap=True, end="")


def plain_lines(text: str) -> Content:
    """Content that shows many lines (a command's output) as they read: line breaks kept,
    every other control visible."""
    return Content("\n".join(terminal_lines(text)))
