"""One fleet across several accesses (one per account): each access lists what its credentials
see, regions in parallel as `aws.inventory.list_fleet` does, accesses in parallel too; each node
is stamped with the account it was listed in and keeps the access that may open it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sessiontui.core.node import Node

if TYPE_CHECKING:
    from sessiontui.aws.clients import ClientFactory
    from sessiontui.aws.fleet_result import FleetResult
    from sessiontui.core.access import Access


@dataclass(frozen=True)
class AccessFleet:
    access: Access
    factory: ClientFactory


def stamp(nodes: Sequence[Node], access: Access) -> list[Node]:
    """The account each node was listed in, named as the access names it."""
    account_id = access.account_id
    account_name = access.offer.account_name
    if not account_id and not account_name:
        return list(nodes)
    return [n.with_updates(account_id=account_id, account_name=account_name) for n in nodes]


def list_union(
    fleets: Sequence[AccessFleet],
    regions: list[str],
    *,
    on_nodes: Callable[[AccessFleet, str, list[Node]], None] | None = None,
    cancel: threading.Event | None = None,
) -> FleetResult:
    """The union of what every access sees; region errors name their access."""
    from sessiontui.aws.fleet_result import FleetResult, RegionError
    from sessiontui.aws.inventory import list_fleet

    union = FleetResult()
    lock = threading.Lock()
    seen: set[tuple[str, str]] = set()  # (account, node id): two roles in one account overlap

    def one(fleet: AccessFleet) -> None:
        def pages(region: str, nodes: list[Node]) -> None:
            if on_nodes is not None:
                on_nodes(fleet, region, stamp(nodes, fleet.access))

        result = list_fleet(
            fleet.factory,
            regions,
            on_nodes=pages if on_nodes is not None else None,
            cancel=cancel,
        )
        nodes = stamp(result.nodes, fleet.access)
        with lock:
            for node in nodes:
                key = (node.account_id, node.id)
                if key not in seen:
                    seen.add(key)
                    union.nodes.append(node)
            label = fleet.access.name if len(fleets) > 1 else ""
            for err in result.errors:
                region = f"{label} {err.region}".strip()
                union.errors.append(RegionError(region, err.message, err.auth))
            union.seconds = max(union.seconds, result.seconds)
            union.cancelled = union.cancelled or result.cancelled

    threads = [threading.Thread(target=one, args=(f,), daemon=True) for f in fleets[1:]]
    for thread in threads:
        thread.start()
    if fleets:
        one(fleets[0])
    for thread in threads:
        thread.join()
    return union


def access_for(node: Node, accesses: Sequence[Access]) -> tuple[Access | None, str | None]:
    """The access that may open `node` (its own account's), else the reason none may."""
    own = [a for a in accesses if not a.account_id or a.account_id == node.account_id]
    for access in own:
        if access.refuses(node) is None:
            return access, None
    if own:
        return None, own[0].refuses(node)
    names = ", ".join(a.name for a in accesses)
    return None, f"in account {node.account_label or '?'}, which none of the roles ({names}) is for"


def union_of(
    one: Callable[[ClientFactory, Callable[[list[Node]], list[Node]]], FleetResult],
    listings: Sequence[tuple[ClientFactory, Callable[[list[Node]], list[Node]]]],
) -> FleetResult:
    """Each (factory, stamp) listed by `one` in its own thread; one result of them all."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=len(listings)) as pool:
        return merged(list(pool.map(lambda pair: one(*pair), listings)))


def merged(results: Sequence[FleetResult]) -> FleetResult:
    """Several listings' results as one: nodes and errors kept, the longest time, any cancel."""
    from sessiontui.aws.fleet_result import FleetResult

    union = FleetResult()
    for result in results:
        union.nodes.extend(result.nodes)
        union.errors.extend(result.errors)
        union.seconds = max(union.seconds, result.seconds)
        union.cancelled = union.cancelled or result.cancelled
        if union.preferences is None:
            union.preferences = result.preferences
    return union
