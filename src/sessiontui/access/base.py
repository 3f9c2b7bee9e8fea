"""What every source of access provides, and how a source asks the operator for something.

A source is a plain object with `kind`, `offers()`, `cached()`, `obtain()` and `forget()`; the UI and
the CLI hold sources only through `AccessBook`. Every call may block (AWS, a prompt, a sign-in): the
UI calls them from workers, and the prompts come back to it through the callbacks in `Prompts`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from sessiontui.core.access import Access, Offer

AskCode = Callable[[str], "str | None"]  # device serial -> six digits, or None when cancelled
OnWait = Callable[[int], None]  # seconds left until the next MFA window


@dataclass(frozen=True)
class SignInPrompt:
    """A device sign-in the operator completes elsewhere (a browser)."""

    url: str  # verificationUriComplete when the service gives one
    user_code: str
    expires_at: datetime
    session: str = ""  # the sign-in's name, e.g. an sso-session


@dataclass
class Prompts:
    """How a source reaches the operator while it obtains access. Every field is optional: a
    source that needs one that is missing fails with words that say what to pass instead."""

    typed_code: str | None = None  # --mfa-code: one code, used at most once
    ask_code: AskCode | None = None  # a prompt for an MFA code
    on_wait: OnWait | None = None  # the countdown while waiting for a fresh MFA window
    # a code a configured source produced (code, seconds left in its window, where it came from)
    on_code_filled: Callable[[str, float, str], None] | None = None
    on_sign_in: Callable[[SignInPrompt], None] | None = None  # show a device code
    cancel: threading.Event = field(default_factory=threading.Event)

    def take_typed_code(self) -> str | None:
        """The typed code, once: a second access in the same run must not resend it."""
        code, self.typed_code = self.typed_code, None
        return code


class AccessSource(Protocol):
    kind: str  # "iam-role", "identity-center", "node-access"

    def offers(self) -> list[Offer]:
        """What the operator may ask for; may call AWS (a portal's account list)."""
        ...

    def find(self, name: str) -> Offer | None:
        """The offer the operator calls `name`, or None; as cheaply as the source can."""
        ...

    def cached(self, offer: Offer) -> Access | None:
        """Access already held (a cache with time left), without asking anything; else None."""
        ...

    def obtain(self, offer: Offer, duration: int | None, prompts: Prompts) -> Access:
        """New access for `offer`, asking through `prompts` as needed; raises SessiontuiError."""
        ...

    def cached_seconds(self, offer: Offer) -> float | None:
        """Seconds left on access already held, for the picker; no AWS call, no prompt."""
        ...

    def forget(self) -> int:
        """Drop every cached credential of this source (logout); how many went."""
        ...
