"""A compositor that paints only what a partial update shows.

Textual's compositor (8.2.8, pinned in pyproject.toml) answers a partial update by rendering every
widget whose clip touches the update's crop, each over its whole region, back ones included. On
the fleet screen every widget's clip is the screen, so a cursor step's frame rendered the footer,
the filter, the header, the details pane and the containers under the list again with the list:
measured, about half of the frame's cost, while only the list's lines go to the terminal.

Here a widget is rendered only where its visible part meets the crop, only the crop's rows of
it, and not at all where widgets in front of it cover that part (the first render of a cell
wins, so a covered one is never written out). The frame written out is the same, which
`tests/test_ui_compositor.py` checks against Textual's own, update by update.

Nor does a frame leave cyclic garbage behind. Textual cuts every line it composes at the screen's
cuts with `Strip.divide`, and a line that one cut spans whole is "divided" into itself, which the
strip then caches in itself: a reference cycle that only the cyclic collector frees. Every line
of every frame became such garbage once replaced, about 230 objects a cursor step (a strip, its
seven caches, its segments), and the collector's passes over them were the slow tail of cursor
steps (docs/performance.md). Here such a line goes into the frame as it is, and is freed by its
reference count when it is replaced.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence

from textual._compositor import Compositor
from textual.geometry import Region
from textual.strip import Strip


class CroppedCompositor(Compositor):
    def _render_chops(
        self, crop: Region, is_rendered_line: Callable[[int], bool]
    ) -> Sequence[Mapping[int, Strip]]:
        # Textual 8.2.8's, but for the line that one cut spans whole (see the module's doc)
        cuts = self.cuts
        chops: list[dict[int, Strip | None]] = [dict.fromkeys(cut_set[:-1]) for cut_set in cuts]
        for region, clip, strips in self._get_renders(crop):
            render_region = region.intersection(clip)
            render_x = render_region.x
            first_cut, last_cut = render_region.column_span
            for y, strip in zip(render_region.line_range, strips, strict=False):
                if not is_rendered_line(y):
                    continue
                chops_line = chops[y]
                final_cuts = [cut for cut in cuts[y] if last_cut >= cut >= first_cut]
                relative = [cut - render_x for cut in final_cuts[1:]]
                length = strip.cell_length
                whole = [cut for cut in relative if cut <= length] == [length]
                # front to back: the first strip for a cut wins
                for cut, piece in zip(
                    final_cuts, (strip,) if whole else strip.divide(relative), strict=False
                ):
                    if chops_line.get(cut) is None:
                        chops_line[cut] = piece
        return chops  # type: ignore[return-value]

    def _get_renders(
        self, crop: Region | None = None
    ) -> Iterable[tuple[Region, Region, list[Strip]]]:
        if crop is None:
            yield from super()._get_renders(crop)
            return
        left, top, right, bottom = crop.x, crop.y, crop.right, crop.bottom
        front: list[Region] = []  # what the widgets yielded so far paint: they win those cells
        for widget, (region, clip) in self.visible_widgets.items():
            x, y, width, height = region.intersection(clip)
            first, end = max(y, top), min(y + height, bottom)
            if not width or end <= first or x >= right or x + width <= left:
                continue
            # the clip narrowed to the crop's rows: the caller zips a render with the rows of
            # region ∩ clip, so those are the rows rendered
            band = Region(x, first, width, end - first)
            # only the crop's columns are written out: covered there is covered
            if _covered(band.intersection(crop), front):
                continue
            front.append(band)
            yield (
                region,
                band,
                widget.render_lines(Region(x - region.x, first - region.y, width, end - first)),
            )


def _covered(band: Region, front: list[Region]) -> bool:
    """Whether the regions in `front` cover every cell of `band`."""
    over = [r for r in front if r.overlaps(band)]
    if not over:
        return False
    rows = {band.y, band.bottom}
    rows.update(r.y for r in over if band.y < r.y < band.bottom)
    rows.update(r.bottom for r in over if band.y < r.bottom < band.bottom)
    for y in sorted(rows)[:-1]:  # each run of rows that the same regions span
        reach = band.x
        for start, stop in sorted((r.x, r.right) for r in over if r.y <= y < r.bottom):
            if start > reach:
                return False
            reach = max(reach, stop)
        if reach < band.right:
            return False
    return True
