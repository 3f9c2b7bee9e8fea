"""The operator's just-in-time access requests, kept in the private state folder (0600 in
0700) so the requests panel and `--connect` find them after a restart.

Only what the operator asked and what AWS answered is kept: ids, targets, reason, status, the
expiry. Never the access token's credentials: those are asked of GetAccessToken when needed.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime
from pathlib import Path

from sessiontui.core.access_request import APPROVED, PENDING, AccessRequest
from sessiontui.stores import paths

KEEP = 50  # the newest requests kept; older ones only clutter the panel
KEEP_GOVERNED = 500  # nodes StartSession said are governed by just-in-time access


class AccessStore:
    def __init__(self, path: Path | None = None) -> None:
        self.path = path if path is not None else paths.access_requests_file()
        self._lock = threading.Lock()

    def load(self) -> list[AccessRequest]:
        """Newest first; a missing or damaged file is an empty list (it is only a memory)."""
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            rows = [AccessRequest.from_json(r) for r in data.get("requests", [])]
        except (OSError, ValueError, KeyError, TypeError, IndexError):
            return []
        return rows

    def save(
        self, requests: Iterable[AccessRequest], governed: list[list[str]] | None = None
    ) -> None:
        rows = list(requests)[:KEEP]
        kept = self._governed_rows() if governed is None else governed
        doc = {"requests": [r.to_json() for r in rows], "governed": kept[:KEEP_GOVERNED]}
        paths.write_private(self.path, json.dumps(doc, indent=1) + "\n")

    def _governed_rows(self) -> list[list[str]]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            return [[str(r), str(i)] for r, i in data.get("governed", [])]
        except (OSError, ValueError, TypeError, AttributeError):
            return []

    def governed(self) -> set[tuple[str, str]]:
        """(region, node id) of every node StartSession refused as governed by just-in-time
        node access, as AWS said it: so a role whose scope excludes one, which is refused
        before StartSession is asked, can still offer the way in (a request)."""
        return {(r, i) for r, i in self._governed_rows()}

    def note_governed(self, region: str, node_id: str) -> None:
        with self._lock:
            rows = [row for row in self._governed_rows() if row != [region, node_id]]
            self.save(self.load(), [[region, node_id], *rows])

    def put(self, request: AccessRequest) -> AccessRequest:
        """Add or replace (by id), newest first."""
        with self._lock:
            rows = [r for r in self.load() if r.request_id != request.request_id]
            self.save([request, *rows])
        return request

    def get(self, request_id: str) -> AccessRequest | None:
        return next((r for r in self.load() if r.request_id == request_id), None)

    def add_session(self, request_id: str, session_id: str) -> None:
        with self._lock:
            rows = self.load()
            out = []
            for r in rows:
                if r.request_id == request_id and session_id not in r.sessions:
                    r = replace(r, sessions=(*r.sessions, session_id))
                out.append(r)
            self.save(out)

    def reusable(self, node_id: str, region: str, now: datetime) -> AccessRequest | None:
        """The approved request with the most time left that covers this node, if any."""
        rows = [r for r in self.load() if r.status == APPROVED and r.covers(node_id, region, now)]
        return max(rows, key=lambda r: r.seconds_left(now), default=None)

    def pending(self, node_id: str, region: str) -> AccessRequest | None:
        return next(
            (
                r
                for r in self.load()
                if r.status == PENDING and r.region == region and node_id in r.node_ids
            ),
            None,
        )
