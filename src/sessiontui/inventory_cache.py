"""The last inventory per profile, role and region, so the TUI can show rows before AWS answers."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Sequence
from pathlib import Path

from sessiontui import paths
from sessiontui.core.node import Node

VERSION = 1


def _key_path(
    profile: str | None, role: str | None, regions: Sequence[str], endpoint: str | None
) -> Path:
    key = json.dumps([profile or "", role or "", sorted(regions), endpoint or ""])
    digest = hashlib.sha256(key.encode()).hexdigest()[:24]
    return paths.inventory_dir() / f"{digest}.json"


class InventoryCache:
    def __init__(
        self,
        profile: str | None,
        role: str | None,
        regions: Sequence[str],
        endpoint: str | None = None,
    ) -> None:
        self.path = _key_path(profile, role, regions, endpoint)

    def load(self) -> tuple[list[Node], float] | None:
        """(nodes, age in seconds), or None when missing or unreadable (a bad file is ignored)."""
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            if data.get("version") != VERSION:
                return None
            nodes = [Node.from_json(n) for n in data["nodes"]]
            return nodes, max(0.0, time.time() - float(data["saved_at"]))
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def save(self, nodes: Sequence[Node]) -> None:
        payload = {
            "version": VERSION,
            "saved_at": time.time(),
            "nodes": [n.to_json() for n in nodes],
        }
        paths.write_private(self.path, json.dumps(payload, separators=(",", ":")))
