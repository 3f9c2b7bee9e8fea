"""The last inventory per profile, role and region, so the TUI can show rows before AWS answers.

Two files per key: the whole fleet, and its first screenful in display order (the head). Start-up
paints the head at once and reads the whole file just after the first frame, so a 10,000-node
fleet costs the first frame nothing. Rows are lists in Node's field order: about half the size and
twice as fast to load as one object per node.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import time
from collections.abc import Sequence
from pathlib import Path
from sys import intern
from typing import Any

from sessiontui.core.node import Node, sort_key
from sessiontui.stores import paths

VERSION = 2
HEAD_ROWS = 200  # more than any terminal shows
FIELDS = tuple(f.name for f in dataclasses.fields(Node))
_TAGS = FIELDS.index("tags")
_MANAGED = FIELDS.index("managed")


def _key_digest(
    profile: str | None, role: str | None, regions: Sequence[str], endpoint: str | None
) -> str:
    key = json.dumps([profile or "", role or "", sorted(regions), endpoint or ""])
    return hashlib.sha256(key.encode()).hexdigest()[:24]


def node_row(node: Node) -> list[Any]:
    return [dict(node.tags) if name == "tags" else getattr(node, name) for name in FIELDS]


# Fields whose values repeat across a fleet (a region, a platform, an agent version, an account):
# each decoded row brought its own copy of each. Interned, 50,000 nodes share them, and the rows
# a refresh brings share them with the rows they replace. Names, ids, addresses stay unshared.
_SHARED = tuple(
    FIELDS.index(name)
    for name in (
        "region",
        "ping_status",
        "platform",
        "platform_name",
        "platform_version",
        "resource_type",
        "agent_version",
        "iam_role",
        "state",
        "account_id",
        "account_name",
    )
)
_SHARED_TAG_VALUE = 32  # tag values at most this long are interned too (project=, Role=)


def row_node(row: Any, *, checked: bool = True) -> Node:
    """A Node from its row; `checked=False` for rows our own listing child just wrote (the
    cache file is checked: it may be damaged or from an older version)."""
    if checked:
        _check_row(row)
    for i in _SHARED:
        row[i] = intern(row[i])
    tags = row[_TAGS]
    row[_TAGS] = {
        intern(k): intern(v) if len(v) <= _SHARED_TAG_VALUE else v for k, v in tags.items()
    }
    return Node(*row)


def _check_row(row: Any) -> None:
    if not isinstance(row, list) or len(row) != len(FIELDS):
        raise ValueError("bad row")
    for i, value in enumerate(row):
        ok = (
            isinstance(value, dict)
            if i == _TAGS
            else isinstance(value, bool)
            if i == _MANAGED
            else isinstance(value, str)
        )
        if not ok:
            raise ValueError(f"bad {FIELDS[i]}")
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in row[_TAGS].items()):
        raise ValueError("bad tags")


def _compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _encode(head: dict[str, Any], rows: list[list[Any]]) -> str:
    """One JSON object with a row a line. The TUI saves and loads from worker threads, and one
    json.dumps or json.loads of the whole fleet holds the GIL for its whole run: a frame of
    tens of milliseconds at 10,000 nodes. Row by row, the UI's thread gets its turns."""
    lines = [_compact(head)[:-1] + ',"rows":[']
    lines += [_compact(row) + "," for row in rows]
    if rows:
        lines[-1] = lines[-1][:-1]
    return "\n".join([*lines, "]}"])


def _decode(text: str) -> Any:
    """`_encode`'s layout row by row; any other JSON (an older file) in one go."""
    lines = text.split("\n")
    if len(lines) < 2 or not lines[0].endswith(',"rows":[') or lines[-1] != "]}":
        return json.loads(text)
    data = json.loads(lines[0][: -len(',"rows":[')] + "}")
    data["rows"] = [json.loads(line.removesuffix(",")) for line in lines[1:-1]]
    return data


class InventoryCache:
    def __init__(
        self,
        profile: str | None,
        role: str | None,
        regions: Sequence[str],
        endpoint: str | None = None,
    ) -> None:
        digest = _key_digest(profile, role, regions, endpoint)
        self.path = paths.inventory_dir() / f"{digest}.json"
        self.head_path = paths.inventory_dir() / f"{digest}.head.json"

    def _read(self, path: Path) -> tuple[list[Node], float, int] | None:
        try:
            data = _decode(path.read_text(encoding="utf-8"))
            if data.get("version") != VERSION or tuple(data.get("fields", ())) != FIELDS:
                return None
            nodes = [row_node(row) for row in data["rows"]]
            age = max(0.0, time.time() - float(data["saved_at"]))
            return nodes, age, int(data.get("total", len(nodes)))
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return None  # a missing, old or damaged file only costs the instant start

    def load(self) -> tuple[list[Node], float] | None:
        """(every node, age in seconds), or None when missing or unreadable."""
        found = self._read(self.path)
        return (found[0], found[1]) if found else None

    def load_head(self) -> tuple[list[Node], float, bool] | None:
        """(the first screenful in display order, age, whether that is the whole fleet)."""
        found = self._read(self.head_path)
        if found is None:
            return None
        nodes, age, total = found
        return nodes, age, total <= len(nodes)

    def save(self, nodes: Sequence[Node]) -> None:
        ordered = sorted(nodes, key=sort_key)
        saved_at = time.time()
        for path, rows in ((self.path, ordered), (self.head_path, ordered[:HEAD_ROWS])):
            head = {
                "version": VERSION,
                "saved_at": saved_at,
                "total": len(ordered),
                "fields": FIELDS,
            }
            paths.write_private(path, _encode(head, [node_row(n) for n in rows]))
