"""Signal handling around a running plugin.

Two different needs: while the plugin owns the terminal, keyboard signals belong to it (we ignore
them); and in the headless path, SIGTERM/SIGHUP to our process must still end the session
server-side, so they become an exception that unwinds through the supervisor's `finally`.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable, Iterator
from types import FrameType
from typing import Any

KEYBOARD_SIGNALS = (signal.SIGINT, signal.SIGQUIT, signal.SIGTSTP)
SHUTDOWN_SIGNALS = (signal.SIGTERM, signal.SIGHUP)


class ShutdownRequested(BaseException):
    """SIGTERM or SIGHUP reached our process. BaseException so `except Exception` cannot eat it."""

    def __init__(self, signum: int) -> None:
        super().__init__(f"received {signal.Signals(signum).name}")
        self.signum = signum

    @property
    def name(self) -> str:
        return signal.Signals(self.signum).name


def _in_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


@contextlib.contextmanager
def keyboard_signals_ignored() -> Iterator[None]:
    """Ignore SIGINT, SIGQUIT and SIGTSTP in our process, restoring the old handlers after.

    Enter this after spawning the plugin: an ignored disposition is inherited across exec.
    """
    if not _in_main_thread():
        yield
        return
    saved: dict[signal.Signals, Any] = {}
    try:
        for sig in KEYBOARD_SIGNALS:
            saved[sig] = signal.signal(sig, signal.SIG_IGN)
        yield
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler)


@contextlib.contextmanager
def shutdown_signals(
    on_signal: Callable[[int], None] | None = None,
) -> Iterator[None]:
    """Turn SIGTERM/SIGHUP into ShutdownRequested in the main thread, for the headless path.

    `on_signal(signum)` runs first (e.g. ActiveSessions.terminate_all for sessions owned by other
    threads). A no-op outside the main thread, where Python cannot install handlers.
    """
    if not _in_main_thread():
        yield
        return

    fired = False

    def handler(signum: int, _frame: FrameType | None) -> None:
        nonlocal fired
        if fired:
            return  # a second SIGTERM must not abort the TerminateSession already under way
        fired = True
        if on_signal is not None:
            on_signal(signum)
        raise ShutdownRequested(signum)

    saved: dict[signal.Signals, Any] = {}
    try:
        for sig in SHUTDOWN_SIGNALS:
            saved[sig] = signal.signal(sig, handler)
        yield
    finally:
        for sig, old in saved.items():
            signal.signal(sig, old)
