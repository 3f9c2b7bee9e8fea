"""The operator's Active sessions in the regions in view, and ending them.

Shared by `sessiontui --sessions/--terminate` (sessions_cmd.py) and the TUI's sessions panel (S).
Listing asks DescribeSessions (State Active) with the base identity, or with a role's cached
credentials where the base identity may not list; only sessions whose Owner is the operator
(core.active_sessions.owned_by) are kept. Ending one uses, in order, the owner role's cached
credentials (AWS lets a role end its own sessions), then the base identity. Nothing here asks
for an MFA code: a role without cached credentials is simply not used.
"""

from __future__ import annotations

import contextlib
import threading
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from sessiontui.core.active_sessions import ActiveSession, owned_by
from sessiontui.core.errors import SessiontuiError, UsageError

if TYPE_CHECKING:
    from datetime import datetime

    from sessiontui.aws.clients import ClientFactory
    from sessiontui.core.credentials import Credentials
    from sessiontui.core.roles import RoleSpec
    from sessiontui.runtime import Runtime


@dataclass(frozen=True)
class Ended:
    session: ActiveSession
    ok: bool
    error: str = ""


class OperatorSessions:
    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self._lock = threading.Lock()

    # -- who the operator is, and what can act for them ------------------------------------

    def _roles_with_credentials(self) -> list[tuple[RoleSpec, Credentials]]:
        roles = self.rt.config.roles
        out = []
        for spec in roles.values():
            with contextlib.suppress(Exception):
                creds = self.rt.identity.cached(spec)
                if creds is not None:
                    out.append((spec, creds))
        return out

    def _identity(self) -> tuple[str, str]:
        from sessiontui.aws.identity import session_name_for

        base = self.rt.identity.caller(None).arn
        return base, session_name_for(base)

    def _factories(self) -> list[ClientFactory]:
        found = [self.rt.factory] if self.rt.factory.has_credentials() else []
        found += [self.rt.factory.with_credentials(c) for _, c in self._roles_with_credentials()]
        # --role's accesses already held (Identity Center's too): their accounts' sessions
        book = self.rt.access_book
        for name in self.rt.roles:
            with contextlib.suppress(Exception):
                held = book.cached(book.find(name))
                if held is not None:
                    found.append(self.rt.factory_for(held))
        return found

    def _journal(self) -> dict[str, Any]:
        """The journal's entries by session id: sessions this machine's sessiontui started."""
        try:
            return {e.session_id: e for e in self.rt.journal.entries()}
        except Exception:  # an unreadable journal marks nothing
            return {}

    # -- listing ----------------------------------------------------------------------------

    def active(self) -> tuple[list[ActiveSession], list[str]]:
        """The operator's Active sessions, newest first, and one warning per region that failed."""
        from sessiontui.aws.sessions import describe_sessions

        base_arn, name = self._identity()
        factories = self._factories()
        ends = {
            spec.arn.rsplit("/", 1)[-1]: c.expiration for spec, c in self._roles_with_credentials()
        }
        journal = self._journal()
        sessions: list[ActiveSession] = []
        warnings: list[str] = []
        seen: set[str] = set()
        for region in self.rt.regions:
            error = "no credentials can list sessions"
            listed = False
            for factory in factories:
                try:
                    items = describe_sessions(factory.client("ssm", region), "Active")
                except SessiontuiError as e:
                    error = e.message
                    continue
                listed = True
                for item in items:
                    s = ActiveSession.from_aws(item, region)
                    entry = journal.get(s.session_id)
                    # a session in the journal is the operator's whichever account it is in
                    if s.session_id in seen or not (
                        entry is not None or owned_by(s.owner, base_arn, name)
                    ):
                        continue
                    seen.add(s.session_id)
                    left = entry.left_open if entry is not None else ""
                    sessions.append(replace(s, credentials_end=ends.get(s.role), left_open=left))
            if not listed:
                warnings.append(f"{region}: {error}")
        sessions.sort(key=lambda s: (s.started is None, s.started), reverse=True)
        return sessions, warnings

    # -- ending -----------------------------------------------------------------------------

    def _enders(self, session: ActiveSession) -> list[ClientFactory]:
        own = [
            self.rt.factory.with_credentials(c)
            for spec, c in self._roles_with_credentials()
            if spec.arn.rsplit("/", 1)[-1] == session.role
        ]
        base = [self.rt.factory] if self.rt.factory.has_credentials() else []
        return own + base

    def terminate(self, session: ActiveSession) -> Ended:
        from sessiontui.aws.sessions import terminate_session

        error = "no credentials can end it"
        for factory in self._enders(session):
            try:
                if terminate_session(factory.client("ssm", session.region), session.session_id):
                    with contextlib.suppress(OSError):  # a killed run's entry: nothing left to do
                        self.rt.journal.remove(session.session_id)
                    return Ended(session, True)
            except SessiontuiError as e:
                error = e.message
        return Ended(session, False, error)

    def terminate_ids(self, which: str) -> tuple[list[Ended], list[str]]:
        """`all`, or one session id of the operator's (exit 2 when it is not one)."""
        sessions, warnings = self.active()
        if which != "all":
            sessions = [s for s in sessions if s.session_id == which]
            if not sessions:
                raise UsageError(
                    f"no Active session {which} of yours in {', '.join(self.rt.regions)}",
                    "list them with `sessiontui --sessions`",
                )
        return [self.terminate(s) for s in sessions], warnings


def session_rows(sessions: list[ActiveSession], now: datetime) -> list[tuple[str, ...]]:
    """Target, document, reason, started, time left (and what ends it), region, id."""
    from sessiontui.core.session_end import describe_end

    rows: list[tuple[str, ...]] = []
    for s in sessions:
        started = s.started.astimezone().strftime("%Y-%m-%d %H:%M") if s.started else "-"
        rows.append(
            (
                s.target,
                s.document,
                s.reason or "-",
                started,
                describe_end(s.end(), now),
                s.region,
                s.role or "-",
                s.session_id,
                LEFT_OPEN_NOTE if s.left_open else "",
            )
        )
    return rows


# what the last column says of a session its own access may not end
LEFT_OPEN_NOTE = "left open: its access may not end it"
SESSION_COLUMNS = (
    "TARGET",
    "DOCUMENT",
    "REASON",
    "STARTED",
    "LEFT",
    "REGION",
    "ROLE",
    "SESSION",
    "NOTE",
)
