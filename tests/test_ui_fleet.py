"""The fleet screen against a fake list_fleet: filling, filtering, facets, refresh, failures."""

from __future__ import annotations

from typing import Any

import pytest

from sessiontui.core.node import Node
from sessiontui.ui.app import SessiontuiApp
from sessiontui.ui.screens.facets import FacetsScreen
from sessiontui.ui.widgets.header import StatusHeader
from sessiontui.ui.widgets.node_list import NodeList
from test_ui_support import FakeFleet, fake_services, make_fleet, settle


async def test_table_fills_from_listing() -> None:
    fleet = FakeFleet(make_fleet(40))
    app = SessiontuiApp(fake_services(fleet))
    async with app.run_test(size=(160, 40)) as pilot:
        await settle(app, pilot)
        nodes = app.main_screen.query_one(NodeList)
        assert nodes.total_count == 40
        assert nodes.visible_count == 40
        assert nodes.border_title == "Nodes 40/40"
        # sorted by name, and the cursor is on the first row
        names = [n.display_name for n in nodes.visible_nodes()]
        assert names == sorted(names, key=str.casefold)
        assert nodes.selected_node is not None
        assert "40 nodes" in str(nodes.border_subtitle)


async def test_instant_start_from_cache_marks_stale_then_updates_in_place() -> None:
    cached = make_fleet(30)
    fleet = FakeFleet(cached)
    fleet.update(cached[3].id, ping_status="ConnectionLost")
    # a node that is gone from AWS since the cache was written
    fleet.nodes = [n for n in fleet.nodes if n.id != cached[4].id]
    import threading

    fleet.gate = threading.Event()
    app = SessiontuiApp(fake_services(fleet, cached_nodes=cached, cached_age_seconds=300))
    async with app.run_test(size=(160, 40)) as pilot:
        await pilot.pause()
        nodes = app.main_screen.query_one(NodeList)
        header = app.main_screen.query_one(StatusHeader)
        # rows are there before AWS answered, marked stale with their age
        assert nodes.total_count == 30
        assert nodes.stale_count == 30
        assert "stale: cached 5m ago" in header.render().plain
        fleet.gate.set()
        await settle(app, pilot)
        assert nodes.stale_count == 0
        assert nodes.total_count == 29
        assert nodes.node(cached[4].id) is None
        updated = nodes.node(cached[3].id)
        assert updated is not None and updated.ping_status == "ConnectionLost"
        assert "stale" not in header.render().plain


async def test_typing_a_filter_narrows_the_rows() -> None:
    fleet = FakeFleet(make_fleet(40))
    app = SessiontuiApp(fake_services(fleet))
    async with app.run_test(size=(160, 40)) as pilot:
        await settle(app, pilot)
        nodes = app.main_screen.query_one(NodeList)
        await pilot.press("slash")
        assert app.focused is not None and app.focused.id == "filter"
        await pilot.press(*"web")
        await pilot.pause()
        shown = nodes.visible_nodes()
        assert 0 < len(shown) < 40
        assert all("web" in n.name for n in shown)
        assert nodes.border_title == f"Nodes {len(shown)}/40"
        await pilot.press("escape")
        assert app.focused is nodes


async def test_tag_terms_filter_by_tag() -> None:
    fleet = FakeFleet(make_fleet(40))
    app = SessiontuiApp(fake_services(fleet, filter_text="", tags=["project=Production"]))
    async with app.run_test(size=(160, 40)) as pilot:
        await settle(app, pilot)
        nodes = app.main_screen.query_one(NodeList)
        shown = nodes.visible_nodes()
        assert shown and all(n.tags["project"] == "Production" for n in shown)
        assert app.main_screen.filter_input.value == "project=Production"
        app.main_screen.filter_input.value = "project=production role=db"
        await pilot.pause()
        shown = nodes.visible_nodes()
        assert shown
        assert all(n.tags["project"] == "Production" and n.tags["Role"] == "db" for n in shown)


async def test_facets_add_a_term_to_the_filter() -> None:
    fleet = FakeFleet(make_fleet(40))
    app = SessiontuiApp(fake_services(fleet))
    async with app.run_test(size=(160, 40)) as pilot:
        await settle(app, pilot)
        await pilot.press("t")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, FacetsScreen)
        labels = screen.option_labels()
        assert "project=Production (14)" in labels
        # a name per node would crowd the list: one line says how to find them
        assert not any(label.startswith("Name=") for label in labels)
        assert labels[-1] == "Name: 40 names, type to find one"
        # typing narrows the list at once (the search box has the focus), names included
        await pilot.press(*"-web-08")
        assert screen.option_labels() == ["Name=shared-web-08 (1)"]
        await pilot.press(*["backspace"] * 7, *"staging")
        await pilot.press("enter")
        await pilot.pause()
        assert not isinstance(app.screen, FacetsScreen)
        assert app.main_screen.filter_input.value == "project=Staging"
        shown = app.main_screen.node_list.visible_nodes()
        assert len(shown) == 13 and all(n.tags["project"] == "Staging" for n in shown)


async def test_refresh_updates_in_place_and_keeps_selection() -> None:
    fleet = FakeFleet(make_fleet(40))
    app = SessiontuiApp(fake_services(fleet))
    async with app.run_test(size=(160, 40)) as pilot:
        await settle(app, pilot)
        nodes = app.main_screen.node_list
        await pilot.press("down", "down", "down")
        chosen = nodes.selected_node
        assert chosen is not None and nodes.cursor == 3
        # the chosen node is renamed so that it sorts first; a new node appears too
        fleet.update(chosen.id, name="aaa-renamed", ping_status="ConnectionLost")
        fleet.nodes.append(make_fleet(41)[40])
        await pilot.press("R")
        await settle(app, pilot)
        assert fleet.calls == 2
        assert nodes.total_count == 41
        selected = nodes.selected_node
        assert selected is not None and selected.id == chosen.id
        assert selected.name == "aaa-renamed" and selected.ping_status == "ConnectionLost"
        assert nodes.cursor == 0
        details = app.main_screen.details
        assert details.node is not None and details.node.name == "aaa-renamed"


async def test_selection_survives_filter_changes() -> None:
    fleet = FakeFleet(make_fleet(40))
    app = SessiontuiApp(fake_services(fleet))
    async with app.run_test(size=(160, 40)) as pilot:
        await settle(app, pilot)
        nodes = app.main_screen.node_list
        await pilot.press("end")
        chosen = nodes.selected_node
        assert chosen is not None
        app.main_screen.filter_input.value = "no-such-node"
        await pilot.pause()
        assert nodes.visible_count == 0 and nodes.selected_node is None
        app.main_screen.filter_input.value = ""
        await pilot.pause()
        assert nodes.selected_node == chosen


async def test_failed_region_shows_notice_and_keeps_the_rest() -> None:
    fleet = FakeFleet(make_fleet(40))
    fleet.fail["eu-west-1"] = "DescribeInstanceInformation: AccessDeniedException: not allowed"
    app = SessiontuiApp(fake_services(fleet))
    async with app.run_test(size=(160, 40)) as pilot:
        await settle(app, pilot)
        nodes = app.main_screen.node_list
        assert nodes.total_count == 20
        assert {n.region for n in nodes.nodes} == {"us-east-1"}
        errors = [n for n in app._notifications if n.severity == "error"]
        assert any("eu-west-1" in n.title and "AccessDenied" in n.message for n in errors)
        assert "failed: eu-west-1" in str(nodes.border_subtitle)
        # still usable: filtering works
        app.main_screen.filter_input.value = "web"
        await pilot.pause()
        assert nodes.visible_count > 0


async def test_failed_region_keeps_its_cached_rows() -> None:
    cached = make_fleet(40)
    fleet = FakeFleet(cached)
    fleet.fail["eu-west-1"] = "boom"
    app = SessiontuiApp(fake_services(fleet, cached_nodes=cached, cached_age_seconds=60))
    async with app.run_test(size=(160, 40)) as pilot:
        await settle(app, pilot)
        nodes = app.main_screen.node_list
        assert nodes.total_count == 40
        assert nodes.stale_count == 20
        assert all(nodes.is_stale(n.id) == (n.region == "eu-west-1") for n in nodes.nodes)
        assert "stale" in app.main_screen.header.render().plain


async def test_out_of_scope_hidden_then_shown_dimmed_with_reason() -> None:
    fleet = FakeFleet(make_fleet(30))
    app = SessiontuiApp(fake_services(fleet))
    async with app.run_test(size=(200, 40)) as pilot:
        await settle(app, pilot)
        nodes = app.main_screen.node_list
        nodes.set_scope({"project": "Production"})
        await pilot.pause()
        assert nodes.visible_count == 10
        assert "20 out of scope hidden" in str(nodes.border_title)
        await pilot.press("o")
        await pilot.pause()
        assert nodes.visible_count == 30
        outsider = next(n for n in nodes.visible_nodes() if n.tags["project"] != "Production")
        assert "outside role scope" in nodes.scope_reason(outsider.id)
        nodes.select_id(outsider.id)
        await pilot.pause()
        assert "outside role scope" in app.main_screen.details.plain
        lines = [nodes.render_line(y).text for y in range(1, 20)]
        assert any("scope: project=Shared" in line for line in lines)


async def test_on_inventory_gets_complete_listing() -> None:
    fleet = FakeFleet(make_fleet(12))
    saved: list[int] = []
    app = SessiontuiApp(fake_services(fleet, on_inventory=lambda nodes: saved.append(len(nodes))))
    async with app.run_test(size=(160, 40)) as pilot:
        await settle(app, pilot)
        assert saved == [12]


async def test_a_large_cache_paints_its_head_then_loads_the_rest_before_refreshing() -> None:
    import threading

    cached = make_fleet(300)
    fleet = FakeFleet(cached)
    fleet.gate = threading.Event()
    rest_read = threading.Event()

    def rest() -> list[Node]:
        rest_read.set()
        return cached

    app = SessiontuiApp(
        fake_services(fleet, cached_nodes=cached[:40], cached_age_seconds=60, cached_rest=rest)
    )
    async with app.run_test(size=(160, 40)) as pilot:
        nodes = app.main_screen.query_one(NodeList)
        await pilot.pause()
        await pilot.pause(0.2)
        assert rest_read.is_set()
        assert nodes.total_count == 300, "the whole cached fleet is in the list"
        assert nodes.stale_count == 300
        fleet.gate.set()
        await settle(app, pilot)
        assert nodes.stale_count == 0 and nodes.total_count == 300


async def test_scrolling_reuses_drawn_rows_and_paints_what_a_full_repaint_paints() -> None:
    """Scrolling draws the rows that came into view, not every row again (the others are kept
    whole, ui/widgets/framed_lines.py); whatever the moves (steps, pages, the wheel, filters),
    the screen must equal a from-scratch repaint."""
    import sessiontui.ui.widgets.node_list as node_list

    fleet = FakeFleet(make_fleet(400))
    app = SessiontuiApp(fake_services(fleet))
    async with app.run_test(size=(140, 30)) as pilot:
        await settle(app, pilot)
        nodes = app.main_screen.query_one(NodeList)
        nodes.focus()
        await pilot.pause()

        async def matches_full_repaint() -> str:
            await pilot.pause()
            shown = app.export_screenshot()
            nodes._styles_cache.clear()
            nodes._line_cache.clear()
            nodes.refresh()
            await pilot.pause()
            assert app.export_screenshot() == shown
            return shown

        rendered: list[int] = []
        real = node_list.row_strip

        def counting(rows, row, *args, **kw):  # type: ignore[no-untyped-def]
            rendered.append(row)
            return real(rows, row, *args, **kw)

        monkey = pytest.MonkeyPatch()
        monkey.setattr(node_list, "row_strip", counting)
        for _ in range(30):  # past the bottom of the window: these steps scroll
            await pilot.press("down")
        await pilot.pause()
        top = round(nodes.scroll_offset.y)
        assert top > 0
        rendered.clear()
        await pilot.press("down")
        await pilot.pause()
        # one scrolling step: the new bottom row and the two cursor rows, not 27
        assert 0 < len(rendered) <= 3, rendered
        monkey.undo()
        assert round(nodes.scroll_offset.y) == top + 1
        before = await matches_full_repaint()

        for keys in (["pagedown"], ["up"] * 28, ["end"], ["home"], ["pagedown", "pagedown", "up"]):
            for key in keys:
                await pilot.press(key)
            after = await matches_full_repaint()
            assert after != before
            before = after
        for _ in range(2):  # as the wheel does: the view moves, the cursor stays
            nodes.scroll_to(y=nodes.scroll_offset.y + 3, animate=False)
            await pilot.pause()
        await matches_full_repaint()
        nodes.set_query("web")
        for _ in range(25):
            await pilot.press("down")
        await matches_full_repaint()


async def test_a_collector_paused_for_start_up_is_back_after_the_first_frame() -> None:
    """cli._run pauses the cyclic collector for a TUI launch; the fleet screen must turn it back
    on (a process that never collects would grow for hours)."""
    import gc

    fleet = FakeFleet(make_fleet(20))
    app = SessiontuiApp(fake_services(fleet))
    gc.disable()
    try:
        async with app.run_test(size=(120, 30)) as pilot:
            await settle(app, pilot)
            assert gc.isenabled()
    finally:
        gc.enable()


async def test_the_header_names_the_other_accesses_held_or_counts_them_when_narrow() -> None:
    from datetime import timedelta

    app = SessiontuiApp(fake_services(FakeFleet(make_fleet(10))))
    async with app.run_test(size=(200, 30)) as pilot:
        await settle(app, pilot)
        header = app.main_screen.header
        now = app.services.clock.now()
        header.set_role(
            "ProdOps",
            now + timedelta(minutes=50),
            others=(
                ("Staging/DeveloperAccess", now + timedelta(minutes=30)),
                ("oi-0123456789ab", now + timedelta(minutes=10)),
            ),
        )
        await pilot.pause()
        line = header.render().plain
        # each by name with its own time left, not "+2 more"
        assert (
            "role ProdOps 0:50:00  also Staging/DeveloperAccess 0:30:00, oi-0123456789ab 0:10:00"
            in line
        )
        await pilot.resize_terminal(120, 24)
        await pilot.pause()
        line = header.render().plain
        assert line.rstrip().endswith("+2 more, oi-0123456789ab next ends in 0:10:00"), line
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        line = header.render().plain
        assert line.rstrip().endswith("role ProdOps 0:50:00  +2 more 0:10:00"), line


async def test_a_burst_of_rows_is_applied_a_turn_at_a_time_with_keys_between() -> None:
    """A region's EC2 merge brings thousands of rows in one go: they are applied a few hundred a
    turn, a frame apart, so a key that comes meanwhile waits for one turn, not for all of them;
    and a key held down through the whole listing still sees every row arrive."""
    import asyncio
    import threading
    import time
    from itertools import pairwise

    from sessiontui.ui.screens.main import APPLY_AT_MOST, APPLY_NEXT

    fleet = FakeFleet(make_fleet(1200), page=600)
    fleet.gate = threading.Event()
    app = SessiontuiApp(fake_services(fleet))
    async with app.run_test(size=(160, 40)) as pilot:
        await pilot.pause()
        nodes = app.main_screen.query_one(NodeList)
        turns: list[tuple[float, int]] = []
        upsert = nodes.upsert

        def counted(arrived: Any) -> int:
            arrived = list(arrived)
            turns.append((time.monotonic(), len(arrived)))
            return upsert(arrived)

        nodes.upsert = counted  # type: ignore[method-assign]
        nodes.focus()
        fleet.gate.set()
        began = time.monotonic()
        # a key every 20 ms, as auto-repeat sends them, until every row is in
        while nodes.total_count < 1200 and time.monotonic() - began < 10:
            await pilot.press("down", "up")
            await asyncio.sleep(0.02)
        assert nodes.total_count == 1200, "rows arrive while keys keep coming"
        await settle(app, pilot)
        sizes = [n for _, n in turns]
        assert sum(sizes) == 1200 and max(sizes) <= APPLY_AT_MOST
        gaps = [b - a for (a, _), (b, _) in pairwise(turns)]
        # a frame between two turns: the event loop answers keys there
        assert len(sizes) >= 1200 // APPLY_AT_MOST and min(gaps) >= APPLY_NEXT * 0.9


async def test_a_forwards_last_word_after_the_header_is_gone_is_ignored() -> None:
    """A forward's worker can report its end while the app quits, after the fleet screen's
    widgets are removed: the header's refresh is skipped, not an exception that fails the app."""
    app = SessiontuiApp(fake_services(FakeFleet(make_fleet(3))))
    async with app.run_test(size=(160, 40)) as pilot:
        await settle(app, pilot)
        await app.main_screen.query_one(StatusHeader).remove()
        app.main_screen.show_forwards()
        await pilot.pause()


async def test_the_access_book_is_built_off_the_ui_thread_at_start(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The details pane asks the access book what Enter does on a node (enter_note). Built on
    the UI thread at start, its modules' import was a 140-160 ms stall of the event loop (or a
    wait on the prefetch worker's import lock): the worker builds it, and the pane asks again."""
    import threading

    import sessiontui.access as access_package

    built: list[int] = []
    real = access_package.build_book

    def recording(*args: Any, **kw: Any) -> Any:
        built.append(threading.get_ident())
        return real(*args, **kw)

    monkeypatch.setattr(access_package, "build_book", recording)
    app = SessiontuiApp(fake_services(FakeFleet(make_fleet(20))))
    asked: list[bool] = []
    then = app.access.on_book
    assert then is not None  # the details pane, asked again

    def book_built() -> None:
        asked.append(True)
        then()

    app.access.on_book = book_built
    async with app.run_test() as pilot:
        await settle(app, pilot)
        for _ in range(100):
            if app.access.book_settled and asked:
                break
            await pilot.pause(0.05)
        assert app.access.book_settled and asked
        assert app.main_screen.details.node is not None
    assert len(built) == 1 and built[0] != threading.get_ident(), built
