"""The one node a quick path names (`--connect`, `--ssh-proxy`, `--request-access`).

It is asked for by id or tag in every account and region at once (aws.node_lookup): a handful of
filtered calls side by side instead of listing the whole fleet. Only when that brings no node the
target names exactly (a typo, a partial name, a hybrid node known only by its registration name,
a tag value in another case) is the fleet listed, as before, and resolved there: the candidates an
operator is shown for an unknown or ambiguous target are the same as ever.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from sessiontui.core.node import Node
from sessiontui.core.query import parse_query
from sessiontui.core.target import resolve_target

if TYPE_CHECKING:
    from sessiontui.aws.clients import ClientFactory
    from sessiontui.aws.fleet_result import FleetResult
    from sessiontui.aws.node_lookup import Lookup
    from sessiontui.core.access import Access
    from sessiontui.core.marks import Marks

Say = Callable[[str], None]
EC2_FILTER_VALUES = 200
Source = tuple["ClientFactory", "Access | None"]  # whose credentials ask, and who they are


def named(nodes: Sequence[Node], target: str) -> list[Node]:
    """The nodes `target` names exactly (core.target's id, Name and K=V)."""
    t = target.strip()
    exact = [n for n in nodes if n.id == t or n.name == t]
    if exact or "=" not in t:
        return exact
    return parse_query(t).filter(nodes)


def looked_up(
    sources: Sequence[Source], regions: list[str], lookup: Lookup, target: str
) -> FleetResult:
    """Every source's answer in one result, each node stamped with its access's account. Where
    an access has a scope, the nodes the target names get EC2's tags to be checked against."""
    from sessiontui.aws.fleet_result import RegionError
    from sessiontui.aws.inventory import describe_error
    from sessiontui.aws.node_lookup import lookup_fleet, with_ec2
    from sessiontui.operations.fleets import merged, stamp

    def one(source: Source) -> FleetResult:
        factory, access = source
        result = lookup_fleet(factory, regions, lookup)
        exact = named(result.nodes, target)
        # past EC2's 200 values a filter, the target is ambiguous whatever the tags say
        if access is not None and access.scope and len(exact) <= EC2_FILTER_VALUES:
            try:
                result.nodes = with_ec2(factory, exact)
            except Exception as exc:  # the scope check then says what it misses
                text, auth = describe_error(exc)
                result.errors.append(RegionError("EC2", f"tags unread: {text}", auth))
        if access is not None:
            result.nodes = stamp(result.nodes, access)
        return result

    if len(sources) == 1:
        return one(sources[0])
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=len(sources)) as pool:
        union = merged(list(pool.map(one, sources)))
    seen: set[tuple[str, str]] = set()  # two roles in one account see the same node
    nodes = []
    for node in union.nodes:
        if (node.account_id, node.id) not in seen:
            seen.add((node.account_id, node.id))
            nodes.append(node)
    union.nodes = nodes
    return union


def find_node(
    sources: Sequence[Source],
    regions: list[str],
    target: str,
    *,
    listing: Callable[[], FleetResult],
    say: Say,
    marks: Marks | None = None,
    list_command: str = "sessiontui --list",
) -> Node:
    """The node `target` names, from AWS's answer of this moment; TargetError (exit 2, with
    candidates) when none or several are."""
    from sessiontui.aws.inventory import raise_if_failed
    from sessiontui.aws.node_lookup import lookup_for

    lookup = lookup_for(target)
    if lookup is not None:
        found = looked_up(sources, regions, lookup, target)
        exact = named(found.nodes, target)
        if exact:
            for err in found.errors:
                say(f"warning: {err.region}: {err.message}")
            return resolve_target(exact, target, marks, list_command)
    result = listing()
    raise_if_failed(result)
    for err in result.errors:
        say(f"warning: {err.region}: {err.message}")
    return resolve_target(result.nodes, target, marks, list_command)
