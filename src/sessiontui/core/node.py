"""A managed node: what SSM and EC2 say about one machine, merged."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from operator import attrgetter
from typing import Any

EC2 = "EC2Instance"
HYBRID = "ManagedInstance"


@dataclass(frozen=True, slots=True)
class Node:
    id: str
    region: str
    name: str = ""
    ping_status: str = ""  # Online | ConnectionLost | Inactive | "" when SSM does not know it
    platform: str = ""  # PlatformType: Linux | Windows | MacOS
    platform_name: str = ""
    platform_version: str = ""
    resource_type: str = EC2
    tags: Mapping[str, str] = field(default_factory=dict)
    private_ip: str = ""
    agent_version: str = ""
    iam_role: str = ""
    state: str = ""  # EC2 state (running, stopped, ...); "" for hybrid nodes
    last_ping: str = ""  # ISO 8601
    managed: bool = True  # registered with SSM
    computer_name: str = ""
    account_id: str = ""  # the account the node was listed in ("" when not known)
    account_name: str = ""  # that account's name, from Identity Center's portal when known
    # a hybrid node whose tags this access may not read: why ("" when they were read or none)
    tags_unreadable: str = ""

    @property
    def account_label(self) -> str:
        return self.account_name or self.account_id

    def tag_cell(self, key: str) -> str:
        """A tag's value for a table: "?" where this access may not read the node's tags."""
        return self.tag(key) or ("?" if self.tags_unreadable else "-")

    @property
    def is_hybrid(self) -> bool:
        return self.resource_type == HYBRID or self.id.startswith("mi-")

    @property
    def why(self) -> str:
        """Why a session cannot start; "" when it can."""
        if not self.managed:
            return "not managed by SSM: no agent registered (check the agent and instance profile)"
        if self.state and self.state != "running":
            return f"instance is {self.state}"
        if self.ping_status != "Online":
            since = f" since {self.last_ping}" if self.last_ping else ""
            return f"agent {self.ping_status or 'unknown'}{since}"
        return ""

    @property
    def connectable(self) -> bool:
        return not self.why

    @property
    def display_name(self) -> str:
        return self.name or self.computer_name or self.id

    def tag(self, key: str) -> str:
        return self.tags.get(key, "")

    def with_updates(self, **changes: Any) -> Node:
        # dataclasses.replace goes through __init__ field by field (12 us); a refresh merges
        # every EC2 node on its first mention (fleet_rows.keep_known): 150 in each turn the UI
        # applies. A copy of the slots and the changes is a third of that, the same node.
        new = object.__new__(Node)
        for name, value in zip(_FIELDS, _values(self), strict=True):
            _set(new, name, value)
        for name, value in changes.items():
            _set(new, name, value)  # AttributeError for a name Node has no field for
        return new

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "ping_status": self.ping_status,
            "platform": self.platform,
            "platform_name": self.platform_name,
            "platform_version": self.platform_version,
            "resource_type": self.resource_type,
            "region": self.region,
            "tags": dict(self.tags),
            "private_ip": self.private_ip,
            "agent_version": self.agent_version,
            "iam_role": self.iam_role,
            "state": self.state,
            "last_ping": self.last_ping,
            "computer_name": self.computer_name,
            "managed": self.managed,
            "connectable": self.connectable,
            "why": self.why,
            "account_id": self.account_id,
            "account_name": self.account_name,
            "tags_unreadable": self.tags_unreadable or None,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Node:
        return cls(
            id=str(data["id"]),
            region=str(data.get("region", "")),
            name=str(data.get("name", "")),
            ping_status=str(data.get("ping_status", "")),
            platform=str(data.get("platform", "")),
            platform_name=str(data.get("platform_name", "")),
            resource_type=str(data.get("resource_type", EC2)),
            tags=dict(data.get("tags") or {}),
            private_ip=str(data.get("private_ip", "")),
            agent_version=str(data.get("agent_version", "")),
            iam_role=str(data.get("iam_role", "")),
            state=str(data.get("state", "")),
            last_ping=str(data.get("last_ping", "")),
            computer_name=str(data.get("computer_name", "")),
            platform_version=str(data.get("platform_version", "")),
            managed=bool(data["managed"]) if "managed" in data else bool(data.get("ping_status")),
            account_id=str(data.get("account_id", "")),
            account_name=str(data.get("account_name", "")),
            tags_unreadable=str(data.get("tags_unreadable") or ""),
        )


_FIELDS = tuple(f.name for f in fields(Node))
_values = attrgetter(*_FIELDS)
_set = object.__setattr__  # what a frozen dataclass's own __init__ sets its fields with


def sort_key(node: Node) -> tuple[str, str, str]:
    return (node.display_name.casefold(), node.region, node.id)


def unreadable_tags_note(nodes: Iterable[Node]) -> str:
    """One sentence for the operator when some nodes' tags could not be read, else ""."""
    why: dict[str, int] = {}
    for n in nodes:
        if n.tags_unreadable:
            why[n.tags_unreadable] = why.get(n.tags_unreadable, 0) + 1
    if not why:
        return ""
    count = sum(why.values())
    reasons = "; ".join(why)
    return (
        f"the tags of {count} hybrid (mi-) node{'s' if count != 1 else ''} are not readable "
        f"with this access ({reasons}): they show no tags and tag filters miss them"
    )
