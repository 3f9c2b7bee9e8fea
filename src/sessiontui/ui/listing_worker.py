"""One refresh of the fleet, run in the fleet screen's worker thread: every account held listed,
pages posted as they come, the end posted once. Blocking; it reports only by message."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from textual.message import Message

from sessiontui.core.errors import SessiontuiError
from sessiontui.core.node import Node
from sessiontui.operations.fleets import merged, union_of
from sessiontui.ui.messages import ListingFinished, NodesArrived, RegionFailed
from sessiontui.ui.services import AppServices

if TYPE_CHECKING:
    from sessiontui.aws.clients import ClientFactory
    from sessiontui.aws.fleet_result import FleetResult

Stamp = Callable[[list[Node]], list[Node]]


class ListingAbandoned(Exception):
    """Raised inside list_fleet's callback to stop a listing nobody waits for any more."""


def list_accounts(
    svc: AppServices,
    listings: list[tuple[ClientFactory, Stamp]],
    generation: int,
    wanted: Callable[[], bool],
    post: Callable[[Message], object],
    cancel: threading.Event,
    preferences_from: Any = None,
    first_page: int | None = None,
) -> None:
    """`listings` are (factory, stamp) per account; `wanted` says whether anyone still reads
    (the screen is open and no newer refresh replaced this one). With `preferences_from` (a
    factory among the listings), its account's Session Manager preferences come back in the
    result, read by the listing process. With `first_page` (nothing shown yet), each region's
    first page is that small, so rows are painted before the big pages are made."""

    def one(factory: ClientFactory, stamp: Stamp) -> FleetResult:
        def on_nodes(region: str, nodes: list[Node]) -> None:
            if not wanted():
                # nobody will read these pages: stop paging, so quitting does not wait on AWS
                raise ListingAbandoned(region)
            post(NodesArrived(generation, region, stamp(list(nodes))))

        def on_error(region: str, message: str) -> None:
            post(RegionFailed(generation, region, message))

        return svc.list_fleet(
            factory, svc.regions, on_nodes=on_nodes, on_error=on_error, cancel=cancel
        )

    def together() -> FleetResult:
        # every account held (one fleet across accounts) side by side in one listing process:
        # one boto3 import, one cap on the calls in flight, and no botocore model parsed here
        assert svc.list_fleets is not None
        stamps = [stamp for _, stamp in listings]
        factories = [factory for factory, _ in listings]

        def on_nodes(index: int, region: str, nodes: list[Node]) -> None:
            if not wanted():
                raise ListingAbandoned(region)
            post(NodesArrived(generation, region, stamps[index](list(nodes))))

        def on_error(index: int, region: str, message: str) -> None:
            post(RegionFailed(generation, region, message))

        asked = next((i for i, f in enumerate(factories) if f is preferences_from), None)
        results = svc.list_fleets(
            factories,
            svc.regions,
            on_nodes=on_nodes,
            on_error=on_error,
            cancel=cancel,
            preferences_of=asked if preferences_from is not None else None,
            first_page=first_page,
        )
        return merged(results)

    try:
        if svc.list_fleets is not None:
            result = together()
        elif len(listings) == 1:
            result = one(*listings[0])
        else:
            result = union_of(one, listings)
    except SessiontuiError as exc:
        post(ListingFinished(generation, None, " ".join(exc.lines())))
    except Exception as exc:  # a crash must still end the progress line and say why
        post(ListingFinished(generation, None, f"{type(exc).__name__}: {exc}"))
    else:
        post(ListingFinished(generation, result))
