"""Access, whichever way the organisation grants it: one shape for the UI, the CLI and the supervisor.

An IAM role assumed with MFA, an Identity Center permission set, and a Session Manager
just-in-time access request all come down to the same few facts: a name the operator uses, temporary
credentials, the moment the access really ends and why, and what it may open (an account, a tag
scope, a list of nodes). Sources in `sessiontui.access` produce these; nothing else needs to know
which source an access came from.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from sessiontui.core.credentials import Credentials
from sessiontui.core.node import Node
from sessiontui.core.scope import out_of_scope_reason

# Why an access ends; `Access.ends_because` holds one of these or a more precise text.
ENDS_CREDENTIALS = "credentials"

# What the operator calls access from each source, for the words shared by every source
# (taken, expiring, expired); the kinds are the sources' `kind`.
NOUNS = {"iam-role": "role", "identity-center": "permission set", "node-access": "access request"}
GRANTS = ("node-access",)  # sources whose access is a grant that expires as a whole


def noun(offer: Offer) -> str:
    return NOUNS.get(offer.source, "access")


def label(offer: Offer) -> str:
    """ "role ProdOps", "access request oi-0123456789ab": what the access is, in two words."""
    return f"{noun(offer)} {offer.name}"


def opening_label(offer: Offer) -> str:
    """`label` to open a sentence: only its first letter raised, the name as configured
    ("Role StagingDev", where str.capitalize said "Role stagingdev")."""
    text = label(offer)
    return text[:1].upper() + text[1:]


def ended_text(access: Access) -> str:
    """Why the sessions under `access` ended at its end, for the operator and the audit log."""
    if access.source in GRANTS:
        return f"{label(access.offer)} expired"
    if access.ends_because == ENDS_CREDENTIALS:
        return f"the {noun(access.offer)}'s credentials expired"
    return f"the access {access.name} ended ({access.ends_because})"


@dataclass(frozen=True)
class Offer:
    """Something the operator can ask for: a role, a permission set, node access. No secrets."""

    name: str  # what --role takes: "ProdOps", "Production/ProductionAccess"
    source: str  # the source's kind, e.g. "iam-role"; for labels and the audit log
    detail: str = ""  # one line for the picker: an ARN, an account
    default_duration: int | None = None  # seconds; None where the source fixes it
    max_duration: int | None = None  # when known
    fixed_duration: bool = False  # the source decides (a permission set's session duration)
    account_id: str = ""
    account_name: str = ""
    scope: Mapping[str, str] = field(default_factory=dict)
    reason_required: bool = False
    needs: str = ""  # what obtaining it asks of the operator: "mfa", "sign-in" or ""


@dataclass(frozen=True)
class Access:
    """Access the operator holds now, and until when."""

    offer: Offer
    credentials: Credentials
    ends_at: (
        datetime | None
    )  # the real end: the sooner of the credentials' and what stands behind them
    ends_because: str = ENDS_CREDENTIALS
    duration: int | None = None  # what was asked for, so a renewal asks for the same
    # node ids this access may open; None means any node in its account and scope
    targets: frozenset[str] | None = None
    warning: str | None = None  # said once when the access is obtained (e.g. a chaining cap)

    @property
    def name(self) -> str:
        return self.offer.name

    @property
    def source(self) -> str:
        return self.offer.source

    @property
    def scope(self) -> Mapping[str, str]:
        return self.offer.scope

    @property
    def reason_required(self) -> bool:
        return self.offer.reason_required

    @property
    def account_id(self) -> str:
        return self.offer.account_id

    def remaining(self, now: datetime) -> float | None:
        """Seconds left, never negative; None for access that does not expire."""
        if self.ends_at is None:
            return None
        return max(0.0, (self.ends_at - now).total_seconds())

    def refuses(self, node: Node) -> str | None:
        """Why this access cannot open `node`, in words for the operator; None when it can."""
        if self.targets is not None and node.id not in self.targets:
            return "not among the nodes this access was granted for"
        node_account = getattr(node, "account_id", "") or ""
        if self.account_id and node_account and node_account != self.account_id:
            return f"in account {node_account}, not {self.account_id}"
        return out_of_scope_reason(node, self.scope) or None


def earliest_end(ends: Iterable[tuple[datetime | None, str]]) -> tuple[datetime | None, str]:
    """The first of several ends and its reason; (None, credentials) when nothing ends."""
    known = [(at, why) for at, why in ends if at is not None]
    if not known:
        return None, ENDS_CREDENTIALS
    return min(known, key=lambda end: end[0])
