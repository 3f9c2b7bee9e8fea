"""The one place a session gets its supervisor, whatever opens it: the TUI, `--connect`,
`--ssh-proxy`, `--db`.

Four copies of this once drifted: `--ssh-proxy` built its supervisor without the journal, so a
sessiontui killed while proxying ssh left that session open for good, and `--db` journalled its
sessions under no source profile, so the next start could not find the credentials to end them.
Here every session is journalled, bound to the profile whose credentials can end it, audited, and
run under its access's credentials and real end (or the base identity's, without a role).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sessiontui.plugin.supervisor import SessionSupervisor

if TYPE_CHECKING:
    from mypy_boto3_ssm import SSMClient

    from sessiontui.core.access import Access
    from sessiontui.core.clock import Clock
    from sessiontui.core.credentials import Credentials
    from sessiontui.plugin.locate import PluginInfo
    from sessiontui.stores.audit import AuditLog
    from sessiontui.stores.journal import SessionJournal


@dataclass(frozen=True)
class Supervision:
    """What every session of one run shares: the plugin, the audit log, the clock, the journal,
    and which profile's credentials assume each role (the journal's key for ending it later)."""

    plugin: PluginInfo
    audit: AuditLog | None
    clock: Clock
    journal: SessionJournal | None
    source_profile: Callable[[str], str | None]

    def supervisor(
        self,
        ssm: SSMClient,
        access: Access | None,
        base_credentials: Callable[[], Credentials],
    ) -> SessionSupervisor:
        """Sessions through `ssm` under `access`; without one, under the base identity's
        credentials (asked only then: resolving them may sign in)."""
        profile = self.source_profile(access.name) if access is not None else None
        journal = self.journal.bound(profile) if self.journal is not None else None
        if access is not None:
            return SessionSupervisor.for_access(
                ssm, access, self.plugin, audit=self.audit, clock=self.clock, journal=journal
            )
        return SessionSupervisor(
            ssm=ssm,
            credentials=base_credentials(),
            plugin=self.plugin,
            audit=self.audit,
            clock=self.clock,
            journal=journal,
        )
