"""The sources of access (IAM roles with MFA, and more), in the one shape of `core.access`.

To add a source: one module here with a class that fits `base.AccessSource`, and one line in
`build_book`. The UI, the CLI and the supervisor only ever see `Offer`, `Access` and `AccessBook`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sessiontui.access.base import AccessSource, Prompts, SignInPrompt
from sessiontui.access.book import AccessBook

if TYPE_CHECKING:
    from sessiontui.aws.clients import ClientFactory
    from sessiontui.aws.identity import IdentityService
    from sessiontui.config import Config
    from sessiontui.core.clock import Clock
    from sessiontui.stores.audit import AuditLog

__all__ = ["AccessBook", "AccessContext", "AccessSource", "Prompts", "SignInPrompt", "build_book"]


@dataclass
class AccessContext:
    """What sources are built from; one per run, shared by the CLI and the TUI."""

    config: Config
    identity: IdentityService
    factory: ClientFactory  # of the base identity
    regions: list[str]
    clock: Clock
    audit: AuditLog | None = None


def build_book(ctx: AccessContext) -> AccessBook:
    from sessiontui.access.iam_role import IamRoleSource

    sources: list[AccessSource] = [
        IamRoleSource(
            ctx.identity,
            ctx.config.roles,
            ctx.config.mfa,
            audit=ctx.audit,
            base_label=ctx.factory.profile or "default",
        ),
    ]
    from sessiontui.access.identity_center import identity_center_source

    sources += identity_center_source(ctx)

    from sessiontui.access.node_access import NodeAccessSource

    sources.append(NodeAccessSource(ctx.factory, ctx.clock, audit=ctx.audit))
    return AccessBook(sources)
