"""Textual's per-widget styles cache, reused across a scroll or a change of some rows instead of
styled again."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from textual.scroll_view import ScrollView


def move_styled_lines(styles_cache: Any, first: int, end: int, shift: int, dirty: set[int]) -> None:
    """After a scroll by `shift` lines, move the already styled lines `first`..`end` (screen
    lines) to where they now show, instead of styling every visible line again. Textual's styles
    cache is keyed by screen line, so a scroll would otherwise push all 45 rows through borders,
    backgrounds and filters (most of a scrolling step's cost). The compositor still repaints
    the whole widget; only lines that scrolled into view, or were `dirty` before, are rendered.
    """
    lines = getattr(styles_cache, "_cache", None)
    marked = getattr(styles_cache, "_dirty_lines", None)
    if not isinstance(lines, dict) or not isinstance(marked, set):
        return  # another Textual: keep its full repaint
    moved = {
        y: lines[y + shift]
        for y in range(first, end)
        if first <= y + shift < end and y + shift in lines and y + shift not in dirty
    }
    for y in range(first, end):
        lines.pop(y, None)
    lines.update(moved)
    marked.clear()
    marked.update(y for y in dirty if not first <= y < end)
    marked.update(y for y in range(first, end) if y not in moved)


def restyle_only(styles_cache: Any, change: Callable[[], None], lines: Iterable[int]) -> None:
    """Make `change`, which repaints the whole widget (a DataTable's update_cell does), style
    only the screen `lines` again: the other lines it styled before are kept as they were."""
    styled = getattr(styles_cache, "_cache", None)
    marked = getattr(styles_cache, "_dirty_lines", None)
    if not isinstance(styled, dict) or not isinstance(marked, set):
        change()  # another Textual: its full repaint
        return
    kept, dirty = dict(styled), set(marked)
    change()
    styled.clear()
    styled.update(kept)
    marked.clear()
    marked.update(dirty)
    marked.update(lines)


def scroll_repainting(view: ScrollView, old: float, new: float) -> bool:
    """A ScrollView's `watch_scroll_y`, less refreshing a bar 0 cells wide (app.tcss): never in
    the screen's map, its refresh rebuilt every widget's map on each scrolled row (0.5 ms of a
    2 ms frame). The view is repainted whole; True when it moved a row or more."""
    if round(new) == round(old):
        return False
    if view.show_vertical_scrollbar and view.styles.scrollbar_size_vertical:
        view.vertical_scrollbar.position = new
    view.refresh(view.size.region)  # marks every line dirty: a full repaint
    return True


def scroll_keeping_styled_lines(view: ScrollView, old: float, new: float, fixed: int) -> None:
    """`scroll_repainting` for a list whose rows keep their styled lines: the lines that only
    moved are kept. `fixed`: content lines at the top that never scroll (a header)."""
    cache = view._styles_cache
    dirty_before = set(cache._dirty_lines)
    if not scroll_repainting(view, old, new):
        return
    # Textual's styles cache is keyed by screen line: without this a scroll styles every
    # visible row again (borders, background, line filters), though they only moved
    first = view.content_offset.y + fixed
    end = view.content_offset.y + view.scrollable_content_region.height
    move_styled_lines(cache, first, end, round(new) - round(old), dirty_before)
