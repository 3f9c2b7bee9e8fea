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
