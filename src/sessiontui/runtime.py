"""What one run of sessiontui works with: the demo sandbox, config, clients, regions, the role.

Built once by the CLI and shared by the headless paths and the TUI, so both behave the same.
"""

from __future__ import annotations

import argparse
import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from sessiontui.aws.clients import ClientFactory
from sessiontui.core.clock import SYSTEM_CLOCK, Clock
from sessiontui.core.node import Node
from sessiontui.core.query import parse_query, tag_terms
from sessiontui.core.scope import in_scope


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
        sandbox = _start_demo() if args.demo else None
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

    def list_nodes(self) -> tuple[list[Node], list[str]]:
        """The fleet, filtered as the flags say; warnings name regions that failed."""
        from sessiontui.aws.inventory import list_fleet, raise_if_failed
        from sessiontui.core.errors import SessiontuiError

        factory = self.factory
        scope: dict[str, str] = {}
        if self.args.role:
            access = self.assume_role()
            factory = access.factory
            scope = dict(access.role.scope)
        else:
            factory.require_credentials()
        result = list_fleet(factory, self.regions)
        raise_if_failed(result)
        if not result.nodes and result.errors:
            raise SessiontuiError("listing failed in every region: " + "; ".join(f"{e.region}: {e.message}" for e in result.errors))
        self._save_inventory(result.nodes)
        query = parse_query(self.query_text())
        from sessiontui.core.node import sort_key

        nodes = sorted((n for n in result.nodes if query.matches(n) and in_scope(n, scope)), key=sort_key)
        return nodes, [f"{e.region}: {e.message}" for e in result.errors]

    def _save_inventory(self, nodes: list[Node]) -> None:
        from sessiontui.inventory_cache import InventoryCache

        with contextlib.suppress(OSError):
            self.inventory_cache().save(nodes)

    def inventory_cache(self) -> Any:
        from sessiontui.inventory_cache import InventoryCache

        return InventoryCache(self.factory.profile, self.args.role, self.regions, self.endpoint_url)

    def assume_role(self) -> Any:
        raise NotImplementedError  # wired to aws.identity below

    def logout(self) -> int:
        raise NotImplementedError


def _start_demo() -> Any:
    """Start the embedded sandbox and point this process at it (and only at it)."""
    from sessiontui.sandbox import Sandbox

    sb = Sandbox().start()
    for key in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN"):
        os.environ.pop(key, None)
    os.environ.update(sb.env())
    # the demo's caches and state live and die with its sandbox: they mean nothing to another one
    os.environ["XDG_CACHE_HOME"] = str(sb.tmpdir / "cache")
    os.environ["XDG_STATE_HOME"] = str(sb.tmpdir / "state")
    return sb
