"""The node list's columns: which fit a terminal width, and each cell's text padded to its width.

Plain text work, kept apart from the widget so it can be read (and tested) on its own.

Each column has a priority, a minimum and a maximum width. Columns are placed in priority order,
each taking the width its longest cell needs (between its minimum and maximum) while that fits,
so the name gets its width before less useful columns get any; a column that does not fit is
left out and the next one is tried. What is left goes to the flexible column (the note), or to
the name when the note is out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from rich.cells import cell_len

from sessiontui.core.node import Node
from sessiontui.core.untrusted import terminal_text


@dataclass(frozen=True)
class Column:
    key: str
    title: str
    min: int  # below this the column is left out
    max: int  # its cells never get more than this (0: takes what is left, the flexible column)
    priority: int  # lower is placed first; the display order is COLUMNS' order
    # whether the longest cell decides its width (otherwise it always wants `max`)
    sized_by_content: bool = True


COLUMNS: tuple[Column, ...] = (
    Column("name", "NAME", 12, 24, 0),
    # only when nodes carry an account (Identity Center roles: one fleet across accounts)
    Column("account", "ACCOUNT", 7, 16, 3),
    Column("id", "ID", 20, 20, 1, sized_by_content=False),  # i-… and mi-… ids are 19/20
    Column("ping", "PING", 7, 14, 2),  # "ConnectionLost" is 14
    Column("platform", "PLATFORM", 7, 8, 7),
    Column("project", "PROJECT", 7, 12, 4),
    Column("role", "ROLE", 6, 10, 6),
    Column("ip", "IP", 15, 15, 3, sized_by_content=False),
    Column("region", "REGION", 9, 14, 5),
    Column("note", "NOTE", 12, 0, 8),
)
_NAME = "name"
_FLEX = "note"
_NAMED_ACCOUNTS = "account:named"  # in content_widths: the longest account name
# the cells whose longest text the widget measures over the fleet (see content_widths)
CONTENT_KEYS: tuple[str, ...] = tuple(
    c.key for c in COLUMNS if c.sized_by_content and c.max and c.key != _FLEX
)


def cell_text(node: Node, key: str) -> str:
    """A cell's text as shown: node fields are text from AWS, so their controls are made visible
    (an ESC, a newline or a bidi override must not reach the terminal, nor split a row)."""
    return terminal_text(_field(node, key))


def _field(node: Node, key: str) -> str:
    if key == "name":
        return node.display_name
    if key == "id":
        return node.id
    if key == "ping":
        return node.ping_status or ("unmanaged" if not node.managed else "-")
    if key == "platform":
        return node.platform or "-"
    if key == "project":
        return node.tags.get("project", "")
    if key == "role":
        return node.tags.get("Role", "")
    if key == "ip":
        return node.private_ip
    if key == "region":
        return node.region
    if key == "account":
        return node.account_label
    return ""


def content_widths(nodes: Iterable[Node], into: dict[str, int] | None = None) -> dict[str, int]:
    """The longest cell of each content-sized column over `nodes` (merged into `into`)."""
    widths = dict(into or {})
    nodes = list(nodes)
    for key in CONTENT_KEYS:
        texts = {cell_text(n, key) for n in nodes}  # few distinct values in most columns
        longest = max((len(t) if t.isascii() else cell_len(t) for t in texts), default=0)
        widths[key] = max(widths.get(key, 0), longest)
    # the ACCOUNT column is for a fleet from Identity Center's accounts (named by the portal);
    # an IAM role's one account (an id on every node) is no news
    named = max((len(n.account_name) for n in nodes), default=0)
    widths[_NAMED_ACCOUNTS] = max(widths.get(_NAMED_ACCOUNTS, 0), named)
    return widths


def fit(text: str, width: int) -> str:
    """Pad or truncate to exactly `width` cells; the ASCII fast path avoids cell maths."""
    if width <= 0:
        return ""
    if text.isascii():
        if len(text) > width:
            return text[: width - 1] + "…"
        return text.ljust(width)
    length = cell_len(text)
    if length <= width:
        return text + " " * (width - length)
    out, used = [], 0
    for ch in text:
        w = cell_len(ch)
        if used + w > width - 1:
            break
        out.append(ch)
        used += w
    return "".join(out) + "…" + " " * (width - 1 - used)


_SEPARATORS = "-_. "


def fit_keeping_end(text: str, width: int) -> str:
    """Like `fit`, but a cut keeps the end too: names in a fleet differ at the end as often as
    at the start (`onprem-router-01` / `-02`), so `onprem-r…-01` rather than `onprem-rout…`.

    The end kept is the last part after a separator (`-01`, `.internal`) when it takes at most
    a third of the width, else the last third."""
    if width <= 0:
        return ""
    length = len(text) if text.isascii() else cell_len(text)
    if length <= width or width < 8:
        return fit(text, width)
    budget = width // 3
    cut = max(text.rfind(sep) for sep in _SEPARATORS)
    tail = text[cut:] if cut > 0 and cell_len(text[cut:]) <= budget else ""
    if not tail:
        tail, used = "", 0
        for ch in reversed(text):
            w = cell_len(ch)
            if used + w > budget:
                break
            tail, used = ch + tail, used + w
    head_width = width - 1 - cell_len(tail)
    head = text[:head_width] if text.isascii() else _head(text, head_width)
    return head + "…" + tail + " " * (width - cell_len(head) - 1 - cell_len(tail))


def _head(text: str, width: int) -> str:
    out, used = [], 0
    for ch in text:
        w = cell_len(ch)
        if used + w > width:
            break
        out.append(ch)
        used += w
    return "".join(out)


def fit_cell(key: str, text: str, width: int) -> str:
    return fit_keeping_end(text, width) if key == _NAME else fit(text, width)


def layout(width: int, longest: Mapping[str, int] | None = None) -> list[tuple[Column, int]]:
    """Columns that fit in `width` cells and their widths (one-cell gaps, one-cell margin).

    `longest` is the widest cell of each column over the fleet (content_widths); without it
    each column wants its maximum."""
    longest = longest or {}
    free = width - 1  # the left margin
    widths: dict[str, int] = {}
    for col in sorted(COLUMNS, key=lambda c: c.priority):
        if col.key == "account" and not longest.get(_NAMED_ACCOUNTS):
            continue
        if col.max == 0:  # flexible: only its minimum now, the rest at the end
            want = col.min
        elif col.sized_by_content and col.key in longest:
            want = max(col.min, min(col.max, max(longest[col.key], len(col.title))))
        else:
            want = col.max
        if free >= want + 1:
            widths[col.key] = want
            free -= want + 1
        elif col.key == _NAME or free >= col.min + 1:
            widths[col.key] = max(col.min, free - 1)
            free -= widths[col.key] + 1
    if free > 0:
        grow = _FLEX if _FLEX in widths else _NAME
        widths[grow] += free
    return [(c, widths[c.key]) for c in COLUMNS if c.key in widths]
