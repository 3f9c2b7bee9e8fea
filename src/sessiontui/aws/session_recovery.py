"""At start-up: terminate the sessions an earlier sessiontui left open (killed, power loss).

Reads the session journal; for each entry whose process is gone, asks DescribeSessions whether
the session is still Active and, if so, terminates it with credentials that can: the role's from
the credential cache, or the base credentials for a session opened without a role. An entry
whose credentials are gone is kept and reported, never silently dropped: the next start after
the operator takes the role again ends it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, cast

from sessiontui.aws.sessions import describe_sessions, terminate_session
from sessiontui.core.clock import SYSTEM_CLOCK, Clock
from sessiontui.core.errors import SessiontuiError
from sessiontui.stores.journal import JournalEntry, SessionJournal

if TYPE_CHECKING:
    from mypy_boto3_ssm import SSMClient

    from sessiontui.aws.clients import ClientFactory
    from sessiontui.aws.credcache import CredentialCache

# Session Manager's maxSessionDuration cannot exceed 1440 minutes: an entry older than this
# names a session AWS has ended by itself, whatever we could ask.
LONGEST_SESSION = timedelta(minutes=1440)
# a role's cached credentials this close to expiry still sign one TerminateSession
TERMINATE_MARGIN = 10

SsmFor = Callable[[JournalEntry], "SSMClient | None"]  # a client able to end the entry
# other held credentials of the entry's account (another access, the base identity), by name,
# tried when the entry's own access may not end it
OthersFor = Callable[[JournalEntry], "list[tuple[str, SSMClient]]"]


@dataclass
class RecoveryReport:
    terminated: list[JournalEntry] = field(default_factory=list)
    # ended with other credentials than its own access's: (entry, whose)
    ended_by_other: list[tuple[JournalEntry, str]] = field(default_factory=list)
    already_ended: list[JournalEntry] = field(default_factory=list)
    kept: list[tuple[JournalEntry, str]] = field(default_factory=list)

    def lines(self) -> list[str]:
        """What the operator is told (one line each): the sessions ended, and those left open."""
        out = [
            f"ended a session an earlier sessiontui left open: {e.label}" for e in self.terminated
        ]
        out += [
            f"ended {e.label}, which that access may not end, with {who}"
            for e, who in self.ended_by_other
        ]
        out += [f"could not end {e.label}: {why}" for e, why in self.kept]
        return out


def recover_sessions(
    journal: SessionJournal,
    ssm_for: SsmFor,
    base_ssm_for: SsmFor | None = None,
    clock: Clock = SYSTEM_CLOCK,
    others_for: OthersFor | None = None,
) -> RecoveryReport:
    report = RecoveryReport()
    for entry in journal.orphans():
        if (
            entry.left_open
            and others_for is not None
            and _end_with_others(journal, entry, others_for, report)
        ):
            continue
        _recover_one(journal, entry, ssm_for, base_ssm_for, clock, report)
    return report


def _end_with_others(
    journal: SessionJournal, entry: JournalEntry, others_for: OthersFor, report: RecoveryReport
) -> bool:
    """End a session its own access may not end with the first other credentials that can;
    True when it is settled (ended, or found over)."""
    try:
        others = others_for(entry)
    except Exception:  # nobody else to ask: its own access is tried as for any entry
        return False
    for who, ssm in others:
        if _active(_constant(ssm), entry) is False:
            journal.remove(entry.session_id)
            report.already_ended.append(entry)
            return True
        try:
            ok = terminate_session(ssm, entry.session_id)
        except SessiontuiError:
            continue  # this one may not either: the next
        if ok:
            journal.remove(entry.session_id)
            report.ended_by_other.append((entry, who))
            return True
    return False


def _recover_one(
    journal: SessionJournal,
    entry: JournalEntry,
    ssm_for: SsmFor,
    base_ssm_for: SsmFor | None,
    clock: Clock,
    report: RecoveryReport,
) -> None:
    if _surely_over(entry, clock):
        journal.remove(entry.session_id)
        report.already_ended.append(entry)
        return
    try:
        ssm = ssm_for(entry)
    except Exception as e:  # a profile gone from ~/.aws/config, SSO expired: keep and say so
        ssm, why = None, getattr(e, "message", "") or str(e)
    else:
        why = (
            f"role {entry.role_name}'s cached credentials are gone or expired: take the role "
            "again (r, or --role) and sessiontui ends it at its next start"
            if entry.role_name
            else "the base credentials are not available"
        )
    if ssm is None:
        # Listing may still be allowed to the base identity: a session that is over is dropped.
        if base_ssm_for is not None and _active(base_ssm_for, entry) is False:
            journal.remove(entry.session_id)
            report.already_ended.append(entry)
        else:
            report.kept.append((entry, why))
        return
    if _active(lambda _e: ssm, entry) is False:
        journal.remove(entry.session_id)
        report.already_ended.append(entry)
        return
    try:
        ok = terminate_session(ssm, entry.session_id)
    except SessiontuiError as e:
        report.kept.append((entry, e.message))
        return
    if ok:
        journal.remove(entry.session_id)
        report.terminated.append(entry)
    else:
        report.kept.append((entry, "TerminateSession was not accepted"))


def _constant(ssm: SSMClient | None) -> SsmFor:
    def ssm_for(_entry: JournalEntry) -> SSMClient | None:
        return ssm

    return ssm_for


def _active(ssm_for: SsmFor, entry: JournalEntry) -> bool | None:
    """True/False as DescribeSessions says; None when it cannot be asked."""
    try:
        ssm = ssm_for(entry)
        if ssm is None:
            return None
        found = describe_sessions(ssm, "Active", session_id=entry.session_id)
    except Exception:  # denied, unreachable, expired: we simply do not know
        return None
    return any(s.get("SessionId") == entry.session_id for s in found)


def _surely_over(entry: JournalEntry, clock: Clock) -> bool:
    try:
        started = datetime.fromisoformat(entry.started_at.replace("Z", "+00:00"))
    except ValueError:
        return False
    if started.tzinfo is None:
        started = started.replace(tzinfo=UTC)
    return clock.now() - started > LONGEST_SESSION


# -- clients for an entry -------------------------------------------------------------------------


class EntryClients:
    """ssm clients for journal entries: the role's cached credentials, or the base profile's.

    `factory_for(profile)` returns the ClientFactory of a profile (the runtime's own for its
    profile), so resolving base credentials happens once per profile.
    """

    def __init__(
        self,
        factory_for: Callable[[str | None], ClientFactory],
        cache: CredentialCache,
    ) -> None:
        self._factory_for = factory_for
        self._cache = cache

    def _client(self, factory: ClientFactory, entry: JournalEntry) -> SSMClient:
        from sessiontui.aws.clients import retry_config

        made = factory.core.create_client(
            "ssm",
            region_name=entry.region,
            endpoint_url=entry.endpoint_url or None,
            config=retry_config(),
        )
        return cast("SSMClient", made)

    def base(self, entry: JournalEntry) -> SSMClient | None:
        factory = self._factory_for(entry.profile)
        if not factory.has_credentials():
            return None
        return self._client(factory, entry)

    def able(self, entry: JournalEntry) -> SSMClient | None:
        """A client that may end the entry's session, or None when no credentials are left."""
        if not entry.role_arn:
            return self.base(entry)
        source = self._factory_for(entry.source_profile or entry.profile)
        key_id = ""
        with contextlib.suppress(Exception):
            found = source.session.get_credentials()
            key_id = str(found.access_key) if found is not None else ""
        if not key_id:
            return None
        creds = self._cache.get(entry.role_arn, entry.source_profile, key_id)
        if creds is None:
            return None
        return self._client(source.with_credentials(creds), entry)
