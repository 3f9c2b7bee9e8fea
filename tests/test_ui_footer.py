"""The footer follows what the keys do, recomposing only when what it shows changes."""

from __future__ import annotations

from textual.widget import Widget

from sessiontui.ui.app import SessiontuiApp
from sessiontui.ui.widgets.footer import SteadyFooter
from test_ui_support import FakeFleet, fake_services, make_fleet, settle


async def test_the_footer_builds_a_set_of_keys_once_and_shows_it_again() -> None:
    """Moving the focus between the list and the filter shows another set of keys: each is
    mounted once (a recompose mounted thirteen keys each time, the longest stall of a live
    refresh) and shown again when the focus comes back."""
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

        def sets() -> list[Widget]:
            return list(footer.query(".footer-set"))

        def shown() -> list[str]:
            (showing,) = [keys for keys in sets() if keys.display]
            return [key.key for key in showing.query("FooterKey")]  # type: ignore[attr-defined]

        on_the_list = shown()
        assert "q" in on_the_list and "enter" in on_the_list
        first = sets()
        await pilot.press("slash")  # the filter takes the letters: fewer keys to show
        await pilot.pause()
        await pilot.pause()
        assert "q" not in shown() and len(sets()) == 2
        await pilot.press("escape")
        await pilot.pause()
        await pilot.pause()
        assert shown() == on_the_list and len(sets()) == 2
        assert [keys for keys in sets() if keys.display] == first  # the same widgets again
        app.refresh_bindings()  # the bindings were looked at again, nothing shown changed
        await pilot.pause()
        await pilot.pause()
        assert len(sets()) == 2 and shown() == on_the_list and recomposed == 0
        # the row on screen is the shown set's: Help and Quit at the right end
        assert app.screen._compositor.render_strips()[-1].text.rstrip().endswith("q Quit")
