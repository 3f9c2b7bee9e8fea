"""Entry from the CLI: turn a Runtime into AppServices and run the TUI."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import TYPE_CHECKING

from sessiontui import demo
from sessiontui.core.node import Node
from sessiontui.ui.services import FIRST_PAGE, AppServices

if TYPE_CHECKING:
    from sessiontui.runtime import Runtime
    from sessiontui.stores.inventory import InventoryCache


def services_from_runtime(rt: Runtime) -> AppServices:
    args = rt.args
    cache = None
    cached: list[Node] | None = None
    age: float | None = None
    rest: Callable[[], list[Node] | None] | None = None
    with contextlib.suppress(Exception):  # a broken cache only costs the instant start
        cache = rt.inventory_cache()
        head = cache.load_head()
        if head is not None:
            cached, age, whole = head
            if not whole:
                rest = _rest_loader(cache)

    def save(nodes: list[Node]) -> None:
        if cache is not None:
            with contextlib.suppress(OSError):
                cache.save(nodes)

    banner = demo_help = None
    sandbox = rt.sandbox
    if sandbox is not None:
        demo_help = demo.help_text(str(sandbox.endpoint_url))
        secret = getattr(sandbox, "totp_secret", None) or demo.totp_secret()
        banner = "DEMO: an embedded sandbox, not AWS." + (
            f"  MFA secret {secret} (codes fill in by themselves)" if secret else ""
        )
    from sessiontui.core.durations import parse_duration

    return AppServices(
        factory=rt.factory,
        regions=list(rt.regions),
        clock=rt.clock,
        filter_text=args.filter or "",
        tags=list(args.tag or []),
        config=rt.config,
        profile=rt.factory.profile,
        demo_banner=banner,
        demo_help=demo_help,
        cached_nodes=cached,
        cached_age_seconds=age,
        cached_rest=rest,
        on_inventory=save,
        initial_role=_first(args.role),
        initial_roles=list(rt.roles),
        no_browser=bool(args.no_browser),
        initial_duration=parse_duration(args.duration) if args.duration else None,
        mfa_code=args.mfa_code,
        reason=args.reason,
        # The identity service and audit log come from the runtime when first needed (shared with
        # the CLI's paths: one credential cache, one MFA window state, one audit log); building
        # them here would import boto3's side of the house before the first frame.
        runtime=rt,
    )


def _first(roles: object) -> str | None:
    """The role the picker preselects: the first --role."""
    if isinstance(roles, list):
        return roles[0] if roles else None
    return roles if isinstance(roles, str) else None


def _rest_loader(cache: InventoryCache) -> Callable[[], list[Node] | None]:
    def load() -> list[Node] | None:
        found = cache.load()
        return found[0] if found else None

    return load


def services_for_launch(rt: Runtime) -> AppServices:
    """The services, and with nothing cached to show, the listing's child started already:
    before Textual is imported, so its boto3 import runs beside ours instead of after the first
    frame (issue 25: a cold start's first rows).

    With no --role the first refresh lists the base identity's fleet: the child is sent that
    request now, and its first pages are listed while Textual is imported and the screen is
    composed (the screen's refresh takes them from the pipe). With a role the accesses are
    taken after the first frame, so the child only waits."""
    services = services_from_runtime(rt)
    if not services.cached_nodes:
        from sessiontui.aws.listing_process import prespawn

        if rt.roles or services.access is not None:
            prespawn()
        else:
            # what MainScreen.refresh_fleet asks first: the base factory over every region,
            # its account's Session Manager preferences, a small first page
            prespawn([services.factory], list(services.regions), 0, FIRST_PAGE)
    return services


def run_tui(rt: Runtime) -> int:
    services = services_for_launch(rt)
    from sessiontui.ui.app import SessiontuiApp

    app = SessiontuiApp(services)
    code = app.run()
    return int(code or 0)
