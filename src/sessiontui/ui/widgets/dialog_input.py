"""Dialog fields and lists that keep a fast operator's keys in order.

Textual routes a key to the widget focused when the key arrives, and acts on Enter a message or
two later. Keys typed in one go ("80", Enter, F; or Enter, Enter in the role picker) were routed
before the first Enter had moved focus or closed the dialog, and landed in the wrong place.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from textual import events
from textual.widgets import Input, OptionList


@runtime_checkable
class Submits(Protocol):
    """A dialog that acts on Enter in one of its fields."""

    def submit(self, field: Input) -> None: ...


class DialogInput(Input):
    """An Input whose Enter acts at once, and which passes on keys that reach it after its
    dialog closed or focus moved on, as if they had arrived a moment later."""

    async def _on_key(self, event: events.Key) -> None:
        screen = self.screen
        if screen is not self.app.screen or screen.focused is not self:
            event.stop()
            event.prevent_default()
            self.app.post_message(events.Key(event.key, event.character))
            return
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
    """An OptionList whose Enter moves focus to the next field in the same step, so a second
    Enter right behind it reaches that field."""

    def __init__(self, *args: object, next_field: str, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.next_field = next_field

    def action_select(self) -> None:
        highlighted = self.highlighted
        super().action_select()
        if highlighted is not None and not self.get_option_at_index(highlighted).disabled:
            self.screen.set_focus(self.screen.query_one(self.next_field))
