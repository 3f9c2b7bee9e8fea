"""The footer follows what the keys do, recomposing only when what it shows changes."""

from __future__ import annotations

from sessiontui.ui.app import SessiontuiApp
from sessiontui.ui.widgets.footer import SteadyFooter
from test_ui_support import FakeFleet, fake_services, make_fleet, settle


async def test_the_footer_recomposes_only_when_what_it_shows_changes() -> None:
    app = SessiontuiApp(fake_services(FakeFleet(make_fleet(40))))
    async with app.run_test(size=(160, 40)) as pilot:
        await settle(app, pilot)
        footer = app.main_screen.query_one(SteadyFooter)
        own = footer.recompose
        recomposed = 0

        async def counted() -> None:
            nonlocal recomposed
            recomposed += 1
            await own()

        footer.recompose = counted  # type: ignore[method-assign]

        def shown() -> list[str]:
            return [key.key for key in footer.query("FooterKey")]  # type: ignore[attr-defined]

        on_the_list = shown()
        assert "q" in on_the_list and "enter" in on_the_list
        await pilot.press("slash")  # the filter takes the letters: fewer keys to show
        await pilot.pause()
        await pilot.pause()
        assert "q" not in shown() and recomposed == 1
        await pilot.press("escape")
        await pilot.pause()
        await pilot.pause()
        assert shown() == on_the_list and recomposed == 2
        app.refresh_bindings()  # the bindings were looked at again, nothing shown changed
        await pilot.pause()
        await pilot.pause()
        assert recomposed == 2


def footer_row(app: SessiontuiApp) -> str:
    return app.screen._compositor.render_strips()[-1].text


async def test_at_80_columns_the_footer_keeps_help_and_quit_and_the_list_its_columns() -> None:
    from ui_scenes import load_fleet

    app = SessiontuiApp(fake_services(FakeFleet(load_fleet())))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        row = footer_row(app)
        # whole keys only, the way to the others (? Help) and out (q Quit) at the right end
        assert row.rstrip().endswith("? Help  q Quit"), row
        assert "⏎ Shell" in row and "r Role" in row and "/ Filter" in row
        screen = app.main_screen
        # the details went under the list, which keeps NAME, ID and PING at 80 columns
        assert screen.has_class("-narrow")
        assert screen.details.region.y > screen.node_list.region.y
        assert screen.details.region.width == 80
        assert screen.node_list.render_line(0).text.split()[:3] == ["NAME", "ID", "PING"]
        await pilot.resize_terminal(140, 40)
        await pilot.pause()
        await pilot.pause()
        assert screen.has_class("-wide")
        assert screen.details.region.x > screen.node_list.region.x  # beside the list again
        row = footer_row(app)
        assert row.rstrip().endswith("? Help  q Quit") and "Pale" not in row, row
        assert "w Shell in a window" in row and "S Sessions" in row and "A Requests" in row
        await pilot.resize_terminal(200, 60)
        await pilot.pause()
        await pilot.pause()
        assert "space Mark" in footer_row(app)
