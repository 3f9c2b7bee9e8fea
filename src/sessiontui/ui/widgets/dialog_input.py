"""Dialog fields and lists that keep a fast operator's keys in order.

Textual routes a key to the widget focused when the key arrives, and acts on Enter a message or
two later. Keys typed in one go ("80", Enter, F; or Enter, Enter in the role picker) were routed
before the first Enter had moved focus or closed the dialog, and landed in the wrong place.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Protocol, TypeVar, runtime_checkable

from textual import events
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import Input, OptionList

_T = TypeVar("_T")


@runtime_checkable
class Submits(Protocol):
    """A dialog that acts on Enter in one of its fields."""

    def submit(self, field: Input) -> None: ...


def passed_on(widget: Widget, event: events.Key) -> bool:
    """Re-route a key that reached `widget` after its dialog closed or focus moved on, as if it
    had arrived a moment later (the app then routes it to what has focus now)."""
    screen = widget.screen
    if screen is widget.app.screen and screen.focused is widget:
        return False
    event.stop()
    event.prevent_default()
    widget.app.post_message(events.Key(event.key, event.character))
    return True


def moved_focus(widget: Widget, event: events.Key) -> bool:
    """Tab and Shift+Tab move the focus here and now. Left to the screen's binding, they moved
    it only once the key had bubbled up to the app, behind the keys typed after them: of `80`,
    Tab, Tab, `18080` typed in one go, the digits stayed in the first field."""
    if event.key not in ("tab", "shift+tab"):
        return False
    event.stop()
    event.prevent_default()
    screen = widget.screen
    if event.key == "tab":
        screen.focus_next()
    else:
        screen.focus_previous()
    return True


class EarlyKeysDialog(ModalScreen[_T]):
    """A dialog that keeps the keys typed right behind the key that opened it.

    Those keys are routed while nothing on the new screen has focus yet (its field is
    focused as it comes up, AUTO_FOCUS), so they went to the screen itself, which dropped
    them: of `80` typed at once after `f`, the 8 was lost. The app holds such a key until the
    field has focus (`focus_ready`), so the keys reach it in the order typed."""

    def __init__(self) -> None:
        super().__init__()
        self.focus_ready = asyncio.Event()

    def on_screen_resume(self) -> None:
        # after Screen's own handler, which focused AUTO_FOCUS's field
        self.focus_ready.set()


async def hold_early_key(screen: object) -> None:
    """Until `screen`'s first field has focus, when it is a dialog still coming up (at most a
    second: a key is never held for good)."""
    if isinstance(screen, EarlyKeysDialog) and screen.focused is None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(screen.focus_ready.wait(), 1.0)


class DialogInput(Input):
    """An Input whose Enter acts at once, and which passes on keys that reach it after its
    dialog closed or focus moved on, as if they had arrived a moment later."""

    async def _on_key(self, event: events.Key) -> None:
        if passed_on(self, event) or moved_focus(self, event):
            return
        screen = self.screen
        if event.key == "enter" and isinstance(screen, Submits):
            event.stop()
            event.prevent_default()
            screen.submit(self)
            return
        await super()._on_key(event)

    async def action_submit(self) -> None:
        # Enter that reached this field through a binding (it was routed before focus moved
        # here): the dialog acts on it the same way, so dialogs need no Submitted handler.
        screen = self.screen
        if isinstance(screen, Submits):
            screen.submit(self)
        else:
            await super().action_submit()


class StepList(OptionList):
    """An OptionList whose Enter moves focus to the next field in the same step, so the keys
    typed right behind it reach that field.

    Its keys act when they reach the list, not when they have bubbled up to the app, where
    Textual runs a widget's bindings: by then the keys queued behind Enter (`4` of `45m`) had
    already been handled by the list. `typed` gets the keys no binding takes (the role
    picker's search), in the same order."""

    def __init__(
        self,
        *args: object,
        next_field: str,
        typed: Callable[[events.Key], bool] | None = None,
        **kwargs: object,
    ) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.next_field = next_field
        self.typed = typed

    async def _on_key(self, event: events.Key) -> None:
        if passed_on(self, event) or moved_focus(self, event):
            return
        bindings = self._bindings.key_to_bindings.get(event.key, ())
        if bindings:
            event.stop()
            event.prevent_default()
            await self.run_action(bindings[0].action)
        elif self.typed is not None and self.typed(event):
            event.stop()
            event.prevent_default()
        else:
            await super()._on_key(event)

    def action_select(self) -> None:
        highlighted = self.highlighted
        super().action_select()
        field = self.screen.query_one(self.next_field)
        # a field that is off (a fixed duration): the dialog acts on the choice alone
        chosen = highlighted is not None and not self.get_option_at_index(highlighted).disabled
        if chosen and not field.disabled:
            self.screen.set_focus(field)

    # the cursor stops at the ends: a list of a few lines that wraps took an Up on the first
    # line to the last, away from the access held
    def action_cursor_up(self) -> None:
        if self.highlighted is None or self.highlighted > 0:
            super().action_cursor_up()

    def action_cursor_down(self) -> None:
        if self.highlighted is None or self.highlighted < self.option_count - 1:
            super().action_cursor_down()
