"""The node list's columns: what fits a width, and cells padded or cut to exactly their width."""

from __future__ import annotations

from rich.cells import cell_len

from sessiontui.ui.widgets.columns import cell_text, fit, layout
from test_ui_support import make_fleet


def test_wide_terminals_show_every_column_and_narrow_ones_drop_the_least_useful_first() -> None:
    keys = [col.key for col, _ in layout(200)]
    assert keys == ["name", "id", "ping", "platform", "project", "role", "ip", "region", "note"]
    narrow = [col.key for col, _ in layout(80)]
    assert narrow[:2] == ["name", "id"] and "note" not in narrow and "platform" not in narrow
    for width in (40, 80, 120, 160, 200):
        cols = layout(width)
        used = sum(w for _, w in cols) + len(cols) + 1  # one-cell gaps and margin
        assert used <= max(width, 12 + 20 + 3), (width, used)


def test_fit_pads_and_cuts_to_exact_cells_even_with_wide_characters() -> None:
    assert fit("web", 6) == "web   "
    assert fit("production-web-01", 8) == "product…"
    assert fit("", 0) == ""
    for text in ("東京-web-01", "naïve-node", "🚀-launcher"):
        for width in (1, 5, 8, 20):
            assert cell_len(fit(text, width)) == width, (text, width)


def test_cells_read_the_node() -> None:
    node = make_fleet(1)[0]
    assert cell_text(node, "name") == node.display_name
    assert cell_text(node, "project") == node.tags["project"]
    assert cell_text(node, "region") == node.region
