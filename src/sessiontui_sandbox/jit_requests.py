"""Just-in-time node access as the sandbox keeps it: access requests, the demo's approval
policies, and the nodes they govern. The API over it is `ssm_access`.

AWS evaluates a node's policies in a fixed order: deny-access, then auto-approval, then manual
approval; a node no policy covers cannot be requested at all. The demo's policies go by node tag
(AWS's auto-approval and deny-access policies are Cedar over the principal and the node's tags;
the sandbox keeps only the tag half):

- deny-access: `classification=restricted`. It wins over both other policies: a request that
  names such a node is refused outright (AWS would only refuse its auto-approval; the demo makes
  the deny visible, which is what an operator needs to learn about).
- auto-approval: `jit=auto`, approved at once for one hour (AWS fixes that hour).
- manual approval: `jit=manual`, Pending until the demo's approver acts (`POST /_sandbox/control`
  or `python -m sessiontui_sandbox approve oi-...`); access for MANUAL_HOURS once approved.

A node carrying `jit` or `classification=restricted` is governed: no role may start a session on
it directly, only the credentials of an approved request that names it.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

PENDING = "Pending"
APPROVED = "Approved"
REJECTED = "Rejected"
REVOKED = "Revoked"
EXPIRED = "Expired"
STATUSES = (PENDING, APPROVED, REJECTED, REVOKED, EXPIRED)

AUTO_APPROVED_HOURS = 1  # AWS: "The access duration for an access request that is automatically
# approved is 1 hour. This value can't be changed."
MANUAL_HOURS = 2  # the demo's manual policy; AWS allows 1 to 336
MAX_MANUAL_HOURS = 336
PENDING_HOURS = 24  # the sandbox's choice: a request nobody decides on lapses after a day

POLICY_TAG = "jit"
DENY_TAG = ("classification", "restricted")
AUTO = "auto"
MANUAL = "manual"
DENIED = "deny"

# What GetAccessToken allows: one call per request per this many seconds (real time, not the
# sandbox clock, so moving the clock in a test does not unthrottle anything).
TOKEN_POLL_SECONDS = 1.0

TOKEN_ROLE = "SSMJustInTimeNodeAccess"  # the role the access token's credentials act as


def policy_for(tags: dict[str, str]) -> str:
    """Which demo policy decides on a node with these tags: deny, auto, manual, or "" (none)."""
    if tags.get(DENY_TAG[0]) == DENY_TAG[1]:
        return DENIED
    value = tags.get(POLICY_TAG, "")
    return value if value in (AUTO, MANUAL) else ""


def is_governed(tags: dict[str, str]) -> bool:
    return policy_for(tags) != ""


@dataclass
class AccessRequest:
    request_id: str
    region: str
    account: str  # the caller's account: requests, like nodes, belong to one
    requester: str  # the caller's ARN
    requester_name: str  # its session name, which the token's sessions carry
    reason: str
    targets: list[dict[str, Any]]  # as sent: [{"Key", "Values"}]
    node_ids: tuple[str, ...]  # what the targets resolved to when the request was made
    tags: dict[str, str]
    created: datetime
    policy: str  # AUTO or MANUAL
    hours: int
    status: str = PENDING
    decided: datetime | None = None
    expires: datetime | None = None  # when the access (and the token's credentials) ends
    status_reason: str = ""  # why it was rejected or revoked, when the approver said
    key_id: str = ""  # the access token's AccessKeyId, once approved
    session_ids: list[str] = field(default_factory=list)  # sessions the token started
    last_token_call: float = 0.0  # time.monotonic() of the last GetAccessToken answered

    def to_json(self) -> dict[str, Any]:
        """The sandbox's own view (GET /_sandbox/access): never the token's secrets."""
        return {
            "access_request_id": self.request_id,
            "region": self.region,
            "account": self.account,
            "requester": self.requester,
            "reason": self.reason,
            "targets": self.targets,
            "node_ids": list(self.node_ids),
            "policy": self.policy,
            "status": self.status,
            "created": self.created.isoformat(),
            "expires": self.expires.isoformat() if self.expires else None,
            "status_reason": self.status_reason,
            "sessions": list(self.session_ids),
        }


class AccessBook:
    """Every access request the sandbox knows, and which issued key is whose token."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.requests: dict[str, AccessRequest] = {}
        self.by_key: dict[str, str] = {}  # token AccessKeyId -> request id

    def add(self, request: AccessRequest) -> None:
        with self.lock:
            self.requests[request.request_id] = request

    def get(self, request_id: str) -> AccessRequest | None:
        return self.requests.get(request_id)

    def for_key(self, access_key_id: str) -> AccessRequest | None:
        with self.lock:
            request_id = self.by_key.get(access_key_id)
            return self.requests.get(request_id) if request_id else None

    def refresh(self, request: AccessRequest, now: datetime) -> str:
        """The request's status now: Approved and Pending lapse into Expired with time."""
        with self.lock:
            if request.status == APPROVED and request.expires and now >= request.expires:
                request.status = EXPIRED
            elif request.status == PENDING and now >= request.created + timedelta(
                hours=PENDING_HOURS
            ):
                request.status = EXPIRED
                request.decided = request.created + timedelta(hours=PENDING_HOURS)
            return request.status

    def listing(self, now: datetime) -> list[dict[str, Any]]:
        with self.lock:
            rows = sorted(self.requests.values(), key=lambda r: r.created)
            for r in rows:
                self.refresh(r, now)
            return [r.to_json() for r in rows]


# -- the demo's governed nodes ----------------------------------------------------------------------

# (region, name, tags, os); EC2 unless the name is in HYBRID. Seeded after every other demo node,
# so the ids of the nodes before them do not move.
GOVERNED_NODES: tuple[tuple[str, str, dict[str, str], str], ...] = (
    ("us-east-1", "pay-api-01", {"project": "Payments", "Role": "web", POLICY_TAG: AUTO}, "amzn"),
    ("us-east-1", "pay-api-02", {"project": "Payments", "Role": "web", POLICY_TAG: AUTO}, "amzn"),
    (
        "us-east-1",
        "pay-ledger-01",
        {"project": "Payments", "Role": "db", POLICY_TAG: MANUAL},
        "rhel",
    ),
    (
        "us-east-1",
        "pay-vault-01",
        {"project": "Payments", "Role": "secrets", POLICY_TAG: AUTO, DENY_TAG[0]: DENY_TAG[1]},
        "amzn",
    ),
    (
        "us-east-1",
        "pay-hsm-gw-01",
        {"project": "Payments", "Role": "gateway", POLICY_TAG: MANUAL},
        "ubuntu",
    ),
    (
        "eu-west-1",
        "pay-eu-api-01",
        {"project": "Payments", "Role": "web", POLICY_TAG: AUTO},
        "amzn",
    ),
)
HYBRID = {"pay-hsm-gw-01"}
