"""The operator's open sessions, as DescribeSessions reports them: pure model and ownership.

Whose session it is comes from its Owner (the ARN that called StartSession): the operator's base
identity, or any role the operator assumed, which sessiontui always assumes with a RoleSessionName
taken from the base identity (aws.identity.session_name_for), so
`arn:aws:sts::ACCOUNT:assumed-role/ROLE/<that name>` is the operator whichever role it was.
Sessions started elsewhere (another terminal, the AWS CLI with the same identity) are included.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sessiontui.core.session_end import SessionEnd, SessionLimits, session_end


def _account(arn: str) -> str:
    parts = arn.split(":")
    return parts[4] if len(parts) > 4 else ""


def owned_by(owner: str, base_arn: str, session_name: str) -> bool:
    """Whether a session's Owner is the operator (base identity or one of their roles)."""
    if not owner:
        return False
    if owner == base_arn:
        return True
    if ":assumed-role/" not in owner or _account(owner) != _account(base_arn):
        # roles in another account of the same operator would need that account's view
        return False
    return owner.rsplit("/", 1)[-1] == session_name


def role_of(owner: str) -> str:
    """`ProdOps` for an assumed-role owner; "" for a user."""
    if ":assumed-role/" not in owner:
        return ""
    parts = owner.split(":assumed-role/", 1)[1].split("/")
    return parts[0] if parts else ""


@dataclass(frozen=True)
class ActiveSession:
    session_id: str
    target: str
    region: str
    status: str
    document: str
    owner: str
    reason: str = ""
    started: datetime | None = None
    max_minutes: int | None = None
    credentials_end: datetime | None = None  # the owner role's cached credentials, when known
    # why the access that opened it may not end it (the journal keeps such sessions), or ""
    left_open: str = ""

    @classmethod
    def from_aws(cls, item: Mapping[str, object], region: str) -> ActiveSession:
        started = item.get("StartDate")
        if isinstance(started, (int, float)):
            started = datetime.fromtimestamp(started, UTC)
        if isinstance(started, datetime) and started.tzinfo is None:
            started = started.replace(tzinfo=UTC)
        try:
            max_minutes: int | None = int(str(item.get("MaxSessionDuration", "")).strip())
        except ValueError:
            max_minutes = None
        return cls(
            session_id=str(item.get("SessionId", "")),
            target=str(item.get("Target", "")),
            region=region,
            status=str(item.get("Status", "")),
            document=str(item.get("DocumentName", "") or "SSM-SessionManagerRunShell"),
            owner=str(item.get("Owner", "")),
            reason=str(item.get("Reason", "") or ""),
            started=started if isinstance(started, datetime) else None,
            max_minutes=max_minutes if max_minutes and max_minutes > 0 else None,
        )

    @property
    def role(self) -> str:
        return role_of(self.owner)

    def end(self) -> SessionEnd | None:
        return session_end(
            credentials_end=self.credentials_end,
            started_at=self.started,
            limits=SessionLimits(max_minutes=self.max_minutes),
            idle=False,  # traffic is not visible from DescribeSessions
        )

    def to_json(self, now: datetime) -> dict[str, Any]:
        end = self.end()
        return {
            "session_id": self.session_id,
            "target": self.target,
            "region": self.region,
            "status": self.status,
            "document": self.document,
            "owner": self.owner,
            "role": self.role or None,
            "reason": self.reason or None,
            "started": _iso(self.started),
            "ends_at": _iso(end.at) if end else None,
            "ends_because": end.because if end else None,
            "seconds_left": round(end.remaining(now)) if end else None,
            "left_open": self.left_open or None,
        }


def _iso(when: datetime | None) -> str | None:
    if when is None:
        return None
    aware = when if when.tzinfo else when.replace(tzinfo=UTC)
    return aware.astimezone(UTC).isoformat().replace("+00:00", "Z")
