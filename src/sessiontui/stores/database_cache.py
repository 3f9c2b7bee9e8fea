"""The last database discovery per identity, regions and endpoint, with its age, so the databases
panel shows rows before AWS answers and refreshes them behind; and the local port each database
was last forwarded on, so its client's address stays the same from one run to the next.

Only what Describe* calls said (names, endpoints, groups, the ARN of a managed secret): never a
password or a token. Files are 0600 in a 0700 directory all the same: endpoints map a network.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Sequence

from sessiontui.core.databases import Database
from sessiontui.stores import paths

VERSION = 1


def _digest(key: Sequence[str]) -> str:
    return hashlib.sha256(json.dumps(list(key)).encode()).hexdigest()[:24]


class DatabaseCache:
    def __init__(self, key: Sequence[str]) -> None:
        """`key`: what the discovery was made for (identities, regions, endpoint URL)."""
        self.path = paths.databases_dir() / f"{_digest(key)}.json"
        self.ports_path = paths.databases_dir() / "ports.json"

    def load(self) -> tuple[list[Database], float] | None:
        """(the databases, age in seconds), or None when missing, old or damaged."""
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            if data.get("version") != VERSION:
                return None
            found = [Database.from_json(d) for d in data["databases"]]
            return found, max(0.0, time.time() - float(data["saved_at"]))
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return None  # a missing or damaged file only costs the instant rows

    def save(self, databases: Sequence[Database]) -> None:
        body = {
            "version": VERSION,
            "saved_at": time.time(),
            "databases": [d.to_json() for d in databases],
        }
        paths.write_private(self.path, json.dumps(body))

    def ports(self) -> dict[str, int]:
        """Database key (Database.key) -> the local port its last forward had."""
        try:
            data = json.loads(self.ports_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        if not isinstance(data, dict):
            return {}
        return {str(k): int(v) for k, v in data.items() if isinstance(v, int) and 0 < v < 65536}

    def remember_port(self, key: str, port: int) -> None:
        with paths.private_lock(paths.databases_dir(), ".ports.lock"):
            ports = self.ports()
            if ports.get(key) == port:
                return
            ports[key] = port
            paths.write_private(self.ports_path, json.dumps(ports, sort_keys=True))
