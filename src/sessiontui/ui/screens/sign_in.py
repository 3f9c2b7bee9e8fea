"""The device sign-in (Identity Center): the verification URL, the user code, how long the code
lives, the browser opened on the page when there is one. Esc cancels the sign-in.

The sign-in itself runs in the worker of the screen below (AssumeScreen): this one only shows what
`Prompts.on_sign_in` handed over, and sets the worker's cancel Event when the operator gives up.
"""

from __future__ import annotations

import threading

from textual.app import ComposeResult
from textual.await_complete import AwaitComplete
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static

from sessiontui.access.base import SignInPrompt
from sessiontui.core.clock import Clock
from sessiontui.core.durations import format_remaining


class SignInScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="sign_in.cancel")]

    DEFAULT_CSS = """
    SignInScreen { align: center middle; }
    SignInScreen > Vertical {
        width: 84; max-width: 100%; height: auto; border: thick $primary; background: $surface;
        padding: 0 1;
    }
    SignInScreen #user-code { text-style: bold; color: $accent; margin: 1 0; }
    SignInScreen #url { margin-bottom: 1; }
    SignInScreen .hint, SignInScreen #browser { color: $text-muted; }
    """

    def __init__(
        self,
        prompt: SignInPrompt,
        clock: Clock,
        cancel: threading.Event,
        *,
        open_browser: bool = True,
    ) -> None:
        super().__init__()
        self.prompt = prompt
        self.clock = clock
        self.cancel = cancel
        self.open_browser = open_browser
        self._dismissed = False

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = f"Sign in to Identity Center ({self.prompt.session})"
            yield Static("Open this page and confirm the code, then come back:")
            yield Static(self.prompt.url, id="url")
            yield Static(f"code  {self.prompt.user_code}", id="user-code")
            yield Static("", id="expires")
            yield Static("", id="browser")
            yield Static("Waiting for the approval. Esc cancels.", classes="hint")

    def on_mount(self) -> None:
        self._tick()
        self.set_interval(1.0, self._tick)
        browser = self.query_one("#browser", Static)
        if not self.open_browser:
            browser.update("not opening a browser (--no-browser)")
            return
        from sessiontui.browser import has_display

        if not has_display():
            browser.update("no display here: open the address on any device")
            return
        browser.update("opening your browser…")
        self.run_worker(self._open, thread=True, group="browser", exit_on_error=False)

    def _open(self) -> None:
        from sessiontui.browser import open_browser

        opened = open_browser(self.prompt.url)
        text = (
            "opened in your browser" if opened else "no browser could be opened: open the address"
        )
        self.app.call_from_thread(self.query_one("#browser", Static).update, text)

    def _tick(self) -> None:
        left = (self.prompt.expires_at - self.clock.now()).total_seconds()
        text = (
            f"the code expires in {format_remaining(left)}"
            if left > 0
            else "the code has expired: Esc, then try again"
        )
        self.query_one("#expires", Static).update(text)

    def dismiss(self, result: None = None) -> AwaitComplete:
        self._dismissed = True
        return super().dismiss(result)

    def on_unmount(self) -> None:
        # gone without an answer (the app quit with the dialog open): the sign-in is abandoned,
        # so its worker stops polling and the app's exit does not wait for the code to lapse
        if not self._dismissed:
            self.cancel.set()

    def action_cancel(self) -> None:
        self.cancel.set()
        self.dismiss(None)
