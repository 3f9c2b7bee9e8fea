"""Obtain access: MFA code (typed, or filled from a configured secret), the source's call in a
worker.

The worker runs the source's `obtain`, which decides when a code is needed and waits for an
unused TOTP window; this modal shows each step through the `Prompts` it hands over: the code
window's seconds, the filled code, the countdown while waiting for a fresh window, and AWS's answer.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from sessiontui.access.base import Prompts, SignInPrompt
from sessiontui.core.access import Access, Offer
from sessiontui.core.clock import Clock
from sessiontui.core.durations import format_duration
from sessiontui.core.errors import AuthError, SessiontuiError
from sessiontui.core.mfa_window import seconds_left_in_window, whole_seconds

SIX_DIGITS = re.compile(r"\d{6}")

# (prompts) -> access; blocking, runs in the modal's worker
ObtainFn = Callable[[Prompts], Access]


class _NeedCode(Message):
    def __init__(self, serial: str) -> None:
        super().__init__()
        self.serial = serial


class _CodeFilled(Message):
    def __init__(self, code: str, seconds_left: float, source: str) -> None:
        super().__init__()
        self.code = code
        self.seconds_left = seconds_left
        self.source = source


class _Waiting(Message):
    def __init__(self, seconds: int) -> None:
        super().__init__()
        self.seconds = seconds


class _Retrying(Message):
    """AWS refused the code; the worker waits for the next window and tries once more."""

    def __init__(self, notice: str) -> None:
        super().__init__()
        self.notice = notice


class _Finished(Message):
    def __init__(self, attempt: int, access: Access | None, error: str = "") -> None:
        super().__init__()
        self.attempt = attempt
        self.access = access
        self.error = error


class _SignIn(Message):
    def __init__(self, prompt: SignInPrompt) -> None:
        super().__init__()
        self.prompt = prompt


class AssumeScreen(ModalScreen[Access | None]):
    """Dismissed with the access obtained, or None when cancelled."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="mfa.cancel")]

    DEFAULT_CSS = """
    AssumeScreen { align: center middle; }
    AssumeScreen > Vertical {
        width: 76; height: auto; border: thick $primary; background: $surface; padding: 0 1;
    }
    AssumeScreen #code { width: 20; }
    AssumeScreen #status { margin-top: 1; }
    AssumeScreen .error { color: $text-error; }
    AssumeScreen .hint, AssumeScreen #window { color: $text-muted; }
    """

    def __init__(
        self,
        offer: Offer,
        duration: int | None,
        obtain: ObtainFn,
        clock: Clock,
        *,
        typed_code: str | None = None,
        open_browser: bool = True,
    ) -> None:
        super().__init__()
        self.open_browser = open_browser  # for a device sign-in: --no-browser says no
        self.sign_in_screen: ModalScreen[None] | None = None
        self.offer = offer
        self.duration = duration
        self.obtain = obtain
        self.clock = clock
        self.typed_code = typed_code
        self.attempt = 0
        self.failed = False
        self._answer: str | None = None
        self._answered = threading.Event()
        self._cancelled = threading.Event()
        self.serial = ""
        self.status_text = ""
        self.retrying = False  # the current wait follows a code AWS refused

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            until = f" for {format_duration(self.duration)}" if self.duration else ""
            box.border_title = f"Role {self.offer.name}{until}"
            yield Static("", id="serial")
            yield Static("", id="window")
            yield Input(
                placeholder="six digits", max_length=6, restrict=r"\d*", id="code", disabled=True
            )
            yield Static("", id="status")
            yield Static("Esc cancels.", classes="hint")

    def on_unmount(self) -> None:
        # the app may be closing with the worker still waiting for a code window: let it go
        self._cancelled.set()
        self._answered.set()

    def on_mount(self) -> None:
        self._tick()
        self.set_interval(1.0, self._tick)
        self._start()

    def _tick(self) -> None:
        if self.offer.needs != "mfa":
            return  # no code window to watch (a sign-in, or nothing to type)
        left = whole_seconds(seconds_left_in_window(self.clock))
        for window in self.query("#window").results(Static):
            window.update(f"current code window: {left}s left")

    def _status(self, text: str, error: bool = False) -> None:
        self.status_text = text
        # query, not query_one: a dialog pushed as the app quits is mounted without its children
        for status in self.query("#status").results(Static):
            status.set_class(error, "error")
            status.update(text)

    # ---- the worker -------------------------------------------------------------------------

    def _start(self) -> None:
        self.attempt += 1
        self.failed = False
        self.retrying = False  # the current wait follows a code AWS refused
        self._answered.clear()
        self._status("checking cached credentials and the duration…")
        typed, self.typed_code = self.typed_code, None  # a typed code is good for one try
        self.run_worker(
            lambda: self._assume(self.attempt, typed),
            thread=True,
            group="assume",
            exit_on_error=False,
        )

    def _assume(self, attempt: int, typed: str | None) -> None:
        prompts = Prompts(
            typed_code=typed,
            ask_code=self._ask,
            on_wait=self._on_wait,
            on_retry=self._on_retry,
            on_code_filled=self._report,
            on_sign_in=self._on_sign_in,
            cancel=self._cancelled,
        )
        try:
            access = self.obtain(prompts)
        except SessiontuiError as exc:
            self.post_message(_Finished(attempt, None, " ".join(exc.lines())))
        except Exception as exc:  # the modal must say something rather than hang
            self.post_message(_Finished(attempt, None, f"{type(exc).__name__}: {exc}"))
        else:
            self.post_message(_Finished(attempt, access))

    def _ask(self, serial: str) -> str | None:
        """Runs in the worker: open the code box and wait for the operator."""
        self._answered.clear()
        self.post_message(_NeedCode(serial))
        while not self._answered.wait(0.2):
            if self._cancelled.is_set() or not self.app.is_running:
                return None
        return self._answer

    def _on_sign_in(self, prompt: SignInPrompt) -> None:
        self.post_message(_SignIn(prompt))

    def _report(self, code: str, seconds_left: float, source: str) -> None:
        self.post_message(_CodeFilled(code, seconds_left, source))

    def _on_wait(self, seconds: int) -> None:
        if self._cancelled.is_set():
            raise AuthError("MFA cancelled")
        self.post_message(_Waiting(seconds))

    def _on_retry(self, notice: str) -> None:
        if self._cancelled.is_set():
            raise AuthError("MFA cancelled")
        self.post_message(_Retrying(notice))

    # ---- what the worker says ---------------------------------------------------------------

    @on(_NeedCode)
    def _need_code(self, message: _NeedCode) -> None:
        self.serial = message.serial
        self.query_one("#serial", Static).update(f"MFA device {message.serial}")
        box = self.query_one("#code", Input)
        box.disabled = False
        box.value = ""
        box.focus()
        self._status("type the six digits your MFA device shows, then Enter")

    @on(_SignIn)
    def _sign_in(self, message: _SignIn) -> None:
        from sessiontui.ui.screens.sign_in import SignInScreen

        self._status("waiting for the sign-in in the browser…")
        screen = SignInScreen(
            message.prompt, self.clock, self._cancelled, open_browser=self.open_browser
        )
        self.sign_in_screen = screen

        def closed(_: None) -> None:
            self.sign_in_screen = None
            if self._cancelled.is_set() and self.is_attached:
                # Esc on the sign-in gives up the whole attempt, once that screen is gone
                self.call_after_refresh(self.dismiss, None)

        self.app.push_screen(screen, closed)

    def _close_sign_in(self) -> None:
        screen, self.sign_in_screen = self.sign_in_screen, None
        if screen is not None and screen.is_attached:
            screen.dismiss(None)

    @on(_CodeFilled)
    def _filled(self, message: _CodeFilled) -> None:
        box = self.query_one("#code", Input)
        box.value = message.code
        left = whole_seconds(message.seconds_left)
        self._status(f"code from {message.source} filled in ({left}s left in its window)…")

    @on(_Waiting)
    def _waiting(self, message: _Waiting) -> None:
        if self.retrying:
            self._status(
                "AWS refused the code (another sessiontui or machine may have used this "
                f"window's): trying once more with the next code in {message.seconds}s"
            )
            return
        self._status(
            f"this window's code was already used: next code in {message.seconds}s",
        )

    @on(_Retrying)
    def _retrying(self, message: _Retrying) -> None:
        self.retrying = True
        self.query_one("#code", Input).disabled = True
        self._status(message.notice)

    @on(_Finished)
    def _finished(self, message: _Finished) -> None:
        if message.attempt != self.attempt or self._cancelled.is_set():
            return
        self._close_sign_in()
        if message.access is not None:
            self.dismiss(message.access)
            return
        self.failed = True
        self.query_one("#code", Input).disabled = True
        self._status(f"{message.error}\nEnter tries again; Esc cancels.", error=True)

    @on(Input.Submitted, "#code")
    def _submitted(self, event: Input.Submitted) -> None:
        code = event.value.strip()
        if not SIX_DIGITS.fullmatch(code):
            self._status("an MFA code is six digits", error=True)
            return
        self._answer = code
        event.input.disabled = True
        self._status("asking AWS…")
        self._answered.set()

    def key_enter(self) -> None:
        if self.failed:
            self._start()

    def action_cancel(self) -> None:
        self._cancelled.set()
        self._answer = None
        self._answered.set()
        self.dismiss(None)
