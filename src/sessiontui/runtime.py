"""What one run of sessiontui works with: the demo sandbox, config, clients, regions, the role.

Built once by the CLI and shared by the headless paths and the TUI, so both behave the same.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sessiontui import demo
from sessiontui.aws.clients import ClientFactory
from sessiontui.core.clock import SYSTEM_CLOCK, Clock
from sessiontui.core.node import Node, sort_key
from sessiontui.core.query import parse_query, tag_terms
from sessiontui.core.scope import in_scope

if TYPE_CHECKING:
    from mypy_boto3_ssm import SSMClient

    from sessiontui.access import AccessBook
    from sessiontui.access.base import SignInPrompt
    from sessiontui.aws.fleet_result import FleetResult
    from sessiontui.aws.identity import IdentityService
    from sessiontui.aws.session_recovery import OthersFor
    from sessiontui.config import Config
    from sessiontui.core.access import Access
    from sessiontui.core.marks import Marks
    from sessiontui.operations.supervision import Supervision
    from sessiontui.plugin.locate import PluginInfo
    from sessiontui.stores.audit import AuditLog
    from sessiontui.stores.inventory import InventoryCache
    from sessiontui.stores.journal import JournalEntry, SessionJournal

AskCode = Callable[[str], "str | None"]  # device serial -> six digits, or None
OnWait = Callable[[int], None]  # seconds left until the next MFA window
OnRetry = Callable[[str], None]  # a refused MFA code is retried with the next window's: why


@dataclass
class Runtime:
    args: argparse.Namespace
    factory: ClientFactory
    regions: list[str]
    config: Config
    clock: Clock = SYSTEM_CLOCK
    sandbox: demo.RunningSandbox | None = None  # the embedded sandbox in --demo
    warnings: list[str] = field(default_factory=list)
    # shows a device sign-in (Identity Center) when a person is at the terminal; None: exit 3
    on_sign_in: Callable[[SignInPrompt], None] | None = None

    @classmethod
    @contextlib.contextmanager
    def open(cls, args: argparse.Namespace) -> Iterator[Runtime]:
        from sessiontui.plugin.signals import shutdown_signals

        # a demo's sandbox keeps a temp folder (credentials included): SIGTERM and SIGHUP unwind
        # through the `finally` that removes it, as `q` does, instead of ending the process
        # where it stands (the TUI and a running session put their own handlers over these)
        guard = shutdown_signals() if args.demo else contextlib.nullcontext()
        with guard:
            sandbox = demo.start(args.plugin) if args.demo else None
            try:
                from sessiontui.config import load_config

                config = load_config()
                from sessiontui.aws.mfa import withhold_secret_env

                # before any child starts: the plugin, terminals and shells never inherit the seed
                withhold_secret_env(config.mfa.totp_secret_env)
                profile = args.profile or config.profile or None
                factory = ClientFactory(profile=profile)
                regions = factory.regions(args.region, list(config.regions))
                yield cls(
                    args=args, factory=factory, regions=regions, config=config, sandbox=sandbox
                )
            finally:
                if sandbox is not None:
                    sandbox.stop()

    @property
    def endpoint_url(self) -> str | None:
        return os.environ.get("AWS_ENDPOINT_URL") or None

    def list_command(self) -> str:
        """How the operator lists this fleet again: the demo's only with --demo."""
        return (
            "sessiontui --demo --list" if getattr(self.args, "demo", False) else "sessiontui --list"
        )

    def query_text(self) -> str:
        return " ".join([self.args.filter or "", *tag_terms(self.args.tag)]).strip()

    def list_nodes(
        self,
        ask: AskCode | None = None,
        on_wait: OnWait | None = None,
        on_retry: OnRetry | None = None,
    ) -> tuple[list[Node], list[str]]:
        """The fleet, filtered as the flags say, and warnings for the operator (failed regions)."""
        from sessiontui.aws.inventory import list_fleet, raise_if_failed

        factory = self.factory
        scope: dict[str, str] = {}
        warnings: list[str] = []
        if self.roles:
            accesses = self.accesses(ask=ask, on_wait=on_wait, on_retry=on_retry)
            warnings += [a.warning for a in accesses if a.warning]
            result = self.list_union(accesses)
            raise_if_failed(result)
            self._save_inventory(result.nodes)
            query = parse_query(self.query_text(), marks=self._marks())
            from sessiontui.operations.fleets import access_for

            nodes = sorted(
                (n for n in result.nodes if query.matches(n) and access_for(n, accesses)[0]),
                key=sort_key,
            )
            return nodes, warnings + _listing_warnings(result)
        factory.require_credentials()
        result = list_fleet(factory, self.regions)
        raise_if_failed(result)
        self._save_inventory(result.nodes)
        query = parse_query(self.query_text(), marks=self._marks())
        nodes = sorted(
            (n for n in result.nodes if query.matches(n) and in_scope(n, scope)), key=sort_key
        )
        return nodes, warnings + _listing_warnings(result)

    @property
    def roles(self) -> list[str]:
        """--role, as given (repeatable: one fleet across accounts)."""
        given = getattr(self.args, "role", None)
        if not given:
            return []
        return [given] if isinstance(given, str) else list(dict.fromkeys(given))

    def accesses(
        self,
        ask: AskCode | None = None,
        on_wait: OnWait | None = None,
        on_retry: OnRetry | None = None,
    ) -> list[Access]:
        return [
            self.access(name, ask=ask, on_wait=on_wait, on_retry=on_retry) for name in self.roles
        ]

    def list_union(self, accesses: list[Access]) -> FleetResult:
        """The fleet each access sees, in one list, each node stamped with its account."""
        from sessiontui.operations.fleets import AccessFleet, list_union

        fleets = [AccessFleet(a, self.factory_for(a)) for a in accesses]
        return list_union(fleets, self.regions)

    def _marks(self) -> Marks | None:
        """Favourites and recent targets, for is:fav / is:recent in --filter."""
        from sessiontui.stores.marks import MarksStore

        return MarksStore().load() if "is:" in self.query_text().casefold() else None

    def _save_inventory(self, nodes: list[Node]) -> None:
        with contextlib.suppress(OSError):
            self.inventory_cache().save(nodes)

    def inventory_cache(self) -> InventoryCache:
        from sessiontui.stores.inventory import InventoryCache

        role = ",".join(self.roles) or None  # per account and role: a name says both
        return InventoryCache(self.factory.profile, role, self.regions, self.endpoint_url)

    @functools.cached_property
    def identity(self) -> IdentityService:
        from sessiontui.aws.identity import IdentityService

        base = self.factory.profile

        def factory_for(profile: str | None) -> ClientFactory:
            if profile in (None, base):
                return self.factory
            return ClientFactory(profile=profile)

        return IdentityService.from_config(
            self.config, factory_for, clock=self.clock, region=self.regions[0]
        )

    @functools.cached_property
    def access_book(self) -> AccessBook:
        from sessiontui.access import AccessContext, build_book

        return build_book(
            AccessContext(
                config=self.config,
                identity=self.identity,
                factory=self.factory,
                regions=self.regions,
                clock=self.clock,
                audit=self.audit,
            )
        )

    def access(
        self,
        name: str | None = None,
        ask: AskCode | None = None,
        on_wait: OnWait | None = None,
        on_retry: OnRetry | None = None,
    ) -> Access:
        """Access for --role (or `name`): held already, else obtained, asking through `ask`."""
        from sessiontui.access import Prompts
        from sessiontui.core.durations import parse_duration

        duration = parse_duration(self.args.duration) if self.args.duration else None
        prompts = Prompts(
            typed_code=self.args.mfa_code,
            ask_code=ask,
            on_wait=on_wait,
            on_retry=on_retry,
            on_sign_in=self.on_sign_in,
        )
        return self.access_book.access(name or self.roles[0], duration, prompts)

    def factory_for(self, access: Access) -> ClientFactory:
        """Clients that act with the access's credentials."""
        return self.factory.with_credentials(access.credentials)

    @functools.cached_property
    def audit(self) -> AuditLog:
        from sessiontui.stores.audit import AuditLog

        return AuditLog(clock=self.clock)

    def source_profile(self, role: str) -> str | None:
        """The profile whose credentials assume an IAM role (the credential cache's and the
        journal's key), if the config names one."""
        spec = self.config.roles.get(role)
        return spec.source_profile if spec is not None else None

    def supervision(self, plugin: PluginInfo) -> Supervision:
        """What every session this run opens is supervised with (operations.supervision)."""
        from sessiontui.operations.supervision import Supervision

        return Supervision(plugin, self.audit, self.clock, self.journal, self.source_profile)

    @functools.cached_property
    def journal(self) -> SessionJournal:
        from sessiontui.stores.journal import SessionJournal

        return SessionJournal(profile=self.factory.profile)

    def recover_sessions(self) -> list[str]:
        """End what an earlier, killed sessiontui left open (journal); lines for the operator."""
        if not self.journal.has_entries():  # the usual case: one directory read, no AWS call
            return []
        from sessiontui.aws.credcache import CredentialCache
        from sessiontui.aws.session_recovery import (
            TERMINATE_MARGIN,
            EntryClients,
            recover_sessions,
        )

        def factory_for(profile: str | None) -> ClientFactory:
            return self.factory if profile == self.factory.profile else ClientFactory(profile)

        clients = EntryClients(
            factory_for, CredentialCache(clock=self.clock, margin=TERMINATE_MARGIN)
        )
        base_account: list[str] = []

        def base_for(entry: JournalEntry) -> SSMClient | None:
            # the base identity speaks for its own account only: another account's session is
            # not in its DescribeSessions, which must not read as "over"
            if entry.account:
                if not base_account:
                    try:
                        sts = self.factory.client("sts", self.regions[0])
                        base_account.append(str(sts.get_caller_identity()["Account"]))
                    except Exception:
                        base_account.append("")
                if entry.account != base_account[0]:
                    return None
            return clients.base(entry)

        report = recover_sessions(
            self.journal,
            clients.able,
            base_for,
            clock=self.clock,
            others_for=self._other_enders(),
        )
        return report.lines()

    def _other_enders(self) -> OthersFor:
        """For a session its own access may not end: the other credentials held now in its
        account, by name (--role's accesses, then any access with cached credentials, then the
        base identity), each as an ssm client in the session's region. Nothing is obtained and
        nobody is asked: a start that holds an administrator's access ends them."""
        found: list[tuple[str, str, ClientFactory]] | None = None

        def held() -> list[tuple[str, str, ClientFactory]]:
            nonlocal found
            if found is None:
                found = []
                book = self.access_book
                offers = []
                for name in self.roles:
                    with contextlib.suppress(Exception):
                        offers.append(book.find(name))
                with contextlib.suppress(Exception):  # a portal that needs a sign-in lists none
                    offers += book.offers()
                seen: set[str] = set()
                for offer in offers:
                    if offer.name in seen:
                        continue
                    seen.add(offer.name)
                    with contextlib.suppress(Exception):
                        access = book.cached(offer)
                        if access is not None:
                            found.append((offer.name, access.account_id, self.factory_for(access)))
                if self.factory.has_credentials():
                    with contextlib.suppress(Exception):
                        sts = self.factory.client("sts", self.regions[0])
                        account = str(sts.get_caller_identity()["Account"])
                        found.append(("the base identity", account, self.factory))
            return found

        def others(entry: JournalEntry) -> list[tuple[str, SSMClient]]:
            return [
                (
                    name if name == "the base identity" else f"access {name}",
                    f.client("ssm", entry.region),
                )
                for name, account, f in held()
                if name != entry.role_name and account and account == entry.account
            ]

        return others

    def logout(self) -> int:
        """Wipe every cached role credential (every source's); how many files went."""
        return int(self.access_book.forget())


def _listing_warnings(result: FleetResult) -> list[str]:
    """Failed regions, and hybrid nodes whose tags this access may not read (said, not hidden)."""
    from sessiontui.core.node import unreadable_tags_note

    found = [f"{e.region}: {e.message}" for e in result.errors]
    note = unreadable_tags_note(result.nodes)
    return [*found, note] if note else found
