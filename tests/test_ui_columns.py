"""The node list's columns: what fits a width, and cells padded or cut to exactly their width."""

from __future__ import annotations

from rich.cells import cell_len

from sessiontui.ui.widgets.columns import cell_text, content_widths, fit, fit_keeping_end, layout
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


def test_the_name_gets_its_width_before_less_useful_columns() -> None:
    nodes = make_fleet(40)
    longest = content_widths(nodes)
    cols = dict((col.key, w) for col, w in layout(94, longest))
    # every name fits whole; the id and ping keep their full widths
    assert cols["name"] >= longest["name"] and cols["id"] == 20 and cols["ping"] >= 7
    # a name longer than the name column's maximum still leaves room for the others
    longest["name"] = 120
    wide = dict((col.key, w) for col, w in layout(94, longest))
    assert 12 <= wide["name"] <= 30 and {"id", "ping", "ip"} <= set(wide)
    # narrow: the name keeps at least its minimum, whatever else goes
    assert dict((c.key, w) for c, w in layout(40, longest))["name"] >= 12


def test_a_cut_name_keeps_its_distinguishing_end() -> None:
    assert fit_keeping_end("onprem-router-01", 12) == "onprem-r…-01"
    assert fit_keeping_end("onprem-router-02", 12) == "onprem-r…-02"
    assert fit_keeping_end("web", 12) == "web" + " " * 9
    assert fit_keeping_end("a" * 40, 12) == "a" * 7 + "…" + "a" * 4
    for text in ("東京-web-server-01", "naïve-node-with-a-long-name", "🚀-launcher-01"):
        for width in (1, 5, 8, 12, 20):
            assert cell_len(fit_keeping_end(text, width)) == width, (text, width)
