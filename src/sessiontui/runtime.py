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
from typing import TYPE_CHECKING, Any

from sessiontui.aws.clients import ClientFactory
from sessiontui.core.clock import SYSTEM_CLOCK, Clock
from sessiontui.core.node import Node, sort_key
from sessiontui.core.query import parse_query, tag_terms
from sessiontui.core.scope import in_scope

if TYPE_CHECKING:
    from sessiontui.access import AccessBook
    from sessiontui.core.access import Access

AskCode = Callable[[str], "str | None"]  # device serial -> six digits, or None
OnWait = Callable[[int], None]  # seconds left until the next MFA window


@dataclass
class Runtime:
    args: argparse.Namespace
    factory: ClientFactory
    regions: list[str]
    config: Any  # sessiontui.config.Config
    clock: Clock = SYSTEM_CLOCK
    sandbox: Any = None  # sessiontui.sandbox.Sandbox in --demo
    warnings: list[str] = field(default_factory=list)

    @classmethod
    @contextlib.contextmanager
    def open(cls, args: argparse.Namespace) -> Iterator[Runtime]:
        sandbox = _start_demo(getattr(args, "plugin", None)) if args.demo else None
        try:
            from sessiontui.config import load_config

            config = load_config()
            profile = args.profile or getattr(config, "profile", None) or None
            factory = ClientFactory(profile=profile)
            regions = factory.regions(args.region, list(getattr(config, "regions", []) or []))
            yield cls(args=args, factory=factory, regions=regions, config=config, sandbox=sandbox)
        finally:
            if sandbox is not None:
                sandbox.stop()

    @property
    def endpoint_url(self) -> str | None:
        return os.environ.get("AWS_ENDPOINT_URL") or None

    def query_text(self) -> str:
        return " ".join([self.args.filter or "", *tag_terms(self.args.tag)]).strip()

    def list_nodes(
        self, ask: AskCode | None = None, on_wait: OnWait | None = None
    ) -> tuple[list[Node], list[str]]:
        """The fleet, filtered as the flags say, and warnings for the operator (failed regions)."""
        from sessiontui.aws.inventory import list_fleet, raise_if_failed

        factory = self.factory
        scope: dict[str, str] = {}
        warnings: list[str] = []
        if self.args.role:
            access = self.access(ask=ask, on_wait=on_wait)
            if access.warning:
                warnings.append(access.warning)
            factory = self.factory_for(access)
            scope = dict(access.scope)
        else:
            factory.require_credentials()
        result = list_fleet(factory, self.regions)
        raise_if_failed(result)
        self._save_inventory(result.nodes)
        query = parse_query(self.query_text())
        nodes = sorted(
            (n for n in result.nodes if query.matches(n) and in_scope(n, scope)), key=sort_key
        )
        return nodes, warnings + [f"{e.region}: {e.message}" for e in result.errors]

    def _save_inventory(self, nodes: list[Node]) -> None:
        with contextlib.suppress(OSError):
            self.inventory_cache().save(nodes)

    def inventory_cache(self) -> Any:
        from sessiontui.inventory_cache import InventoryCache

        return InventoryCache(self.factory.profile, self.args.role, self.regions, self.endpoint_url)

    @functools.cached_property
    def identity(self) -> Any:
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
        self, name: str | None = None, ask: AskCode | None = None, on_wait: OnWait | None = None
    ) -> Access:
        """Access for --role (or `name`): held already, else obtained, asking through `ask`."""
        from sessiontui.access import Prompts
        from sessiontui.core.durations import parse_duration

        duration = parse_duration(self.args.duration) if self.args.duration else None
        prompts = Prompts(typed_code=self.args.mfa_code, ask_code=ask, on_wait=on_wait)
        return self.access_book.access(name or self.args.role, duration, prompts)

    def factory_for(self, access: Access) -> ClientFactory:
        """Clients that act with the access's credentials."""
        return self.factory.with_credentials(access.credentials)

    @functools.cached_property
    def audit(self) -> Any:
        from sessiontui.audit import AuditLog

        return AuditLog(clock=self.clock)

    def logout(self) -> int:
        """Wipe every cached role credential; how many files went."""
        return int(self.identity.logout())


def _start_demo(plugin: str | None = None) -> Any:
    """Start the embedded sandbox and point this process at it (and only at it); sessions go
    through the plugin `--plugin` names (locate.demo_plugin says which by default)."""
    from sessiontui.plugin.locate import ENV_OVERRIDE, demo_plugin
    from sessiontui.sandbox import Sandbox

    operator_plugin = os.environ.get(ENV_OVERRIDE)
    sb = Sandbox().start()
    try:
        chosen = demo_plugin(plugin, sb.plugin_path, operator_plugin)
    except BaseException:
        sb.stop()
        raise
    for key in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN"):
        os.environ.pop(key, None)
    os.environ.update(sb.env())
    os.environ[ENV_OVERRIDE] = str(chosen)
    # the demo's caches and state live and die with its sandbox: they mean nothing to another one
    assert sb.tmpdir is not None  # set by start()
    os.environ["XDG_CACHE_HOME"] = str(sb.tmpdir / "cache")
    os.environ["XDG_STATE_HOME"] = str(sb.tmpdir / "state")
    return sb
