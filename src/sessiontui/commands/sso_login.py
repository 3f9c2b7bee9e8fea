"""`sessiontui --sso-login [SESSION]`: the Identity Center device sign-in, headless.

The URL and the user code go to stderr (through `say`, which the CLI owns), the browser opens on
the page unless --no-browser or there is no display, and the token lands in the AWS CLI's cache.
Exit 0 when signed in, 3 when the code is denied or expires, 2 when no sso-session is configured.
"""

from __future__ import annotations

import argparse
import contextlib
import os
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import TYPE_CHECKING

from sessiontui.core.clock import SYSTEM_CLOCK, Clock
from sessiontui.core.durations import format_remaining
from sessiontui.core.sso import SsoSession, SsoToken

if TYPE_CHECKING:
    from sessiontui.access.base import SignInPrompt
    from sessiontui.aws.clients import ClientFactory
    from sessiontui.config import Config

Say = Callable[[str], None]


def sso_login(args: argparse.Namespace, say: Say, clock: Clock = SYSTEM_CLOCK) -> int:
    with _environment(args) as (config, factory):
        from sessiontui.aws.sso_device import DeviceSignIn
        from sessiontui.aws_profiles import find_sso_session
        from sessiontui.stores.audit import AuditLog

        profile = args.profile or config.profile or os.environ.get("AWS_PROFILE") or None
        session = find_sso_session(args.sso_login or None, config.identity_center.session, profile)
        say(f"Identity Center sign-in: {session.label}, {session.start_url}")

        show = _shower(args, say, clock)
        token = DeviceSignIn(session, factory, clock=clock).run(
            lambda code: show(
                code.verification_uri,
                code.verification_uri_complete,
                code.user_code,
                code.expires_at,
            )
        )
        AuditLog(clock=clock).write(
            "sso_signed_in",
            sso_session=session.name,
            start_url=session.start_url,
            expires_at=token.expires_at,
        )
        say(_signed_in(session, token, clock.now()))
        return 0


def _shower(
    args: argparse.Namespace, say: Say, clock: Clock
) -> Callable[[str, str, str, datetime], None]:
    """What the operator reads on stderr for a device code, and the browser opened on it."""

    def show(uri: str, complete: str, user_code: str, expires_at: datetime) -> None:
        from sessiontui.browser import has_display, open_browser

        left = format_remaining((expires_at - clock.now()).total_seconds())
        say(f"open {uri} and enter the code {user_code}")
        say(f"  (or open {complete}); the code expires in {left}")
        if args.no_browser:
            say("  not opening a browser (--no-browser)")
        elif not has_display():
            say("  no display here: open the address on any device")
        elif open_browser(complete):
            say("  opened in your browser")
        say("waiting for approval (Ctrl-C cancels)")

    return show


def sign_in_prompt(
    args: argparse.Namespace, say: Say, clock: Clock
) -> Callable[[SignInPrompt], None]:
    """`Prompts.on_sign_in` for --list/--connect at a terminal: the sign-in on stderr."""

    def on_sign_in(prompt: SignInPrompt) -> None:
        say(f"Identity Center sign-in needed: {prompt.session}")
        page = prompt.url.split("?", 1)[0]  # the page without the code, to type it there
        _shower(args, say, clock)(page, prompt.url, prompt.user_code, prompt.expires_at)

    return on_sign_in


def _signed_in(session: SsoSession, token: SsoToken, now: datetime) -> str:
    left = format_remaining(token.seconds_left(now))
    renew = "renewed by its refresh token" if token.can_refresh(now) else "not renewable"
    return f"signed in to {session.label}: the token lasts {left} ({renew}); the AWS CLI can use it"


@contextlib.contextmanager
def _environment(args: argparse.Namespace) -> Iterator[tuple[Config, ClientFactory]]:
    """Config and a client factory; with --demo, the sandbox's (Runtime starts and stops it)."""
    if args.demo:
        from sessiontui.runtime import Runtime

        with Runtime.open(args) as rt:
            yield rt.config, rt.factory
        return
    from sessiontui.aws.clients import ClientFactory
    from sessiontui.config import load_config

    config = load_config()
    yield config, ClientFactory(profile=args.profile or config.profile or None)
