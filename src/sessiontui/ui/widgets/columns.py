"""The node list's columns: which fit a terminal width, and each cell's text padded to its width.

Plain text work, kept apart from the widget so it can be read (and tested) on its own.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.cells import cell_len

from sessiontui.core.node import Node


@dataclass(frozen=True)
class Column:
    key: str
    title: str
    width: int  # fixed width; name and note share what is left


_NAME_MIN, _NAME_MAX, _NOTE_MIN = 12, 30, 12
COLUMNS: tuple[Column, ...] = (
    Column("name", "NAME", 0),
    Column("id", "ID", 20),
    Column("ping", "PING", 14),
    Column("platform", "PLATFORM", 8),
    Column("project", "PROJECT", 12),
    Column("role", "ROLE", 10),
    Column("ip", "IP", 15),
    Column("region", "REGION", 14),
    Column("note", "NOTE", 0),
)
# what goes first when the terminal is narrow: the least useful for picking a node
_DROP_ORDER = ("note", "platform", "role", "region", "project", "ip", "ping")
# shown only when the fleet spans accounts (Identity Center roles in several accounts)
ACCOUNT = Column("account", "ACCOUNT", 14)


def cell_text(node: Node, key: str) -> str:
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


def layout(width: int, accounts: bool = False) -> list[tuple[Column, int]]:
    """Columns that fit in `width` cells and their widths (one-cell gaps, one-cell margin);
    with `accounts`, an ACCOUNT column after the name (dropped after the note when narrow)."""
    cols = list(COLUMNS)
    dropping = list(_DROP_ORDER)
    if accounts:
        cols.insert(1, ACCOUNT)
        dropping.insert(1, ACCOUNT.key)
    while True:
        keys = {c.key for c in cols}
        fixed = sum(c.width for c in cols) + len(cols) + 1
        need = _NAME_MIN + (_NOTE_MIN if "note" in keys else 0)
        if width - fixed >= need or not dropping:
            break
        drop = dropping.pop(0)
        cols = [c for c in cols if c.key != drop]
    avail = max(_NAME_MIN, width - fixed)
    if "note" in keys:
        name_w = min(_NAME_MAX, avail - _NOTE_MIN)
        widths = {"name": name_w, "note": avail - name_w}
    else:
        widths = {"name": avail}
    return [(c, widths.get(c.key, c.width)) for c in cols]
