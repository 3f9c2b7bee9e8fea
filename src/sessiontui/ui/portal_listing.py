"""The TUI's side of Identity Center that the access shape does not cover: listing the portal's
accounts and permission sets (signing in first when needed) before the role picker can show them.

The work runs in a worker; a device sign-in is shown by `SignInScreen`, whose Esc cancels it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sessiontui.access.base import Prompts, SignInPrompt
from sessiontui.core.errors import SessiontuiError

if TYPE_CHECKING:
    from textual.app import App

    from sessiontui.access.identity_center import IdentityCenterSource
    from sessiontui.core.clock import Clock


def list_portal(
    host: App[Any],
    source: IdentityCenterSource,
    clock: Clock,
    then: Callable[[], None],
    *,
    open_browser: bool = True,
) -> None:
    """Sign in when needed, list the accounts (cached for the picker), then call `then`."""
    from sessiontui.ui.screens.sign_in import SignInScreen

    cancel = threading.Event()
    shown: list[SignInScreen] = []

    def show(prompt: SignInPrompt) -> None:
        screen = SignInScreen(prompt, clock, cancel, open_browser=open_browser)
        shown.append(screen)
        host.push_screen(screen)

    def close_sign_in() -> None:
        while shown:
            screen = shown.pop()
            if screen.is_attached and not cancel.is_set():
                screen.dismiss(None)

    def done(error: str | None) -> None:
        close_sign_in()
        if cancel.is_set():
            host.notify("sign-in cancelled", title="Identity Center")
        elif error:
            host.notify(error, title="Identity Center", severity="error", timeout=12)
        else:
            count = len(source.offers())
            host.notify(f"{count} permission set(s) listed", title="Identity Center")
            then()

    def work() -> None:
        prompts = Prompts(
            on_sign_in=lambda prompt: host.call_from_thread(show, prompt), cancel=cancel
        )
        error: str | None = None
        try:
            source.accounts(prompts, fresh=True)
        except SessiontuiError as exc:
            error = " ".join(exc.lines())
        except Exception as exc:  # the operator must hear of it rather than wait for nothing
            error = f"{type(exc).__name__}: {exc}"
        host.call_from_thread(done, error)

    host.notify("asking Identity Center for your accounts…", title="Identity Center")
    host.run_worker(work, thread=True, group="identity-center", exit_on_error=False)
