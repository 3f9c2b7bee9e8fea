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
from typing import Any

from sessiontui.core.clock import SYSTEM_CLOCK, Clock
from sessiontui.core.durations import format_remaining
from sessiontui.core.sso import DeviceCode, SsoSession, SsoToken

Say = Callable[[str], None]


def sso_login(args: argparse.Namespace, say: Say, clock: Clock = SYSTEM_CLOCK) -> int:
    with _environment(args) as (config, factory):
        from sessiontui.audit import AuditLog
        from sessiontui.aws.sso_device import DeviceSignIn
        from sessiontui.aws_profiles import find_sso_session

        profile = args.profile or config.profile or os.environ.get("AWS_PROFILE") or None
        session = find_sso_session(args.sso_login or None, config.identity_center.session, profile)
        say(f"Identity Center sign-in: {session.label}, {session.start_url}")

        def show(code: DeviceCode) -> None:
            left = format_remaining((code.expires_at - clock.now()).total_seconds())
            say(f"open {code.verification_uri} and enter the code {code.user_code}")
            say(f"  (or open {code.verification_uri_complete}); the code expires in {left}")
            from sessiontui.browser import has_display, open_browser

            if args.no_browser:
                say("  not opening a browser (--no-browser)")
            elif not has_display():
                say("  no display here: open the address on any device")
            elif open_browser(code.verification_uri_complete):
                say("  opened in your browser")
            say("waiting for approval (Ctrl-C cancels)")

        token = DeviceSignIn(session, factory, clock=clock).run(show)
        AuditLog(clock=clock).write(
            "sso_signed_in",
            sso_session=session.name,
            start_url=session.start_url,
            expires_at=token.expires_at,
        )
        say(_signed_in(session, token, clock.now()))
        return 0


def _signed_in(session: SsoSession, token: SsoToken, now: datetime) -> str:
    left = format_remaining(token.seconds_left(now))
    renew = "renewed by its refresh token" if token.can_refresh(now) else "not renewable"
    return f"signed in to {session.label}: the token lasts {left} ({renew}); the AWS CLI can use it"


@contextlib.contextmanager
def _environment(args: argparse.Namespace) -> Iterator[tuple[Any, Any]]:
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
