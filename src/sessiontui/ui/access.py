"""Who the operator is right now: the access held (a role, or another source's), its clock, and
what ends when it expires. Opening shells and forwards with it is `opening.SessionOpener`'s part.

A plain object the app owns; it sees the app only as a Textual host (workers, screens,
notifications) and the fleet screen only as an `AccessView`. Blocking work goes to workers;
screens it opens report back through their dismiss callbacks.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from sessiontui.access.base import Prompts
from sessiontui.core.access import GRANTS, Access, Offer, label, noun, opening_label
from sessiontui.core.durations import WARN_AT, format_remaining
from sessiontui.core.errors import SessiontuiError
from sessiontui.ui.messages import SessionsStopped

# The dialogs are imported where they open: none of them is needed for the first frame.
if TYPE_CHECKING:
    from textual.app import App

    from sessiontui.access import AccessBook
    from sessiontui.aws.clients import ClientFactory
    from sessiontui.aws.identity import IdentityService
    from sessiontui.config import Config
    from sessiontui.core.node import Node
    from sessiontui.plugin.locate import PluginInfo
    from sessiontui.stores.audit import AuditLog
    from sessiontui.ui.forwarding import ForwardBook
    from sessiontui.ui.screens.roles import RoleChoice
    from sessiontui.ui.services import AppServices

# what building the access book imports (measured: 19 modules, botocore's exceptions among them)
BOOK_MODULES = (
    "sessiontui.aws.identity",
    "sessiontui.access.iam_role",
    "sessiontui.access.identity_center",
    "sessiontui.access.node_access",
)


class AccessView(Protocol):
    """Where the access held is shown: the header's countdown and the node list's scope."""

    def show_access(self, access: Access | None) -> None: ...

    def show_expired(self, name: str) -> None: ...


@dataclass
class ActiveAccess:
    access: Access
    factory: ClientFactory | None  # with the access's credentials
    warned: set[int] = field(default_factory=set)

    @property
    def name(self) -> str:
        return self.access.name

    def remaining(self, now: datetime) -> float | None:
        return self.access.remaining(now)


def _stamp(access: Access, nodes: list[Node]) -> list[Node]:
    from sessiontui.operations.fleets import stamp

    return stamp(nodes, access)


class AccessController:
    def __init__(
        self,
        host: App[Any],
        services: AppServices,
        forwards: ForwardBook,
        view: AccessView,
    ) -> None:
        self.host = host
        self.services = services
        self.forwards = forwards
        self.view = view
        self.active: ActiveAccess | None = None
        self.expired: ActiveAccess | None = None
        # every access held, one per account (several accounts: one fleet); `active` is one of
        # them: the one shown in the header, and the one a session on its account's node uses
        self.held: dict[str, ActiveAccess] = {}
        self._identity: IdentityService | None = self.services.identity
        self._audit: AuditLog | None = self.services.audit
        self._book: AccessBook | None = None
        # built by the prefetch worker at start; a UI-thread look that finds it not yet built
        # waits for it (book_settled) rather than import its modules on the UI thread, or wait
        # on the worker's import lock there (140-160 ms, bench.live with BENCH_STALLS=1)
        self._book_lock = threading.RLock()
        self._book_tried = False
        self.on_book: Callable[[], None] | None = None  # the book is built (or could not be)
        self._plugin: PluginInfo | None = None
        self._typed_code = self.services.mfa_code
        # a grant that expired is asked for anew, not renewed (set by NodeAccessController)
        self.request_again: Callable[[Access], None] | None = None
        if self.services.access is not None:
            self._set_active(self.services.access)

    # ---- collaborators, built on first use --------------------------------------------------

    @property
    def config(self) -> Config | None:
        return self.services.config

    def has_offers(self) -> bool:
        """Whether any access can be asked for (without calling AWS)."""
        if self.config is not None and self.config.roles:
            return True
        return any(s.kind == "identity-center" for s in self.book.sources)

    @property
    def book_settled(self) -> bool:
        """Whether the access book is built, or the prefetch worker tried to build it: before,
        what only shows (the details pane's Enter note) does without it."""
        return self._book is not None or self._book_tried

    @property
    def book(self) -> AccessBook:
        with self._book_lock:  # one book, whichever thread asks first
            return self._built_book()

    def _built_book(self) -> AccessBook:
        runtime = self.services.runtime
        if self._book is None and runtime is not None:
            self._book = runtime.access_book
        if self._book is None:
            from sessiontui.access import AccessContext, build_book
            from sessiontui.config import Config

            self._book = build_book(
                AccessContext(
                    config=self.config or Config(),
                    identity=self.identity,
                    factory=self.services.factory,
                    regions=list(self.services.regions),
                    clock=self.services.clock,
                    audit=self.audit,
                )
            )
        return self._book

    @property
    def identity(self) -> IdentityService:
        runtime = self.services.runtime
        if self._identity is None and runtime is not None:
            self._identity = runtime.identity
        if self._identity is None:
            from sessiontui.aws.clients import ClientFactory
            from sessiontui.aws.identity import IdentityService
            from sessiontui.config import Config

            base = self.services.factory

            def factory_for(profile: str | None) -> ClientFactory:
                if profile in (None, getattr(base, "profile", None)):
                    return base
                return ClientFactory(profile=profile)

            regions = self.services.regions
            self._identity = IdentityService.from_config(
                self.config or Config(),
                factory_for,
                clock=self.services.clock,
                region=regions[0] if regions else None,
            )
        return self._identity

    @property
    def audit(self) -> AuditLog:
        runtime = self.services.runtime
        if self._audit is None and runtime is not None:
            self._audit = runtime.audit
        if self._audit is None:
            from sessiontui.stores.audit import AuditLog

            self._audit = AuditLog(clock=self.services.clock)
        return self._audit

    def plugin(self) -> PluginInfo:
        """PluginInfo; blocking (runs `--version` once): call from a worker or a suspend."""
        if self._plugin is None:
            from sessiontui.plugin.locate import locate_plugin

            self._plugin = locate_plugin(self.config.plugin_path if self.config else None)
        return self._plugin

    def prefetch_plugin(self) -> None:
        def work() -> None:
            # the access book's sources (and botocore's exceptions with them) are imported on
            # their first use, the first refresh or access: imported here instead, off the UI
            # thread, where their 20-110 ms were the event loop's stall at the first `R`. Before
            # the plugin's `--version`: behind that spawn, the start-up refresh imported them
            # first, on the UI thread (a 200 ms stall, bench.live with BENCH_STALLS=1)
            for module in BOOK_MODULES:
                with contextlib.suppress(ImportError):
                    importlib.import_module(module)
            try:
                with contextlib.suppress(SessiontuiError, OSError):
                    self.book  # noqa: B018  # built here, off the UI thread
            finally:
                self._book_tried = True
                with contextlib.suppress(RuntimeError):  # the app is gone
                    self.host.call_from_thread(self._book_built)
            with contextlib.suppress(SessiontuiError, OSError):
                self.plugin()

        self.host.run_worker(work, thread=True, group="plugin", exit_on_error=False)

    def _book_built(self) -> None:
        if self.on_book is not None:
            self.on_book()

    # ---- the access held --------------------------------------------------------------------

    def stamp_nodes(self, nodes: list[Node]) -> list[Node]:
        """The account the active access lists in, on each node (the ACCOUNT column, account:)."""
        if self.active is None:
            return nodes
        from sessiontui.operations.fleets import stamp

        return stamp(nodes, self.active.access)

    def alive(self) -> list[ActiveAccess]:
        """The accesses held with time left, the active one first."""
        now = self.services.clock.now()
        found = [h for h in self.held.values() if (h.remaining(now) or 1) > 0]
        return sorted(found, key=lambda h: h is not self.active)

    def others(self) -> list[ActiveAccess]:
        """The accesses held with time left besides the active one (other accounts)."""
        return [h for h in self.alive() if h is not self.active]

    def listings(self) -> list[tuple[ClientFactory, Callable[[list[Node]], list[Node]]]]:
        """(factory, stamp) per account to list: the union is the fleet. A grant (an approved
        access request) does not list: its token opens its nodes, which the accesses of their
        account list and stamp; listed under it too, they would arrive without an account."""
        held = [h for h in self.alive() if h.access.offer.source not in GRANTS]
        if len(held) <= 1:
            return [(self.listing_factory(), self.stamp_nodes)]
        return [
            (h.factory or self.services.factory, functools.partial(_stamp, h.access)) for h in held
        ]

    def listing_key(self) -> tuple[str, ...]:
        """What the fleet was listed for: it is listed again when this changes."""
        return tuple(
            sorted(h.access.account_id for h in self.alive() if h.access.offer.account_name)
        )

    def use_for(self, node: Node) -> None:
        """Several accesses held: make the one that opens the node the active one (a grant
        naming it, else its own account's access), never the one taken last."""
        found = self.access_for(node)
        if found is not None and found is not self.active:
            self.make_active(found)

    def make_active(self, held: ActiveAccess) -> None:
        """`held` (one of the accesses held) becomes the one the header shows and sessions use."""
        self.active = held
        self.view.show_access(held.access)

    def access_for(self, node: Node) -> ActiveAccess | None:
        """The access held with time left that a session on `node` uses: a grant that names
        it, else the access of the node's account (None when the node's account is unknown or
        no access of it is held)."""
        alive = self.alive()
        for held in alive:
            targets = held.access.targets
            if targets is not None and node.id in targets:
                return held
        account = getattr(node, "account_id", "")
        if not account:
            return None
        for held in alive:
            if held.access.targets is None and held.access.account_id == account:
                return held
        return None

    def held_like(self, held: ActiveAccess) -> ActiveAccess | None:
        """The access held with time left that is `held` or the same offer taken again."""
        offer = held.access.offer
        for other in self.alive():
            same = other.access.offer
            if other is held or (
                (same.source, same.name, same.account_id)
                == (offer.source, offer.name, offer.account_id)
            ):
                return other
        return None

    def listing_factory(self) -> ClientFactory:
        if self.active is not None and self.active.factory is not None:
            left = self.active.remaining(self.services.clock.now())
            if left is None or left > 0:
                return self.active.factory
        return self.services.factory

    def choose_role(
        self, then: Callable[[], None] | None = None, preselect: str | None = None
    ) -> None:
        from sessiontui.ui.screens.roles import RolePickerScreen, role_lines

        if not self.has_offers():
            self.host.notify(
                "no roles configured: add [roles.NAME] to config.toml, a profile with "
                "role_arn in ~/.aws/config, or an Identity Center sso-session",
                severity="error",
            )
            return
        book = self.book
        lines = role_lines(book.offers(), book.cached_seconds)
        current = preselect or (self.active.name if self.active else None)
        ident = self.identity

        def probe(offer: Offer) -> tuple[bool | None, int | None]:
            # what AWS will allow for a role: whether it chains, and its MaxSessionDuration
            source = book.source(offer)
            spec = getattr(source, "spec", None)
            if spec is None:
                return None, offer.max_duration
            role = spec(offer)
            return ident.caller(role.source_profile).chained, ident.role_max(role)

        def chosen(choice: RoleChoice | None) -> None:
            if choice is not None and choice.offer.needs == "listing":
                # Identity Center's line: sign in if needed, list the portal, pick again
                from sessiontui.ui.portal_listing import list_portal

                source: Any = book.source(choice.offer)
                list_portal(
                    self.host,
                    source,
                    self.services.clock,
                    lambda: self.choose_role(then, preselect),
                    open_browser=not self.services.no_browser,
                )
            elif choice is not None:
                self.take_role(choice, then)

        self.host.push_screen(
            RolePickerScreen(
                lines,
                preselect=current or self.services.initial_role,
                duration=self.services.initial_duration,
                probe=probe,
            ),
            chosen,
        )

    def take_role(
        self,
        choice: RoleChoice,
        then: Callable[[], None] | None = None,
        *,
        use_cache: bool = True,
        then_anyway: bool = False,  # `then` also when the role was not taken (cancelled, refused)
    ) -> None:
        from sessiontui.ui.screens.mfa import AssumeScreen

        offer, duration = choice.offer, choice.duration
        typed, self._typed_code = self._typed_code, None
        book = self.book

        def obtain(prompts: Prompts) -> Access:
            # blocking, in the modal's worker: what is held already, else new access
            if use_cache:
                held = book.cached(offer)
                if held is not None:
                    return held
            return book.obtain(offer, duration, prompts)

        def done(access: Access | None) -> None:
            if access is None:
                if then is not None and then_anyway:
                    then()
                return
            self._set_active(access)
            left = access.remaining(self.services.clock.now())
            until = f" for {format_remaining(left)}" if left is not None else ""
            self.host.notify(f"{label(access.offer)} taken{until}", title=noun(access.offer))
            waiting = self.forwards.expired_count()
            if waiting:
                self.host.notify(
                    f"{waiting} forward(s) ended when the access expired: press s in the forwards "
                    "panel (F) to start them again on the same local ports",
                    timeout=10,
                )
            if then is not None:
                then()

        self.host.push_screen(
            AssumeScreen(
                offer,
                duration,
                obtain,
                self.services.clock,
                typed_code=typed,
                open_browser=not self.services.no_browser,
            ),
            done,
        )

    def activate(self, access: Access) -> None:
        """Hold access another part obtained (an approved just-in-time request)."""
        self._set_active(access)

    def _set_active(self, access: Access) -> None:
        base = self.services.factory
        factory = (
            base.with_credentials(access.credentials) if hasattr(base, "with_credentials") else None
        )
        self.active = ActiveAccess(access, factory)
        self.expired = None
        key = access.account_id or access.name
        self.held.pop(key, None)
        self.held[key] = self.active
        left = self.active.remaining(self.services.clock.now())
        # thresholds already behind us at activation are not news
        if left is not None:
            self.active.warned = {t for t in WARN_AT if left <= t}
        self.view.show_access(access)

    def show_role(self) -> None:
        """Once the fleet screen exists: show the access taken before the TUI, or take --role."""
        if self.active is not None:
            self.view.show_access(self.active.access)
            return
        names = [n for n in self.services.initial_roles or [self.services.initial_role or ""] if n]
        if names:
            # after the first frame: the access book and the dialogs are not what it shows
            self.host.call_after_refresh(lambda: self._take_in_turn(names))

    def _take_in_turn(self, names: list[str]) -> None:
        """--role given several times (one per account): each is taken, one after the other."""
        if not names:
            return
        name, rest = names[0], names[1:]

        def find() -> None:
            # in a worker: building the book reads the AWS config, and an Identity Center name
            # may ask the portal which accounts there are
            try:
                offer = self.book.find(name)
            except SessiontuiError as exc:
                self.host.call_from_thread(self._not_found, exc.message, rest)
                return
            self.host.call_from_thread(self._take_found, offer, rest)

        self.host.run_worker(find, thread=True, group="initial-role", exit_on_error=False)

    def _not_found(self, message: str, rest: list[str]) -> None:
        self.host.notify(message, severity="error")
        self._take_in_turn(rest)

    def _take_found(self, offer: Offer, rest: list[str]) -> None:
        from sessiontui.ui.screens.roles import RoleChoice

        duration = self.services.initial_duration or offer.default_duration
        self.take_role(
            RoleChoice(offer, duration), lambda: self._take_in_turn(rest), then_anyway=bool(rest)
        )

    def tick(self) -> None:
        from sessiontui.ui.held_accesses import tick_others

        tick_others(self)
        active = self.active
        if active is None:
            return
        left = active.remaining(self.services.clock.now())
        if left is None:
            return
        if left <= 0:
            self.expire()
            return
        for threshold in WARN_AT:
            if left <= threshold and threshold not in active.warned:
                active.warned.add(threshold)
                self.host.notify(
                    f"{label(active.access.offer)}: {format_remaining(left)} left; its sessions "
                    "end when it expires",
                    title=f"{noun(active.access.offer)} expiring",
                    severity="error" if threshold <= min(WARN_AT) else "warning",
                    timeout=15,
                )

    def _again(self, active: ActiveAccess) -> RoleChoice:
        from sessiontui.ui.screens.roles import RoleChoice

        return RoleChoice(active.access.offer, active.access.duration)

    def expire(self) -> None:
        """The active access ran out: end its sessions, say so, and offer to take it again."""
        from sessiontui.ui.held_accesses import expire_active

        expire_active(self)

    def _offer_request_again(self, access: Access, again: Callable[[Access], None]) -> None:
        """A grant (an access request) is not renewed by asking again: a new one is filed."""
        from sessiontui.ui.screens.confirm import ConfirmScreen

        def answered(yes: bool | None) -> None:
            if yes:
                again(access)

        self.host.push_screen(
            ConfirmScreen(
                f"{opening_label(access.offer)} expired. Request access to its nodes again?",
                yes="Request again",
                no="Later",
            ),
            answered,
        )

    def reauthenticate(self) -> None:
        current = self.active or self.expired
        if current is None:
            self.choose_role()
            return
        self.take_role(self._again(current), use_cache=False)

    def logout(self) -> None:
        """Forget every cached credential, drop the access, end what it opened."""

        def work() -> None:
            removed = 0
            with contextlib.suppress(SessiontuiError, OSError):
                removed = self.book.forget()
            self.host.call_from_thread(
                self.host.notify, f"logged out: {removed} cached credential file(s) removed"
            )

        self.active = None
        self.expired = None
        self.held.clear()
        self.view.show_access(None)
        self.end_sessions("logged out")
        self.host.run_worker(work, thread=True, group="logout", exit_on_error=False)

    def end_sessions(
        self,
        why: str,
        *,
        expired: bool = False,
        then: Callable[[], None] | None = None,
        access: Access | None = None,
    ) -> None:
        """Terminate every session of this process in a worker (stopping one can take seconds);
        with `access`, only the forwards opened under it (its other sessions watch its end, and
        a forward opened under another access, even in the same account, lives until that
        access ends)."""
        from sessiontui.plugin.output import Ending
        from sessiontui.plugin.supervisor import ACTIVE_SESSIONS

        book = self.forwards

        def work() -> None:
            how = Ending.EXPIRED if expired else Ending.STOPPED
            if access is not None:
                count = book.stop_all_blocking(how, why, under=access)
            else:
                count = book.stop_all_blocking(how, why)
                count += ACTIVE_SESSIONS.terminate_all(why, how)
            self.host.post_message(SessionsStopped(count, why, then))

        self.host.run_worker(work, thread=True, group="end-sessions", exit_on_error=False)
