"""Messages workers post back to the UI thread. Workers never touch widgets directly."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from textual.message import Message

from sessiontui.core.node import Node

if TYPE_CHECKING:
    from sessiontui.aws.fleet_result import FleetResult
    from sessiontui.core.forwards import Forward


class NodesArrived(Message):
    """One page (or a merge update) of nodes from one region; rows are upserted by id."""

    def __init__(self, generation: int, region: str, nodes: list[Node]) -> None:
        super().__init__()
        self.generation = generation
        self.region = region
        self.nodes = nodes


class CachedRestLoaded(Message):
    """The whole cached fleet, read after the first frame showed its head."""

    def __init__(self, nodes: list[Node]) -> None:
        super().__init__()
        self.nodes = nodes


class RegionFailed(Message):
    def __init__(self, generation: int, region: str, message: str) -> None:
        super().__init__()
        self.generation = generation
        self.region = region
        self.message = message


class ListingFinished(Message):
    """The refresh worker is done; `result` is the FleetResult, or None when it crashed."""

    def __init__(
        self, generation: int, result: FleetResult | None, error: str | None = None
    ) -> None:
        super().__init__()
        self.generation = generation
        self.result = result
        self.error = error


class ForwardChanged(Message):
    """A forward moved on (starting, ready, connected, ended); `forward` is a snapshot."""

    def __init__(self, key: int, forward: Forward) -> None:
        super().__init__()
        self.key = key
        self.forward = forward


class ForwardFailed(Message):
    """A forward could not start (StartSession refused, port busy, plugin missing)."""

    def __init__(self, key: int, message: str) -> None:
        super().__init__()
        self.key = key
        self.message = message


class SessionsStopped(Message):
    """A worker finished ending sessions (quit, expiry, log out); `then` runs afterwards."""

    def __init__(self, count: int, why: str, then: Callable[[], None] | None = None) -> None:
        super().__init__()
        self.count = count
        self.why = why
        self.then = then
