"""The operator's marks on nodes: favourites (`*` in the TUI) and recently used targets.

Pure data: the private file that keeps them between runs is `marks_store.py`'s. Nodes are known
by id, which stays the same across renames and regions. Both the filter terms `is:fav` /
`is:recent` and the candidate list of an ambiguous `--connect` read them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

RECENT_MAX = 20  # enough to remember a working week's targets, short enough to mean "recent"

T = TypeVar("T")


@dataclass
class Marks:
    favourites: set[str] = field(default_factory=set)
    recent: list[str] = field(default_factory=list)  # node ids, most recent first

    def is_favourite(self, node_id: str) -> bool:
        return node_id in self.favourites

    def is_recent(self, node_id: str) -> bool:
        return node_id in self.recent

    def toggle_favourite(self, node_id: str) -> bool:
        """Mark or unmark; True when the node is a favourite now."""
        if node_id in self.favourites:
            self.favourites.discard(node_id)
            return False
        self.favourites.add(node_id)
        return True

    def set_favourite(self, node_id: str, on: bool) -> None:
        if on:
            self.favourites.add(node_id)
        else:
            self.favourites.discard(node_id)

    def touch(self, node_id: str) -> None:
        """A shell or forward was opened on this node: it becomes the most recent."""
        self.recent = [node_id, *(i for i in self.recent if i != node_id)][:RECENT_MAX]

    def replace_with(self, other: Marks) -> None:
        """Take another's contents in place (filters hold on to this object)."""
        self.favourites = set(other.favourites)
        self.recent = list(other.recent)

    def rank(self, node_id: str) -> tuple[int, int]:
        """Sort key: favourites first, then recent ones by recency, then the rest."""
        if node_id in self.favourites:
            return (0, self._recency(node_id))
        if node_id in self.recent:
            return (1, self._recency(node_id))
        return (2, 0)

    def _recency(self, node_id: str) -> int:
        try:
            return self.recent.index(node_id)
        except ValueError:
            return len(self.recent)

    def first(self, items: Sequence[T], node_id_of: Callable[[T], str]) -> list[T]:
        """`items` with marked nodes first; otherwise in their own order (a stable sort)."""
        return sorted(items, key=lambda item: self.rank(node_id_of(item)))

    def label(self, node_id: str) -> str:
        if node_id in self.favourites:
            return "favourite"
        return "recent" if node_id in self.recent else ""

    def to_json(self) -> dict[str, Any]:
        return {"version": 1, "favourites": sorted(self.favourites), "recent": list(self.recent)}

    @classmethod
    def from_json(cls, data: object) -> Marks:
        """What a file holds; anything unreadable counts as no marks (never an error)."""
        if not isinstance(data, dict) or data.get("version") != 1:
            return cls()
        favourites = _ids(data.get("favourites"))
        recent = list(dict.fromkeys(_ids(data.get("recent"))))[:RECENT_MAX]
        return cls(set(favourites), recent)


def _ids(value: object) -> Iterable[str]:
    if not isinstance(value, list):
        return []
    return [v for v in value if isinstance(v, str) and v]
