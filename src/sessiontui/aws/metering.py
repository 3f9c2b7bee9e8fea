"""Count API calls by operation and split client-side time from time spent waiting on the wire."""

from __future__ import annotations

import threading
import time
from collections import Counter
from typing import Any


class CallMeter:
    """Attach to clients; thread-safe. `wire_seconds` is time between sending and the response."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.wire_seconds = 0.0
        self._lock = threading.Lock()
        self._local = threading.local()

    def attach(self, client: Any) -> Any:
        events = client.meta.events
        if getattr(client, "_sessiontui_meter", None) is self:
            return client
        events.register("before-call.*.*", self._before_call)
        events.register("before-send.*.*", self._before_send)
        events.register("response-received.*.*", self._response_received)
        client._sessiontui_meter = self
        return client

    def _before_call(self, model: Any = None, **_: Any) -> None:
        if model is not None:
            with self._lock:
                self.calls[model.name] += 1

    def _before_send(self, **_: Any) -> None:
        self._local.sent = time.perf_counter()

    def _response_received(self, **_: Any) -> None:
        sent = getattr(self._local, "sent", None)
        if sent is not None:
            with self._lock:
                self.wire_seconds += time.perf_counter() - sent
            self._local.sent = None
