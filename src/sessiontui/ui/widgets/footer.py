"""The fleet screen's footer: the keys that fit the terminal, most used first, with `? Help`
and `q Quit` always at its right end; recomposed only when what it shows changes.

Textual's Footer lays every shown key out in a row and cuts the row at the screen's edge: at 80
columns it stopped at `/ Filter`, with no `? Help` and no `q Quit`, and at 140 it ended
`^p Pale`. Here a key is shown whole or not at all, chosen by FOOTER_PRIORITY (so the keys an
operator needs first win the room) and drawn in the bindings' order; the help lists them all.

Textual's recomposes at every change of the bindings, and one move of the focus between the
filter and the list signals two or three of them: each an unmount and mount of thirteen keys,
then a layout of the whole screen, the longest frames while typing in the filter. The same
bindings looked at again (a refresh of them) recomposed it too. Here each set of keys shown is
mounted once and kept: a move of the focus shows the set it needs again (a change of `display`),
where mounting thirteen keys applied the stylesheet to each, the event loop's longest stall
during a live refresh (sampled: 100-290 ms under load, bench/stalls.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.cells import cell_len
from textual.app import ComposeResult
from textual.containers import HorizontalGroup
from textual.widget import Widget
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

from sessiontui.ui.keys import FOOTER_PINNED, FOOTER_PRIORITY

if TYPE_CHECKING:
    from textual.binding import Binding
    from textual.screen import Screen

# (binding, enabled, tooltip) as Screen.active_bindings gives them
Shown = tuple["Binding", bool, str]


def key_width(key_display: str, description: str) -> int:
    """Cells a FooterKey takes: its key padded by one each side, its description followed by
    one (Textual's FooterKey, not compact)."""
    return cell_len(key_display) + 2 + cell_len(description) + 1


def choose(
    keys: list[tuple[str, int]], room: int, priority: tuple[str, ...] = FOOTER_PRIORITY
) -> set[str]:
    """The ids of (id, width) keys that fit in `room` cells, taken in `priority` order (ids it
    does not name come after, in their own order); a key that does not fit is passed over."""
    rank = {binding_id: i for i, binding_id in enumerate(priority)}
    order = sorted(range(len(keys)), key=lambda i: (rank.get(keys[i][0], len(rank)), i))
    chosen: set[str] = set()
    for i in order:
        binding_id, width = keys[i]
        if width <= room:
            chosen.add(binding_id)
            room -= width
    return chosen


class SteadyFooter(Footer):
    """Shows the keys that fit, `? Help` and `q Quit` pinned right; recomposes only when what
    it shows changes."""

    DEFAULT_CSS = """
    SteadyFooter .footer-set {
        width: 1fr;
        height: 1;
    }
    SteadyFooter .footer-pinned {
        dock: right;
        width: auto;
        height: 1;
    }
    """
    KEPT_SETS = 6  # sets of keys kept mounted: the list's, the filter's, a dialog's or two

    def __init__(self, *, show_command_palette: bool = True) -> None:
        super().__init__(show_command_palette=show_command_palette)
        self._shown: tuple[object, ...] | None = None
        self._sets: dict[tuple[object, ...], Widget] = {}  # by what each shows; newest last

    def _layout(self) -> tuple[list[Shown], list[Shown]]:
        """(the keys on the left, the pinned keys), each in the bindings' order."""
        get_display = self.app.get_key_display
        shown: list[Shown] = []
        actions: set[str] = set()
        for _, binding, enabled, tooltip in self.screen.active_bindings.values():
            if binding.show and binding.action not in actions:  # one key per action
                actions.add(binding.action)
                shown.append((binding, enabled, tooltip))
        pinned = [s for s in shown if s[0].id in FOOTER_PINNED]
        rest = [s for s in shown if s[0].id not in FOOTER_PINNED]
        room = self.size.width - sum(key_width(get_display(b), b.description) for b, _, _ in pinned)
        fits = choose(
            [(b.id or b.action, key_width(get_display(b), b.description)) for b, _, _ in rest],
            room,
        )
        return [s for s in rest if (s[0].id or s[0].action) in fits], pinned

    def _showing(self) -> tuple[object, ...]:
        """What compose would show: each shown binding as drawn, and whether it is enabled."""
        get_display = self.app.get_key_display
        left, pinned = self._layout()
        return tuple(
            (b.key, get_display(b), b.description, b.action, enabled, tooltip, pin)
            for pin, group in ((False, left), (True, pinned))
            for b, enabled, tooltip in group
        )

    def compose(self) -> ComposeResult:
        self._sets = {}
        if not self._bindings_ready:
            return
        self._shown = self._showing()
        self._sets[self._shown] = keys = self._key_set()
        yield keys

    def _key_set(self) -> Widget:
        """The keys that fit now, `? Help` and `q Quit` at the right, in one row."""
        left, pinned = self._layout()
        return HorizontalGroup(
            *(self._key(binding, enabled, tooltip) for binding, enabled, tooltip in left),
            HorizontalGroup(
                *(self._key(binding, enabled, tooltip) for binding, enabled, tooltip in pinned),
                classes="footer-pinned",
            ),
            classes="footer-set",
        )

    def _key(self, binding: Binding, enabled: bool, tooltip: str) -> FooterKey:
        return FooterKey(
            binding.key,
            self.app.get_key_display(binding),
            binding.description,
            binding.action,
            disabled=not enabled,
            tooltip=tooltip,
        ).data_bind(compact=Footer.compact)

    def bindings_changed(self, screen: Screen[object]) -> None:
        self._bindings_ready = True
        if not screen.app.app_focus:
            return
        if self.is_attached and screen is self.screen:
            self.call_after_refresh(self._recompose_if_changed)

    def on_resize(self) -> None:
        # another width fits other keys
        if self.is_attached and self._bindings_ready:
            self.call_after_refresh(self._recompose_if_changed)

    async def _recompose_if_changed(self) -> None:
        showing = self._showing()
        if showing == self._shown:
            return
        before = self._sets.get(self._shown) if self._shown is not None else None
        self._shown = showing
        keys = self._sets.pop(showing, None)
        if keys is None:
            keys = self._key_set()
            await self.mount(keys)
        else:
            keys.display = True
        self._sets[showing] = keys
        if before is not None and before is not keys:
            before.display = False
        while len(self._sets) > self.KEPT_SETS:
            await self._sets.pop(next(iter(self._sets))).remove()
