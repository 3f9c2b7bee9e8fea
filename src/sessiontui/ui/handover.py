"""Giving the terminal to another program (a shell's plugin) and always taking it back.

Textual 8.2.8's `App.suspend()` resumes application mode only when its block ends normally: it
has no `finally`, so an exception raised inside the block leaves the terminal in the plain
screen with the app's input thread stopped, and the TUI answers no key again. Every hand-over
goes through `hand_over`, which lets nothing escape the suspended block.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from textual.app import App

T = TypeVar("T")


def hand_over(host: App[Any], work: Callable[[], T]) -> T:
    """Run `work` with the terminal suspended, resume on every way out, then return what it
    returned or raise what it raised (SuspendNotSupported before `work` ran)."""
    caught: BaseException | None = None
    returned: list[T] = []
    with host.suspend():
        try:
            returned.append(work())
        except BaseException as exc:  # re-raised below, once the app has its terminal back
            caught = exc
    if caught is not None:
        raise caught
    return returned[0]
