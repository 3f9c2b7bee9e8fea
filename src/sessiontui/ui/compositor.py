"""A compositor that paints only what a partial update shows.

Textual's compositor (8.2.8, pinned in pyproject.toml) answers a partial update by rendering every
widget whose clip touches the update's crop, each over its whole region. On the fleet screen
every widget's clip is the screen, so a cursor step's frame rendered the footer, the filter, the
header and the details pane again with the list: measured, a third of the frame's cost, while
only the list's lines go to the terminal.

Here a widget is rendered only where its visible part meets the crop, and only the crop's rows
of it. Nothing else changes: the same widgets in the same order, front to back, over the same
rows, so the frame written out is the same, which `tests/test_ui_compositor.py` checks against
Textual's own, update by update.
"""

from __future__ import annotations

from collections.abc import Iterable

from textual._compositor import Compositor
from textual.geometry import Region
from textual.strip import Strip


class CroppedCompositor(Compositor):
    def _get_renders(
        self, crop: Region | None = None
    ) -> Iterable[tuple[Region, Region, list[Strip]]]:
        if crop is None:
            yield from super()._get_renders(crop)
            return
        left, top, right, bottom = crop.x, crop.y, crop.right, crop.bottom
        for widget, (region, clip) in self.visible_widgets.items():
            x, y, width, height = region.intersection(clip)
            first, end = max(y, top), min(y + height, bottom)
            if not width or end <= first or x >= right or x + width <= left:
                continue
            # the clip narrowed to the crop's rows: the caller zips a render with the rows of
            # region ∩ clip, so those are the rows rendered
            band = Region(x, first, width, end - first)
            yield (
                region,
                band,
                widget.render_lines(Region(x - region.x, first - region.y, width, end - first)),
            )
