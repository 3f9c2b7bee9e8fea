"""A widget's content rows drawn whole once, in the frame Textual drew round them.

Textual's styles cache builds every changed row of a widget through its border, padding, tint,
opacity and line filters: about 0.15 ms a row in Python, however little the row's content cost.
On the fleet screen a cursor step changes three rows of the list and a dozen of the details pane,
and that building was a third of the step (docs/performance.md, session 13). Most of those rows
show content drawn before (a row the cursor left, a platform or tag another node had), so here a
row is kept whole by its content strip: the widget's `content_lines` returns the same strip for
the same content from its own cache, and that strip keys the row in its frame. A row drawn for the
first time is its content put through the filters between the edges that Textual drew for the
first content row: the same segments the styles cache makes (`tests/test_ui_framed_lines.py`
compares them cell by cell).

Border rows, and styles whose effect is not the same on every row (opacity, tint, hatch, an
outline), are left to Textual.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from textual.cache import LRUCache
from textual.geometry import Region
from textual.strip import Strip
from textual.widget import Widget

if TYPE_CHECKING:
    from typing import Self

    from textual.color import Color
    from textual.filter import LineFilter


@dataclass(frozen=True)
class _Frame:
    """What surrounds the content rows: the edges (border and padding) either side, and the
    filters and background the content goes through, for one size of the widget."""

    width: int
    height: int
    top: int  # the first content row
    end: int  # past the last content row
    content_width: int
    left: Strip
    right: Strip
    filters: tuple[LineFilter, ...]
    background: Color

    def draws_as(self, other: _Frame) -> bool:
        """Whether a row drawn in `other` is the same row here (the height does not matter)."""
        return (self.content_width, self.left, self.right, self.filters, self.background) == (
            other.content_width,
            other.left,
            other.right,
            other.filters,
            other.background,
        )


class FramedLines:
    """`render_lines` for `widget`; `textual_lines` is Textual's own (the widget's super()).

    The widget calls `forget()` where Textual's styles cache is cleared: on a style update and on
    a refresh of the whole widget."""

    def __init__(
        self,
        widget: Widget,
        textual_lines: Callable[[Region], list[Strip]],
        content_lines: Callable[[int, int], list[Strip]],
        rows: int = 512,
    ) -> None:
        """`content_lines(first, stop)`: the widget's content rows first..stop-1, what they
        share (width, scroll, focus) looked up once."""
        self._widget = widget
        self._textual_lines = textual_lines
        self._content_lines = content_lines
        self._frame: _Frame | None = None
        self._drawn_in: _Frame | None = None  # the frame the kept rows were drawn in
        # id of the content strip: (that strip, kept alive so its id is not reused; the row whole)
        self._rows: LRUCache[int, tuple[Strip, Strip]] = LRUCache(rows)

    def forget(self) -> None:
        self._frame = None

    def render_lines(self, crop: Region) -> list[Strip]:
        frame = self._framed()
        if frame is None:
            return self._textual_lines(crop)
        first, stop = crop.y, crop.bottom
        strips: list[Strip] = []
        if first < frame.top:
            strips += self._textual_lines(Region(0, first, frame.width, frame.top - first))
        kept = self._rows
        start = max(first, frame.top)
        contents = self._content_lines(start - frame.top, min(stop, frame.end) - frame.top)
        for y, content in enumerate(contents, start):
            row = kept.get(id(content))
            if row is None or row[0] is not content:
                if content.cell_length != frame.content_width:
                    strips += self._textual_lines(Region(0, y, frame.width, 1))
                    continue  # Textual's cut or padding of it
                drawn = content
                for line_filter in frame.filters:
                    drawn = drawn.apply_filter(line_filter, frame.background)
                row = (content, Strip.join([frame.left, drawn, frame.right]))
                kept[id(content)] = row
            strips.append(row[1])
        if stop > frame.end:
            bottom = max(first, frame.end)
            strips += self._textual_lines(Region(0, bottom, frame.width, stop - bottom))
        if crop.column_span != (0, frame.width):
            strips = [strip.crop(crop.x, crop.right) for strip in strips]
        return strips

    def _framed(self) -> _Frame | None:
        widget = self._widget
        width, height = widget.outer_size  # the crop is in these: border and padding included
        filters = tuple(widget.get_line_filters())
        frame = self._frame
        if frame is not None and (frame.width, frame.height, frame.filters) == (
            width,
            height,
            filters,
        ):
            return frame
        self._frame = None
        styles = widget.styles
        if (
            widget.opacity != 1
            or styles.text_opacity != 1
            or styles.tint.a
            or (styles.has_rule("hatch") and styles.hatch != "none")
            or any(edge for edge, _ in styles.outline)
        ):
            return None
        gutter = styles.gutter
        top, end = gutter.top, height - gutter.bottom
        content_width = width - gutter.width
        if end <= top or content_width <= 0:
            return None
        # the first content row as Textual draws it: its ends are the edges of every row
        drawn = self._textual_lines(Region(0, top, width, 1))[0]
        if drawn.cell_length != width:
            return None
        self._frame = frame = _Frame(
            width,
            height,
            top,
            end,
            content_width,
            drawn.crop(0, gutter.left),
            drawn.crop(width - gutter.right, width),
            filters,
            widget.background_colors[1],
        )
        # a new title or count repaints the whole widget, and the frame is drawn again; the
        # rows drawn in it are kept unless it changed (a focus, a theme, a width)
        if self._drawn_in is None or not frame.draws_as(self._drawn_in):
            self._rows.clear()
            self._drawn_in = frame
        return frame


class FramedWidget(Widget):
    """A widget whose content rows are drawn by FramedLines: put before Textual's widget class
    in the bases. The subclass gives `content_lines`; `render_line` is one of them."""

    FRAMED_ROWS: ClassVar[int] = 512

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # first: Textual styles and refreshes a widget before its __init__ ends
        self._framed = FramedLines(self, super().render_lines, self.content_lines, self.FRAMED_ROWS)
        super().__init__(*args, **kwargs)

    def content_lines(self, first: int, stop: int) -> list[Strip]:
        """Content rows first..stop-1, what they share (width, scroll, focus) looked up once."""
        raise NotImplementedError

    def render_line(self, y: int) -> Strip:
        return self.content_lines(y, y + 1)[0]

    def render_lines(self, crop: Region) -> list[Strip]:
        return self._framed.render_lines(crop)

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._framed.forget()

    def refresh(
        self,
        *regions: Region,
        repaint: bool = True,
        layout: bool = False,
        recompose: bool = False,
    ) -> Self:
        if repaint and not regions:
            self._framed.forget()  # as Textual's styles cache is cleared
        return super().refresh(*regions, repaint=repaint, layout=layout, recompose=recompose)
