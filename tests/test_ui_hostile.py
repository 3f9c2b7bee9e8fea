"""Names and tags full of markup, actions, broken tags and terminal controls, shown by the TUI
(App.run_test, Pilot): they render literally, `*` and `t` do not crash, clicks run nothing, and
no control reaches the terminal (issue 29, findings 4 and 5)."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.app import App, ComposeResult
from textual.widgets import DataTable, Static
from textual.widgets._toast import Toast

from sessiontui.core.node import Node
from sessiontui.ui.app import SessiontuiApp
from sessiontui.ui.screens.access_request import AccessRequestScreen
from sessiontui.ui.screens.confirm import ConfirmScreen
from sessiontui.ui.screens.facets import FacetsScreen
from sessiontui.ui.screens.reason import ReasonScreen
from sessiontui.ui.widgets.details import NodeDetails
from sessiontui.ui.widgets.node_list import NodeList
from sessiontui.ui.widgets.row_table import refill
from test_ui_support import FakeFleet, fake_services, make_fleet, settle

CLICK = "[@click=app.screenshot('pwn.svg','.')]CLICKME[/]"
LINK = "[link=file:///etc/passwd]x"
OOPS = "[/oops]"
CLIPBOARD = "\x1b]52;c;aWQK\x07"
CLEAR = "\x1b[2J\x1b[H"
CONTROLS = "".join(chr(c) for c in (*range(0x20), 0x7F, *range(0x80, 0xA0))) + "\u202e\u2028"


def _hostile_fleet() -> list[Node]:
    ordinary = make_fleet(6)
    return [
        Node(
            id="i-0c11c4c11c4c11c40",
            region="us-east-1",
            name=CLICK,
            ping_status="Online",
            platform="Linux",
            tags={"Name": CLICK, "project": OOPS, "Role": CLIPBOARD, "all": CONTROLS},
        ),
        Node(
            id="i-011f411f411f411f4",
            region="us-east-1",
            name=LINK,
            ping_status="Online",
            platform="Linux",
            tags={"Name": LINK, "project": CLEAR, "x": "a\nspoofed-row"},
        ),
        *ordinary,
    ]


def _raw(text: str) -> set[str]:
    return {ch for ch in text if ch in CONTROLS}


@pytest.fixture
def screenshots(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[tuple[object, ...]]:
    """Every screenshot the app is asked to take, and a cwd where its file would land."""
    taken: list[tuple[object, ...]] = []
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(App, "action_screenshot", lambda self, *a: taken.append(a))
    return taken


async def test_the_list_and_details_show_markup_and_controls_literally(
    screenshots: list[tuple[object, ...]], tmp_path: Path
) -> None:
    app = SessiontuiApp(fake_services(FakeFleet(_hostile_fleet())))
    async with app.run_test(size=(200, 50)) as pilot:
        await settle(app, pilot)
        nodes = app.main_screen.query_one(NodeList)
        rows = [nodes.render_line(y).text for y in range(nodes.size.height)]
        assert len([r for r in rows if "i-0c11c4c11c4c11c40" in r]) == 1
        # cut to the column (an ellipsis in the middle), and literal
        assert any(r.lstrip().startswith("[@click=app.scr") for r in rows)
        assert any(r.lstrip().startswith("[link=file:///e") for r in rows)
        assert any("\\x1b[2J\\x1b" in r for r in rows)  # the project column
        assert not any(_raw(r) for r in rows)
        nodes.select_id("i-0c11c4c11c4c11c40")
        await pilot.pause()
        details = app.main_screen.query_one(NodeDetails)
        assert CLICK in details.plain and "Role = \\x1b]52;c;aWQK\\x07" in details.plain
        lines = details.plain.splitlines()  # its own lines: one a field, one a tag
        assert "  project = [/oops]" in lines and not any(_raw(line) for line in lines)
        (every,) = [line for line in lines if line.startswith("  all = ")]  # one line
        assert every.startswith("  all = \\x00\\x01\\x02") and every.endswith("\\u202e\\u2028")
        painted = [details.render_line(y).text for y in range(details.size.height)]
        assert not any(_raw(r) for r in painted)
        await pilot.click(NodeDetails)
        await pilot.click(NodeList, offset=(5, 2))
        await pilot.pause()
        assert screenshots == [] and list(tmp_path.glob("*.svg")) == []


async def test_star_toasts_render_literally_and_clicking_them_runs_nothing(
    screenshots: list[tuple[object, ...]], tmp_path: Path
) -> None:
    app = SessiontuiApp(fake_services(FakeFleet(_hostile_fleet())))
    async with app.run_test(size=(200, 50), notifications=True) as pilot:
        await settle(app, pilot)
        nodes = app.main_screen.query_one(NodeList)
        for node_id, name in (("i-0c11c4c11c4c11c40", CLICK), ("i-011f411f411f411f4", LINK)):
            nodes.select_id(node_id)
            await pilot.press("asterisk")  # its toast names the node: a crash here before
            await app.workers.wait_for_complete()
            await pilot.pause()
            toasts = list(app.screen.query(Toast))
            shown = [str(t.render()) for t in toasts]
            assert any(name in text for text in shown), shown
        for toast in toasts:
            await pilot.click(toast)
        await pilot.pause()
        assert screenshots == [] and list(tmp_path.glob("*.svg")) == []
        # a toast of several lines keeps its lines, and any other control shows as an escape
        app.notify(f"first line\nsecond {CLEAR}{OOPS}", title=f"t{CLIPBOARD}")
        await pilot.pause()
        last = str(list(app.screen.query(Toast))[-1].render())
        assert "first line\nsecond \\x1b[2J\\x1b[H[/oops]" in last and "t\\x1b]52" in last


async def test_facets_of_broken_tags_open_and_show_them_literally() -> None:
    app = SessiontuiApp(fake_services(FakeFleet(_hostile_fleet())))
    async with app.run_test(size=(200, 50)) as pilot:
        await settle(app, pilot)
        await pilot.press("t")  # a tag value [/oops] crashed the facets before
        await pilot.pause()
        facets = app.screen
        assert isinstance(facets, FacetsScreen)
        labels = facets.option_labels()
        assert "project=[/oops] (1)" in labels
        assert any(label.startswith("project=\\x1b[2J") for label in labels)
        assert not any(_raw(label) for label in labels)


class _Dialogs(App[None]):
    def compose(self) -> ComposeResult:
        yield DataTable(id="table")


async def test_dialogs_and_panel_tables_show_node_text_literally() -> None:
    app = _Dialogs()
    async with app.run_test(size=(160, 40)) as pilot:
        table: DataTable[object] = app.query_one(DataTable)
        table.add_columns("TARGET", "REASON")
        refill(table, [("k", [CLICK, f"{OOPS}{CLEAR}"])])  # type: ignore[arg-type]
        await pilot.pause()
        assert [str(c) for c in table.get_row_at(0)] == [CLICK, "[/oops]\\x1b[2J\\x1b[H"]
        for screen, wanted in (
            (ConfirmScreen(f"end the shell on {CLICK}?"), f"end the shell on {CLICK}?"),
            (ReasonScreen("ProdOps", LINK), f"asks why you open {LINK} "),
            (AccessRequestScreen("", why=f"{OOPS} refused{CLEAR}"), "[/oops] refused\\x1b[2J"),
        ):
            await app.push_screen(screen)
            await pilot.pause()
            texts = [str(s.render()) for s in screen.query(Static)]
            assert any(wanted in t for t in texts), texts
            assert not any(_raw(t) for t in texts)
            app.pop_screen()
            await pilot.pause()
