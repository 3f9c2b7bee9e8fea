"""One fleet row as a Strip: the node list's painting, apart from its scrolling and cursor."""

from __future__ import annotations

from collections.abc import Callable

from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip

from sessiontui.core.fleet_rows import FleetRows
from sessiontui.core.untrusted import terminal_text
from sessiontui.ui.widgets.columns import Column, cell_text, fit_cell

FAVOURITE = "★ "  # before a favourite's name
MARKED = "✓"  # in the row's first cell: marked (space) as one of several targets


def row_strip(
    rows: FleetRows,
    row: int,
    columns: list[tuple[Column, int]],
    style: Callable[[str], Style],
    width: int,
    selected: bool,
    *,
    show_reason: bool,
    favourite: bool = False,
    marked: bool = False,
) -> Strip:
    node = rows.nodes[row]
    why = node.why
    if show_reason:
        base = style("out-of-scope")
        # the row has little room: the details pane carries the full sentence
        reason = rows.scope_reason[row].removeprefix("outside role scope: ")
        note = "scope: " + reason.split(" (needs", 1)[0]
    elif node.ping_status == "ConnectionLost" and node.managed and node.state in ("", "running"):
        base = style("lost")
        note = why
    elif why:
        base = style("unavailable")
        note = why
    else:
        base = style("base")
        note = ""
    if rows.stale[row]:
        base = base + style("stale")
    if selected:
        base = base + style("cursor")
    colour_ping = node.ping_status == "Online" and not selected and not show_reason
    # one Segment per run of equal style: every Segment costs again in Textual's line filters
    parts: list[str] = [MARKED if marked else " "]
    segs: list[Segment] = []
    for col, w in columns:
        if col.key == "note":
            cell = terminal_text(note)  # the agent's and AWS's words about the node
        elif col.key == "name" and favourite:
            cell = FAVOURITE + cell_text(node, "name")
        else:
            cell = cell_text(node, col.key)
        text = fit_cell(col.key, cell, w)
        if col.key == "ping" and colour_ping:
            segs.append(Segment("".join(parts), base))
            segs.append(Segment(text, base + style("online")))
            parts = [" "]
        else:
            parts.append(text)
            parts.append(" ")
    tail = "".join(parts)
    used = sum(len(seg.text) for seg in segs) + len(tail)
    if used < width:
        tail += " " * (width - used)
    segs.append(Segment(tail, base))
    strip = Strip(segs, width)
    return strip if used <= width else strip.crop(0, width)
