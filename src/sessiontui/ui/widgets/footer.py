"""Textual's Footer, recomposed only when what it shows changes.

Textual's recomposes at every change of the bindings, and one move of the focus between the
filter and the list signals two or three of them: each an unmount and mount of thirteen keys,
then a layout of the whole screen, the longest frames while typing in the filter. The same
bindings looked at again (a refresh of them) recomposed it too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.widgets import Footer

if TYPE_CHECKING:
    from textual.screen import Screen


class SteadyFooter(Footer):
    """Shows what Footer shows; recomposes only when that changes."""

    def __init__(self, *, show_command_palette: bool = True) -> None:
        super().__init__(show_command_palette=show_command_palette)
        self._shown: tuple[object, ...] | None = None

    def _showing(self) -> tuple[object, ...]:
        """What compose would show: each shown binding as drawn, and whether it is enabled."""
        get_display = self.app.get_key_display
        shown = [
            (b.key, get_display(b), b.description, b.action, b.group, enabled, tooltip)
            for _, b, enabled, tooltip in self.screen.active_bindings.values()
            if b.show
        ]
        return (*shown, self.show_command_palette)

    def bindings_changed(self, screen: Screen[object]) -> None:
        self._bindings_ready = True
        if not screen.app.app_focus:
            return
        if self.is_attached and screen is self.screen:
            self.call_after_refresh(self._recompose_if_changed)

    async def _recompose_if_changed(self) -> None:
        showing = self._showing()
        if showing != self._shown:
            self._shown = showing
            await self.recompose()
