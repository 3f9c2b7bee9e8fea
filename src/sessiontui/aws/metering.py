"""Count API calls by operation and split client-side time from time spent waiting on the wire."""

from __future__ import annotations

import threading
import time
from collections import Counter
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from botocore.client import BaseClient
    from botocore.model import OperationModel

C = TypeVar("C", bound="BaseClient")


class CallMeter:
    """Attach to clients; thread-safe. `wire_seconds` is time between sending and the response."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.wire_seconds = 0.0
        self._lock = threading.Lock()
        self._local = threading.local()

    def attach(self, client: C) -> C:
        events = client.meta.events
        if getattr(client, "_sessiontui_meter", None) is self:
            return client
        events.register("before-call.*.*", self._before_call)
        events.register("before-send.*.*", self._before_send)
        events.register("response-received.*.*", self._response_received)
        setattr(client, "_sessiontui_meter", self)  # noqa: B010 (BaseClient declares no such field)
        return client

    def _before_call(self, model: OperationModel | None = None, **_: object) -> None:
        if model is not None:
            with self._lock:
                self.calls[model.name] += 1

    def _before_send(self, **_: object) -> None:
        self._local.sent = time.perf_counter()

    def _response_received(self, **_: object) -> None:
        sent = getattr(self._local, "sent", None)
        if sent is not None:
            with self._lock:
                self.wire_seconds += time.perf_counter() - sent
            self._local.sent = None
