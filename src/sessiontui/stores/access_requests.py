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
        # The details pane asks on every cursor step (four times: pending, approved, governed),
        # and the file changes only when a request does; it was read and parsed each time.
        # Kept with the file's identity, so a write by another process (--request-access) or by
        # this one (a new file, written and renamed) is read again.
        self._read: tuple[tuple[int, int, int], list[AccessRequest], list[list[str]]] | None = None

    def _parsed(self) -> tuple[list[AccessRequest], list[list[str]]]:
        """The file's requests and governed rows; what cannot be read is empty."""
        try:
            st = self.path.stat()
        except OSError:
            return [], []
        key = (st.st_ino, st.st_mtime_ns, st.st_size)
        read = self._read
        if read is not None and read[0] == key:
            return read[1], read[2]
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return [], []
        try:
            rows = [AccessRequest.from_json(r) for r in data.get("requests", [])]
        except (ValueError, KeyError, TypeError, IndexError, AttributeError):
            rows = []
        try:
            governed = [[str(r), str(i)] for r, i in data.get("governed", [])]
        except (ValueError, TypeError, AttributeError):
            governed = []
        self._read = (key, rows, governed)
        return rows, governed

    def load(self) -> list[AccessRequest]:
        """Newest first; a missing or damaged file is an empty list (it is only a memory)."""
        return list(self._parsed()[0])

    def save(
        self, requests: Iterable[AccessRequest], governed: list[list[str]] | None = None
    ) -> None:
        rows = list(requests)[:KEEP]
        kept = self._governed_rows() if governed is None else governed
        doc = {"requests": [r.to_json() for r in rows], "governed": kept[:KEEP_GOVERNED]}
        paths.write_private(self.path, json.dumps(doc, indent=1) + "\n")

    def _governed_rows(self) -> list[list[str]]:
        return [list(row) for row in self._parsed()[1]]

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
