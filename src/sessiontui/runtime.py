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
from typing import Any

from sessiontui.aws.clients import ClientFactory
from sessiontui.core.clock import SYSTEM_CLOCK, Clock
from sessiontui.core.credentials import Credentials
from sessiontui.core.errors import UsageError
from sessiontui.core.node import Node, sort_key
from sessiontui.core.query import parse_query, tag_terms
from sessiontui.core.roles import RoleSpec
from sessiontui.core.scope import in_scope

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
            access = self.assume_role(ask=ask, on_wait=on_wait)
            if access.warning:
                warnings.append(access.warning)
            factory = access.factory
            scope = dict(access.role.scope)
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

    def role_spec(self, name: str) -> RoleSpec:
        roles = getattr(self.config, "roles", {}) or {}
        if name not in roles:
            known = ", ".join(sorted(roles)) or "none configured"
            raise UsageError(
                f"unknown role {name!r} (known: {known})",
                "add it under [roles.NAME] in the config, or as a profile with role_arn in ~/.aws/config",
            )
        return roles[name]

    def assume_role(
        self, name: str | None = None, ask: Any = None, on_wait: Any = None
    ) -> RoleAccess:
        """The role's credentials (cached or freshly assumed with MFA) and clients that use them."""
        from sessiontui.aws.identity import code_source_for
        from sessiontui.core.durations import parse_duration

        role = self.role_spec(name or self.args.role)
        duration = parse_duration(self.args.duration) if self.args.duration else None
        identity = self.identity
        creds = identity.cached(role) if duration is None else None
        plan = None
        if creds is None:
            plan = identity.prepare(role, duration)
            source = code_source_for(self.config.mfa, typed=self.args.mfa_code, ask=ask)
            creds = identity.assume(role, plan.duration, source, on_wait=on_wait, use_cache=False)
            self.audit.role_assumed(
                role=role.name,
                arn=role.arn,
                duration=plan.duration,
                expires_at=creds.expiration,
                source=role.source_profile or self.factory.profile or "default",
            )
        return RoleAccess(
            role=role,
            credentials=creds,
            factory=self.factory.with_credentials(creds),
            warning=plan.warning if plan else None,
        )

    @functools.cached_property
    def audit(self) -> Any:
        from sessiontui.audit import AuditLog

        return AuditLog(clock=self.clock)

    def logout(self) -> int:
        """Wipe every cached role credential; how many files went."""
        return int(self.identity.logout())


@dataclass
class RoleAccess:
    role: RoleSpec
    credentials: Credentials
    factory: ClientFactory
    warning: str | None = None


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
