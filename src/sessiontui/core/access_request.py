"""Just-in-time node access, the pure part: an access request as the operator keeps it, the
limits AWS sets on a request, and how fast GetAccessToken may be polled.

Session Manager's just-in-time node access: StartAccessRequest(Reason, Targets) files a request
(`oi-` and twelve hex digits); a policy approves it at once (auto-approval, one hour) or an
approver does (1 to 336 hours); GetAccessToken then answers the request's status, and once it is
Approved temporary credentials that may start sessions on the request's nodes until they expire.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sessiontui.core.errors import AuthError, UsageError

PENDING = "Pending"
APPROVED = "Approved"
REJECTED = "Rejected"
REVOKED = "Revoked"
EXPIRED = "Expired"
FINAL = (REJECTED, REVOKED, EXPIRED)

MAX_REASON = 256
MAX_TARGETS = 5
REQUEST_ID = re.compile(r"^oi-[0-9a-f]{12}$")

# GetAccessToken polling: the first poll at once (auto-approval decides within the call), then
# every FIRST_WAIT seconds growing by GROWTH up to MAX_WAIT; a ThrottlingException at least
# doubles the wait and never waits less than THROTTLED_WAIT.
FIRST_WAIT = 2.0
GROWTH = 1.5
MAX_WAIT = 15.0
THROTTLED_WAIT = 5.0

GOVERNED_MARK = "just-in-time node access"  # in StartSession's AccessDeniedException message


class GovernedNodeError(AuthError):
    """StartSession refused because the node is governed by just-in-time node access: the
    operator needs an approved access request, not another role."""

    def __init__(self, message: str, target: str = "") -> None:
        super().__init__(
            message,
            f"request access: sessiontui --request-access {target or 'NODE'} --reason TEXT "
            "(in the TUI: `a`)",
        )
        self.target = target


def check_reason(reason: str | None) -> str:
    """The reason as AWS takes it: 1 to 256 characters after trimming."""
    text = (reason or "").strip()
    if not text:
        raise UsageError(
            "a reason is required for a just-in-time access request", "pass --reason TEXT"
        )
    if len(text) > MAX_REASON:
        raise UsageError(
            f"the reason is {len(text)} characters long; AWS takes at most {MAX_REASON}"
        )
    return text


def check_target_count(n: int) -> None:
    if n < 1:
        raise UsageError("an access request needs at least one target")
    if n > MAX_TARGETS:
        raise UsageError(f"an access request takes at most {MAX_TARGETS} targets, not {n}")


def next_wait(previous: float | None, throttled: bool = False) -> float:
    """Seconds until the next GetAccessToken; `previous` None before the second poll."""
    if throttled:
        return max(THROTTLED_WAIT, 2 * (previous or FIRST_WAIT))
    if previous is None:
        return FIRST_WAIT
    return min(MAX_WAIT, previous * GROWTH)


@dataclass(frozen=True)
class Target:
    """What a request names: node ids (InstanceIds) or one tag (tag:KEY = VALUE)."""

    node_ids: tuple[str, ...] = ()
    tag: tuple[str, str] | None = None

    def to_aws(self) -> list[dict[str, Any]]:
        if self.tag is not None:
            return [{"Key": f"tag:{self.tag[0]}", "Values": [self.tag[1]]}]
        return [{"Key": "InstanceIds", "Values": list(self.node_ids)}]

    def describe(self) -> str:
        return f"{self.tag[0]}={self.tag[1]}" if self.tag else ", ".join(self.node_ids)


@dataclass(frozen=True)
class AccessRequest:
    """One of the operator's requests, as kept in the state folder (no secrets: the token's
    credentials are asked of GetAccessToken whenever they are needed)."""

    request_id: str
    region: str
    reason: str
    node_ids: tuple[str, ...]  # the nodes asked for (a tag target: the ones it matched here)
    names: tuple[str, ...] = ()  # their display names, for the panel
    tag: tuple[str, str] | None = None
    status: str = PENDING
    created_at: datetime | None = None
    expires_at: datetime | None = None  # the token's ExpirationTime, once approved
    account_id: str = ""
    sessions: tuple[str, ...] = field(default_factory=tuple)

    def with_status(self, status: str, expires_at: datetime | None = None) -> AccessRequest:
        return replace(self, status=status, expires_at=expires_at or self.expires_at)

    def seconds_left(self, now: datetime) -> float:
        if self.status != APPROVED or self.expires_at is None:
            return 0.0
        return max(0.0, (self.expires_at - now).total_seconds())

    def live_status(self, now: datetime) -> str:
        """Approved turns Expired by itself at ExpirationTime, without asking AWS."""
        if self.status == APPROVED and self.seconds_left(now) <= 0:
            return EXPIRED
        return self.status

    def covers(self, node_id: str, region: str, now: datetime) -> bool:
        return region == self.region and node_id in self.node_ids and self.seconds_left(now) > 0

    def targets_text(self) -> str:
        if self.tag:
            return f"{self.tag[0]}={self.tag[1]}"
        return ", ".join(self.names or self.node_ids)

    def to_json(self) -> dict[str, Any]:
        return {
            "access_request_id": self.request_id,
            "region": self.region,
            "reason": self.reason,
            "node_ids": list(self.node_ids),
            "names": list(self.names),
            "tag": list(self.tag) if self.tag else None,
            "status": self.status,
            "created_at": _iso(self.created_at),
            "expires_at": _iso(self.expires_at),
            "account_id": self.account_id,
            "sessions": list(self.sessions),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> AccessRequest:
        tag = data.get("tag")
        return cls(
            request_id=str(data["access_request_id"]),
            region=str(data["region"]),
            reason=str(data.get("reason", "")),
            node_ids=tuple(str(x) for x in data.get("node_ids") or ()),
            names=tuple(str(x) for x in data.get("names") or ()),
            tag=(str(tag[0]), str(tag[1])) if tag else None,
            status=str(data.get("status", PENDING)),
            created_at=_parse(data.get("created_at")),
            expires_at=_parse(data.get("expires_at")),
            account_id=str(data.get("account_id", "")),
            sessions=tuple(str(x) for x in data.get("sessions") or ()),
        )


def _iso(when: datetime | None) -> str | None:
    return when.isoformat() if when else None


def _parse(text: object) -> datetime | None:
    return datetime.fromisoformat(str(text)) if text else None
