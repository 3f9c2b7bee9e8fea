"""Everything known about the selected node, and why it cannot be reached when it cannot."""

from __future__ import annotations

import re
from functools import lru_cache

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from textual.cache import LRUCache
from textual.geometry import Region
from textual.strip import Strip

from sessiontui.core.node import Node
from sessiontui.core.untrusted import terminal_text
from sessiontui.ui.widgets.framed_lines import FramedWidget

Line = list[tuple[str, str]]  # (text, rich style name) runs


@lru_cache(maxsize=64)
def _style(name: str) -> Style:
    return Style.parse(name) if name else Style()


def _pref_lines(prefs: object) -> list[tuple[str, str]]:
    """Session Manager preferences, whatever fields the sessions module gives us."""
    if prefs is None:
        return []
    fields = getattr(prefs, "__dataclass_fields__", None)
    if fields:
        items = [(k, getattr(prefs, k)) for k in fields]
    elif isinstance(prefs, dict):
        items = list(prefs.items())
    else:
        return []
    labels = {"idle_minutes": ("idle timeout", " min"), "max_minutes": ("max session", " min")}
    out = []
    for key, value in items:
        if value in (None, "", {}):
            continue
        label, unit = labels.get(key, (key.replace("_", " "), ""))
        out.append((label, f"{value}{unit}"))
    return out


def describe_node(
    node: Node | None,
    *,
    scope_reason: str = "",
    stale: bool = False,
    preferences: object = None,
    notes: tuple[str, ...] = (),
    sessions: list[tuple[str, str]] | None = None,
    enter: str = "",
) -> list[Line]:
    """The pane's lines. `enter` says what Enter does where "connectable" would mislead (a
    node governed by just-in-time access is Online, yet no role opens it)."""
    if node is None:
        return [[("no node selected", "dim")]]
    lines: list[Line] = [[(node.display_name, "bold")]]
    why = node.why
    if why:
        lines.append([("not connectable: ", "bold yellow"), (why, "yellow")])
    elif enter:
        lines.append([(enter, "cyan")])
    else:
        lines.append([("connectable", "green")])
    if scope_reason:
        lines.append([(scope_reason, "bold red")])
    lines.extend([(note, "bold cyan")] for note in notes)  # e.g. shells in other windows
    if stale:
        lines.append([("from the cache; not yet confirmed by a refresh", "italic dim")])
    lines.append([])
    rows = [
        ("id", node.id),
        ("type", "hybrid (on-premises)" if node.is_hybrid else node.resource_type),
        ("region", node.region),
        ("ping", node.ping_status or "-"),
        ("last ping", node.last_ping),
        ("state", node.state),
        ("platform", " ".join(p for p in (node.platform_name, node.platform_version) if p)),
        ("platform type", node.platform),
        ("private IP", node.private_ip),
        ("computer", node.computer_name),
        ("agent", node.agent_version),
        ("IAM role", node.iam_role),
        ("managed", "yes" if node.managed else "no"),
    ]
    lines += [[(f"{label:<14}", "dim"), (value, "")] for label, value in rows if value]
    if node.tags:
        lines += [[], [("tags", "bold")]]
        for k in sorted(node.tags, key=str.casefold):
            lines.append([(f"  {k}", "cyan"), (f" = {node.tags[k]}", "")])
    if sessions:
        lines += [[], [("sessions (time left)", "bold")]]
        lines += [[(f"  {label:<22}", "dim"), (value, "")] for label, value in sessions]
    prefs = _pref_lines(preferences)
    if prefs:
        lines += [[], [("Session Manager preferences", "bold")]]
        lines += [[(f"  {label:<22}", "dim"), (value, "")] for label, value in prefs]
    # names, tags and the agent's fields are text from AWS: their controls (an OSC 52 in a tag
    # would set the clipboard) are shown, never written to the terminal
    return [[(terminal_text(text), style) for text, style in line] for line in lines]


_CHUNK = re.compile(r"\s+|\S+")


def wrap_line(line: Line, width: int) -> list[Line]:
    """A line as rows of at most `width` cells, broken between words where it can be.

    Rows after the first start under the value when the line opens with a short label, so a
    long reason ("agent ConnectionLost since ...") or host name is read in full, not cut."""
    if width <= 0 or sum(cell_len(text) for text, _ in line) <= width:
        return [line]
    label = cell_len(line[0][0]) if len(line) > 1 else 0
    longest = max(cell_len(c) for text, _ in line for c in _CHUNK.findall(text))
    # under the value when its words fit there; otherwise a small hanging indent
    indent = label if label <= width // 2 and longest <= width - label else min(2, width // 4)
    rows: list[Line] = []
    row: Line = []
    used = 0

    def room(chunk: str) -> str:
        """The head of `chunk` that fits in the row; at least one character on an empty row."""
        out, cells = "", used
        for ch in chunk:
            if cells + cell_len(ch) > width and (out or cells > indent):
                break
            out += ch
            cells += cell_len(ch)
        return out

    for text, style in line:
        for chunk in _CHUNK.findall(text):
            while chunk:
                cells = cell_len(chunk)
                if used + cells <= width:
                    row.append((chunk, style))
                    used += cells
                    break
                if chunk.isspace():
                    chunk = ""  # a break between words: the next row starts with the word
                elif cells <= width - indent and used > indent:
                    pass  # the word fits whole on the next row
                else:
                    head = room(chunk)
                    row.append((head, style))
                    chunk = chunk[len(head) :]
                rows.append(row)
                row, used = ([(" " * indent, "")] if indent else []), indent
    if len(row) > (1 if indent else 0):
        rows.append(row)
    return rows


class NodeDetails(FramedWidget):
    """Drawn line by line: the pane changes on every cursor step, and rich Text wrapping
    costs several milliseconds a frame where plain segments cost a fraction of one."""

    DEFAULT_CSS = """
    NodeDetails {
        width: 44;
        height: 1fr;
        padding: 0 1;
        border: round $primary-muted;
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.border_title = "Details"
        self.node: Node | None = None
        self.preferences: object = None
        self._scope_reason = ""
        self._stale = False
        self._notes: tuple[str, ...] = ()
        self._enter = ""
        self._had_sessions = False
        self._lines: list[Line] = describe_node(None)
        self._rows: list[Line] = self._lines  # _lines wrapped to the pane's width
        self._rows_width = -1
        self._base: Style | None = None
        # Rows by their text and styles: a step changes a dozen rows, but most of them show
        # what a node seen before showed (a platform, an agent, a tag's value), only not on
        # the same row; their segments need not be styled again
        self._strips: LRUCache[tuple[object, ...], Strip] = LRUCache(512)

    @property
    def plain(self) -> str:
        return "\n".join("".join(text for text, _ in line) for line in self._lines)

    def show(
        self,
        node: Node | None,
        *,
        scope_reason: str = "",
        stale: bool = False,
        notes: tuple[str, ...] = (),
        enter: str = "",
    ) -> None:
        self.node = node
        self._scope_reason, self._stale, self._notes = scope_reason, stale, notes
        self._enter = enter
        width = self.content_region.width
        old = self._wrapped(width)
        self._lines = describe_node(
            node,
            scope_reason=scope_reason,
            stale=stale,
            preferences=self._prefs_for(node),
            notes=notes,
            sessions=(sessions := self._sessions_for(node)),
            enter=enter,
        )
        self._had_sessions = bool(sessions)
        self._rows_width = -1
        new = self._wrapped(width)
        # repaint only the rows that differ: neighbouring nodes share most labels and tags
        dirty = [
            Region(0, y, self.size.width, 1)
            for y in range(max(len(old), len(new)))
            if y >= len(old) or y >= len(new) or old[y] != new[y]
        ]
        if dirty:
            self.refresh(*dirty)

    def _wrapped(self, width: int) -> list[Line]:
        if width != self._rows_width:
            self._rows = [row for line in self._lines for row in wrap_line(line, width)]
            self._rows_width = width
        return self._rows

    def set_preferences(self, preferences: object) -> None:
        """Per-region preferences {region: SessionPreferences}; shown for the node's region."""
        self.preferences = preferences
        self._again()

    def _again(self) -> None:
        self.show(
            self.node,
            scope_reason=self._scope_reason,
            stale=self._stale,
            notes=self._notes,
            enter=self._enter,
        )

    def _sessions_for(self, node: Node | None) -> list[tuple[str, str]]:
        book = getattr(self.app, "forwards", None)
        clock = getattr(getattr(self.app, "services", None), "clock", None)
        if book is None or clock is None or node is None:
            return []
        lines: list[tuple[str, str]] = book.lines_for(node, clock.now())
        return lines

    def tick(self) -> None:
        """Once a second: the time left of the node's sessions moves on (nothing else does)."""
        if self.node is not None and (self._had_sessions or self._sessions_for(self.node)):
            self._again()

    def _prefs_for(self, node: Node | None) -> object:
        if node is None or not isinstance(self.preferences, dict):
            return None
        return self.preferences.get(node.region)

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._base = None

    def content_lines(self, first: int, stop: int) -> list[Strip]:
        width = self.content_region.width
        # rich_style walks every ancestor; once per style change is enough
        base = self._base
        if base is None:
            base = self._base = self.rich_style
        rows = self._wrapped(width)
        return [self._row_strip(rows, y, width, base) for y in range(first, stop)]

    def _row_strip(self, rows: list[Line], y: int, width: int, base: Style) -> Strip:
        if y >= len(rows):
            return Strip.blank(width, base)
        row = rows[y]
        key = (width, base, *row)
        strip = self._strips.get(key)
        if strip is None:
            segs = [Segment(text, base + _style(style)) for text, style in row if text]
            strip = self._strips[key] = Strip(segs).crop_extend(0, width, base)
        return strip
