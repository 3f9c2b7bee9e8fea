"""The fleet table: a Line API ScrollView, because the fleet can be 10,000 rows.

A DataTable builds per-cell renderables and relayouts on every change; here the rows, their
order and the filter live in `core.fleet_rows.FleetRows`, and only the lines on screen are ever
rendered (and cached per row version, width and cursor state).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import ClassVar

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding, BindingType
from textual.cache import LRUCache
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from sessiontui.core.fleet_rows import FleetRows
from sessiontui.core.marks import Marks
from sessiontui.core.node import Node
from sessiontui.core.query import Query
from sessiontui.ui.widgets.columns import Column, content_widths, fit, layout
from sessiontui.ui.widgets.framed_lines import FramedWidget
from sessiontui.ui.widgets.node_paint import row_strip
from sessiontui.ui.widgets.styled_lines import scroll_repainting


class NodeList(FramedWidget, ScrollView, can_focus=True):
    """Rows of nodes. Selection follows a node id, not a row number."""

    FRAMED_ROWS = 1024  # a step changes three rows, a scroll moves them all

    COMPONENT_CLASSES = {
        "node-list--header",
        "node-list--cursor",
        "node-list--online",
        "node-list--lost",
        "node-list--unavailable",
        "node-list--out-of-scope",
        "node-list--stale",
        "node-list--empty",
    }

    DEFAULT_CSS = """
    NodeList {
        overflow-x: hidden;
        overflow-y: auto;
        & > .node-list--header { text-style: bold; color: $text-accent; }
        & > .node-list--cursor { background: $block-cursor-blurred-background; }
        &:focus > .node-list--cursor {
            background: $block-cursor-background;
            color: $block-cursor-foreground;
            text-style: bold;
        }
        & > .node-list--online { color: $text-success; }
        & > .node-list--lost { color: $text-warning; }
        & > .node-list--unavailable { color: $text-muted; }
        & > .node-list--out-of-scope { color: $text-disabled; text-style: italic; }
        & > .node-list--stale { text-style: italic; }
        & > .node-list--empty { color: $text-muted; }
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up,k", "cursor(-1)", "Up", show=False, id="list.up"),
        Binding("down,j", "cursor(1)", "Down", show=False, id="list.down"),
        Binding("pageup", "page(-1)", "Page up", show=False, id="list.page-up"),
        Binding("pagedown", "page(1)", "Page down", show=False, id="list.page-down"),
        Binding("home", "edge(0)", "First", show=False, id="list.first"),
        Binding("end", "edge(1)", "Last", show=False, id="list.last"),
    ]

    class Activated(Message):
        """Double-click on a row: the same as Enter."""

        def __init__(self, node: Node) -> None:
            super().__init__()
            self.node = node

    def __init__(
        self,
        *,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
        on_highlight: Callable[[Node | None], None] | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        # Called, not posted: whatever follows the cursor (the details pane) must change in the
        # same turn as the cursor, so that both are in one frame. A message reached the screen
        # after its frame had been drawn now and then, and its change waited for the next
        # frame slot, up to 1/60 s later: the completed step's p95 (issue 28).
        self._on_highlight = on_highlight
        self.rows = FleetRows()
        self._cursor = 0
        self._anchor_id: str | None = None  # the node the operator chose; sticks across filters
        self._highlight_key: tuple[str, int] | None = None
        self._line_cache: LRUCache[tuple[object, ...], Strip] = LRUCache(1024)
        self._styles: dict[str, Style] | None = None
        self._columns_cache: tuple[int, list[tuple[Column, int]]] | None = None
        self._longest: dict[str, int] = {}  # widest cell per column over the fleet
        self._title = ""  # the border's title as last set

    # ---- data: FleetRows holds it; every change ends in _show ---------------------------------

    @property
    def total_count(self) -> int:
        return len(self.rows.nodes)

    @property
    def visible_count(self) -> int:
        return len(self.rows.visible)

    @property
    def hidden_out_of_scope(self) -> int:
        return self.rows.hidden_out_of_scope

    @property
    def nodes(self) -> list[Node]:
        return list(self.rows.nodes)

    def visible_nodes(self) -> list[Node]:
        return self.rows.visible_nodes()

    def node(self, node_id: str) -> Node | None:
        return self.rows.node(node_id)

    def is_stale(self, node_id: str) -> bool:
        i = self.rows.row_of(node_id)
        return i is not None and self.rows.stale[i]

    def scope_reason(self, node_id: str) -> str:
        i = self.rows.row_of(node_id)
        return "" if i is None else self.rows.scope_reason[i]

    @property
    def stale_count(self) -> int:
        return sum(self.rows.stale)

    @property
    def selected_node(self) -> Node | None:
        visible = self.rows.visible
        if not visible:
            return None
        return self.rows.nodes[visible[min(self._cursor, len(visible) - 1)]]

    @property
    def cursor(self) -> int:
        return self._cursor

    def set_nodes(self, nodes: Iterable[Node], *, stale: bool = False) -> None:
        """Replace every row (the cached inventory at start, or a test's fleet)."""
        self._line_cache.clear()  # cache keys hold row indexes
        self.rows.replace(nodes, stale=stale)
        self._longest = {}
        self._measure(self.rows.nodes)
        self._show()

    def upsert(self, nodes: Iterable[Node]) -> int:
        """Add new rows and update known ones in place; returns how many rows changed."""
        nodes = list(nodes)
        shown = self._on_screen()
        changed = self.rows.upsert(nodes)
        if changed:
            # the cells that could be wider: a refresh of a known fleet brings few
            relaid = self._measure(self.rows.upserted)
            self._show(None if relaid else shown)
        return changed

    def begin_listing(self) -> None:
        self.rows.begin_listing()

    @property
    def seen_count(self) -> int:
        return self.rows.seen_count

    def end_listing(self, complete_regions: Iterable[str]) -> int:
        """Rows of fully listed regions that the refresh never mentioned are gone from AWS."""
        dropped = self.rows.end_listing(complete_regions)
        if dropped:
            self._line_cache.clear()  # cache keys hold row indexes, which just moved
            self._show()
        return dropped

    # ---- filter, scope ----------------------------------------------------------------------

    @property
    def current_query(self) -> Query:
        return self.rows.query

    def set_query(self, query: Query | str) -> None:
        self.rows.set_query(query)
        self._show()

    @property
    def marked(self) -> list[str]:
        return self.rows.marked

    def marked_nodes(self) -> list[Node]:
        return self.rows.marked_nodes()

    def toggle_mark(self, node: Node) -> bool:
        """space: mark or unmark `node` as one of several targets; True when now marked."""
        now = self.rows.toggle_marked(node.id)
        self._update_title()
        self.refresh()
        return now

    def clear_marks(self) -> None:
        if self.rows.marked:
            self.rows.marked.clear()
            self._update_title()
            self.refresh()

    def set_marks(self, marks: Marks) -> None:
        """New favourites / recent targets: the ★ and an is:fav or is:recent filter follow."""
        self.rows.marks.replace_with(marks)
        self.rows.refilter()
        self._show()

    def set_scope(self, scope: Mapping[str, str] | None) -> None:
        self._line_cache.clear()
        self.rows.set_scope(scope)
        self._show()

    @property
    def show_out_of_scope(self) -> bool:
        return self.rows.show_out_of_scope

    @show_out_of_scope.setter
    def show_out_of_scope(self, value: bool) -> None:
        if self.rows.set_show_out_of_scope(value):
            self._show()

    def _show(self, shown: tuple[int, int, list[tuple[int, int]]] | None = None) -> None:
        """After the rows changed: cursor, size, title, a repaint, and the highlighted node.

        `shown` is what was on screen before (`_on_screen`): then only the lines that differ are
        painted again. A refresh brings a page every few milliseconds, and most pages change no
        row on screen; a whole-list repaint per page was most of a frame's cost while listing.
        """
        visible = self.rows.visible
        self._place_cursor()
        self.virtual_size = Size(self.size.width, len(visible) + 1)
        self._update_title()
        self._repaint(shown)
        if self.is_mounted:
            # after the new virtual size has been laid out, or the scroll would be clamped
            self.call_after_refresh(self._scroll_to_cursor)
        self._announce()

    def _on_screen(self) -> tuple[int, int, list[tuple[int, int]]]:
        """The list's length, the cursor, and the rows on screen with their versions."""
        rows = self.rows
        top = round(self.scroll_offset.y)
        window = rows.visible[top : top + max(0, self.scrollable_content_region.height - 1)]
        return len(rows.visible), self._cursor, [(i, rows.version[i]) for i in window]

    def _repaint(self, shown: tuple[int, int, list[tuple[int, int]]] | None) -> None:
        if shown is None:
            self.refresh()
            return
        now = self._on_screen()
        if now[1] != shown[1] or len(now[2]) != len(shown[2]):
            self.refresh()  # the cursor moved, or the window changed size: all of it
            return
        top = round(self.scroll_offset.y)
        if shown[0] != now[0]:
            self.refresh_line(top)  # the header's "cursor/count" figure
        for y, (was, is_now) in enumerate(zip(shown[2], now[2], strict=True)):
            if was != is_now:
                self.refresh_line(top + y + 1)

    def _place_cursor(self) -> None:
        visible = self.rows.visible
        if not visible:
            self._cursor = 0
            return
        if self._anchor_id is not None:
            row = self.rows.row_of(self._anchor_id)
            if row is not None:
                try:
                    self._cursor = visible.index(row)
                    return
                except ValueError:
                    pass
        # nothing chosen yet (or it is filtered out): stay on the same row number, so rows
        # streaming in during the first listing do not drag the cursor around
        self._cursor = max(0, min(self._cursor, len(visible) - 1))

    def _update_title(self) -> None:
        title = f"Nodes {self.visible_count}/{self.total_count}"
        hidden = self.hidden_out_of_scope
        if hidden:
            title += f" · {hidden} out of scope hidden"
        if self.marked:
            title += f" · {len(self.marked)} marked"
        # Textual repaints the whole widget whenever a title is set, the same title too: every
        # page of a refresh that changed no count repainted every line of the list
        if title != self._title:
            self._title = title
            self.border_title = title

    def _announce(self) -> None:
        node = self.selected_node
        row = None if node is None else self.rows.row_of(node.id)
        key = None if node is None or row is None else (node.id, self.rows.version[row])
        if key != self._highlight_key:
            self._highlight_key = key
            if self._on_highlight is not None:
                self._on_highlight(node)

    # ---- cursor -----------------------------------------------------------------------------

    def select_id(self, node_id: str) -> bool:
        row = self.rows.row_of(node_id)
        if row is None:
            return False
        self._anchor_id = node_id
        try:
            pos = self.rows.visible.index(row)
        except ValueError:
            return False
        self.move_cursor(pos)
        return True

    def move_cursor(self, pos: int) -> None:
        visible = self.rows.visible
        if not visible:
            return
        pos = max(0, min(pos, len(visible) - 1))
        old = self._cursor
        self._cursor = pos
        self._anchor_id = self.rows.nodes[visible[pos]].id
        if old != pos:
            # lines are virtual: data row p sits on line p + 1, under the header
            self.refresh_line(old + 1)
            self.refresh_line(pos + 1)
            self.refresh_line(round(self.scroll_offset.y))  # the header's position figure
        self._scroll_to_cursor()
        self._announce()

    def _scroll_to_cursor(self) -> None:
        height = self.scrollable_content_region.height
        if height <= 1:
            return
        top = round(self.scroll_offset.y)
        rows_on_screen = height - 1
        if self._cursor < top:
            self.scroll_to(y=self._cursor, animate=False, immediate=True)
        elif self._cursor >= top + rows_on_screen:
            self.scroll_to(y=self._cursor - rows_on_screen + 1, animate=False, immediate=True)

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        # its rows are kept whole by their content, wherever they are on screen (framed_lines)
        scroll_repainting(self, old_value, new_value)

    def action_cursor(self, delta: int) -> None:
        self.move_cursor(self._cursor + delta)

    def action_page(self, direction: int) -> None:
        step = max(1, self.scrollable_content_region.height - 2)
        self.move_cursor(self._cursor + direction * step)

    def action_edge(self, end: int) -> None:
        self.move_cursor(len(self.rows.visible) - 1 if end else 0)

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None or offset.y < 1:
            return
        pos = round(self.scroll_offset.y) + offset.y - 1
        if 0 <= pos < len(self.rows.visible):
            self.move_cursor(pos)
            if event.chain >= 2:
                self.post_message(self.Activated(self.rows.nodes[self.rows.visible[pos]]))

    # ---- rendering --------------------------------------------------------------------------

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._styles = None
        self._line_cache.clear()

    def _on_focus(self, event: events.Focus) -> None:
        self._line_cache.clear()  # the cursor row is drawn differently with focus
        super()._on_focus(event)

    def _on_blur(self, event: events.Blur) -> None:
        self._line_cache.clear()
        super()._on_blur(event)

    def on_resize(self, event: events.Resize) -> None:
        self.virtual_size = Size(self.size.width, len(self.rows.visible) + 1)
        self._scroll_to_cursor()

    def _style(self, name: str) -> Style:
        if self._styles is None:
            base = self.rich_style
            get = self.get_component_rich_style
            # Whole-row colours are full styles: a partial style drops the alpha of
            # $text-muted / $text-disabled, and "muted" rows came out brighter than the rest.
            self._styles = {
                "base": base,
                "header": base + get("node-list--header", partial=True),
                "cursor": get("node-list--cursor", partial=True),
                "online": get("node-list--online", partial=True),
                "lost": base + get("node-list--lost"),
                "unavailable": base + get("node-list--unavailable"),
                "out-of-scope": base + get("node-list--out-of-scope"),
                "stale": get("node-list--stale", partial=True),
                "empty": base + get("node-list--empty"),
            }
        return self._styles[name]

    def _measure(self, nodes: Iterable[Node]) -> bool:
        """Column widths follow the longest cells: a longer name re-lays the columns (True)."""
        longest = content_widths(nodes, self._longest)
        if longest == self._longest:
            return False
        self._longest = longest
        self._columns_cache = None
        self._line_cache.clear()
        return True

    def _columns(self, width: int) -> list[tuple[Column, int]]:
        if self._columns_cache is None or self._columns_cache[0] != width:
            self._columns_cache = (width, layout(width, self._longest))
        return self._columns_cache[1]

    def content_lines(self, first: int, stop: int) -> list[Strip]:
        width = self.scrollable_content_region.width
        top = round(self.scroll_offset.y)
        focus = self.has_focus
        return [self._row_strip(y, width, top, focus) for y in range(first, stop)]

    def _row_strip(self, y: int, width: int, top: int, focus: bool) -> Strip:
        if y == 0:
            return self._header_strip(width)
        pos = top + y - 1
        rows = self.rows
        if pos >= len(rows.visible):
            if pos == 0:
                return self._empty_strip(width)
            return Strip.blank(width, self._style("base"))
        row = rows.visible[pos]
        selected = pos == self._cursor
        show_reason = rows.show_out_of_scope and bool(rows.scope_reason[row])
        favourite = rows.marks.is_favourite(rows.nodes[row].id)
        marked = bool(self.marked) and rows.nodes[row].id in self.marked
        key = (row, rows.version[row], width, selected, show_reason, focus, favourite, marked)
        strip = self._line_cache.get(key)
        if strip is None:
            strip = row_strip(
                rows,
                row,
                self._columns(width),
                self._style,
                width,
                selected,
                show_reason=show_reason,
                favourite=favourite,
                marked=marked,
            )
            self._line_cache[key] = strip
        return strip

    def _position(self) -> str:
        """Where the cursor is, at the header's right: it stands in for a scrollbar."""
        if not self.rows.visible:
            return ""
        return f"{self._cursor + 1:,}/{len(self.rows.visible):,} "

    def _header_strip(self, width: int) -> Strip:
        position = self._position()
        key = ("header", width, position)
        strip = self._line_cache.get(key)
        if strip is None:
            style = self._style("header")
            text = " " + "".join(fit(col.title, w) + " " for col, w in self._columns(width))
            titles = text.rstrip()
            gap = width - len(titles) - len(position)
            # where the columns fill the width, the position gives way: it stood over the last
            # title ("PROJEC…5/61"), and the border's title still counts the rows
            line = titles + " " * gap + position if gap >= 1 else fit(text, width)
            strip = Strip([Segment(line, style)], width)
            self._line_cache[key] = strip
        return strip

    def _empty_strip(self, width: int) -> Strip:
        text = " no node matches the filter" if self.rows.nodes else " no nodes yet"
        return Strip([Segment(fit(text, width), self._style("empty"))], width)
