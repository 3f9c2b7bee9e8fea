"""Which node a database's tunnel goes through, and why.

Candidates are the connectable nodes in the database's VPC that the access may open. They rank:
first the nodes whose security groups the database's security groups admit on its port (the
network already says they may reach it), then nodes carrying the configured bastion tag, then the
most recently used, then the rest of the VPC by name.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from sessiontui.core.databases import Database, Ingress
from sessiontui.core.node import Node

ADMITTED, TAGGED, RECENT, IN_VPC = range(4)


@dataclass(frozen=True, slots=True)
class NodeNetwork:
    """Where an EC2 node sits: its VPC and security groups (DescribeInstances)."""

    vpc_id: str
    security_groups: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class BastionChoice:
    node: Node
    tier: int
    reason: str


def _cidr_holds(cidr: str, ip: str) -> bool:
    try:
        return ipaddress.ip_address(ip) in ipaddress.ip_network(cidr, strict=False)
    except ValueError:
        return False


def admitted_by(
    db: Database, node: Node, net: NodeNetwork, rules: Mapping[str, Sequence[Ingress]]
) -> str:
    """The database's group that admits the node on its port ("" when none does)."""
    for group in db.security_groups:
        for rule in rules.get(group, ()):
            if not rule.covers(db.port):
                continue
            if set(rule.groups) & set(net.security_groups):
                return group
            if node.private_ip and any(_cidr_holds(c, node.private_ip) for c in rule.cidrs):
                return group
    return ""


def rank_bastions(
    db: Database,
    nodes: Sequence[Node],
    networks: Mapping[str, NodeNetwork],
    rules: Mapping[str, Sequence[Ingress]],
    *,
    bastion_tag: tuple[str, str] | None = None,
    recent: Sequence[str] = (),
    may_open: Callable[[Node], bool] = lambda _node: True,
) -> list[BastionChoice]:
    """The candidates, best first; empty when no connectable node the access opens is in the VPC."""
    order = {node_id: i for i, node_id in enumerate(recent)}
    out: list[tuple[tuple[int, int, str, str], BastionChoice]] = []
    for node in nodes:
        if not node.connectable or node.region != db.region:
            continue
        if db.account_id and node.account_id and node.account_id != db.account_id:
            continue
        net = networks.get(node.id)
        if net is None or (db.vpc_id and net.vpc_id != db.vpc_id):
            continue
        if not may_open(node):
            continue
        group = admitted_by(db, node, net, rules)
        tagged = bastion_tag is not None and node.tag(bastion_tag[0]) == bastion_tag[1]
        if group:
            tier, why = ADMITTED, f"security group {group} admits it on port {db.port}"
        elif tagged and bastion_tag is not None:
            tier, why = TAGGED, f"tagged {bastion_tag[0]}={bastion_tag[1]}"
        elif node.id in order:
            tier, why = RECENT, "used recently"
        else:
            tier, why = IN_VPC, f"in {db.vpc_id or 'the VPC'}; no rule is known to admit it"
        used = order.get(node.id, len(order))
        key = (tier, used, node.display_name.casefold(), node.id)
        out.append((key, BastionChoice(node, tier, why)))
    return [choice for _key, choice in sorted(out, key=lambda kv: kv[0])]
