"""The fleet as the node list shows it: rows in display order, filtered by a query and a role's
scope, updated in place while listings stream in. Pure: the widget only draws it.

Built for 10,000+ rows: a row is a `Node` plus a precomputed lowercase haystack and sort key, the
filter is a list of row indexes, and the display order is sorted only when a key changed. A
refresh's page that changes rows in place (their sort keys kept, as most of a known fleet's are)
is filed row by row, not with a pass over the whole fleet.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Mapping
from dataclasses import fields
from operator import attrgetter

from sessiontui.core.marks import Marks
from sessiontui.core.node import Node, sort_key
from sessiontui.core.query import Query, haystack, parse_query
from sessiontui.core.scope import out_of_scope_reason


def keep_known(old: Node, new: Node) -> Node:
    """`new` as a listing first mentions it, with what a later call of the same listing will
    bring kept from `old` meanwhile (later mentions are taken as they come): an EC2 node's name, tags and state (DescribeInstances), a
    hybrid node's tags (ListTagsForResource). Without this the rows lost their names for the
    seconds between the two calls, and the list re-sorted and reshuffled twice per refresh."""
    if new.is_hybrid:
        if new.tags or not old.tags:
            return new
        return new.with_updates(tags=old.tags, name=old.tags.get("Name", new.name))
    if new.state or not old.state or not new.managed:
        return new
    return new.with_updates(name=new.name or old.name, tags=old.tags, state=old.state)


_ALL_BUT_PING = attrgetter(*(f.name for f in fields(Node) if f.name != "last_ping"))


def unseen_change(old: Node, new: Node) -> bool:
    """Only the last ping moved, and the row does not show it (an Online node's `why` is empty;
    a lost one's quotes it, so that row is drawn again)."""
    return (
        old.last_ping != new.last_ping
        and _ALL_BUT_PING(old) == _ALL_BUT_PING(new)
        and old.why == new.why
    )


class FleetRows:
    def __init__(self) -> None:
        self.nodes: list[Node] = []
        self.version: list[int] = []  # bumped when a row's content changes: a cache key
        self.stale: list[bool] = []  # from the cached inventory, not yet seen by a listing
        self.scope_reason: list[str] = []  # why a row is outside the role's scope, or ""
        self.visible: list[int] = []  # row indexes that pass scope and query, in display order
        self.marks = Marks()  # favourites and recent targets: is:fav / is:recent, the ★
        self.marked: list[str] = []  # node ids marked (space) as targets, in the order marked
        self.query: Query = parse_query("")
        self.scope: Mapping[str, str] | None = None
        self.show_out_of_scope = False
        self._hay: list[str] = []
        self._outside = 0  # how many scope reasons are non-empty: the title reads it every page
        self.upserted: list[Node] = []  # what the last upsert added or changed (see upsert)
        self._keys: list[tuple[str, str, str]] = []
        self._pos: dict[str, int] = {}
        self._seen: set[str] | None = None
        self._order: list[int] = []
        self._order_dirty = False
        # rows appended or given a new sort key since the order was made (None: sort them all)
        self._moved: set[int] | None = None

    # ---- reading ----------------------------------------------------------------------------

    def row_of(self, node_id: str) -> int | None:
        return self._pos.get(node_id)

    def node(self, node_id: str) -> Node | None:
        i = self._pos.get(node_id)
        return None if i is None else self.nodes[i]

    def visible_nodes(self) -> list[Node]:
        return [self.nodes[i] for i in self.visible]

    def marked_nodes(self) -> list[Node]:
        """The marked nodes still listed, filtered out or not, in the order marked."""
        return [n for n in (self.node(i) for i in self.marked) if n is not None]

    def toggle_marked(self, node_id: str) -> bool:
        """Mark or unmark a node; True when it is now marked."""
        if node_id in self.marked:
            self.marked.remove(node_id)
            return False
        self.marked.append(node_id)
        return True

    @property
    def hidden_out_of_scope(self) -> int:
        return 0 if self.show_out_of_scope else self._outside

    @property
    def seen_count(self) -> int:
        return len(self._seen) if self._seen is not None else 0

    # ---- changing ---------------------------------------------------------------------------

    def replace(self, nodes: Iterable[Node], *, stale: bool = False) -> None:
        """Every row anew (the cached inventory at start, or a test's fleet)."""
        self.nodes, self._hay, self._keys = [], [], []
        self.version, self.stale, self.scope_reason = [], [], []
        self._pos, self._outside = {}, 0
        for node in nodes:
            self._append(node, stale)
        self._order_dirty, self._moved = True, None
        self.refilter()

    def _append(self, node: Node, stale: bool) -> None:
        self._pos[node.id] = len(self.nodes)
        self.nodes.append(node)
        self._hay.append(haystack(node))
        self._keys.append(sort_key(node))
        self.version.append(0)
        self.stale.append(stale)
        reason = out_of_scope_reason(node, self.scope)
        self.scope_reason.append(reason)
        self._outside += bool(reason)

    def upsert(self, nodes: Iterable[Node]) -> int:
        """Add new rows and update known ones in place; how many rows changed (0: no refilter).
        `upserted` is then the nodes added or changed in what their rows show."""
        changed = 0
        upserted: list[Node] = []
        self.upserted = upserted
        in_place: list[int] = []  # rows changed without a new sort key: filed one by one
        seen = self._seen
        for node in nodes:
            first = seen is not None and node.id not in seen  # this listing's first word on it
            if seen is not None:
                seen.add(node.id)
            i = self._pos.get(node.id)
            if i is None:
                self._moved_row(len(self.nodes))
                self._append(node, False)
                upserted.append(node)
                changed += 1
                continue
            was_stale = self.stale[i]
            self.stale[i] = False
            if first:
                node = keep_known(self.nodes[i], node)
            if self.nodes[i] == node:
                if was_stale:
                    self.version[i] += 1
                    changed += 1
                continue
            if unseen_change(self.nodes[i], node):
                # a new LastPingDateTime on every node at every refresh, which no row shows:
                # kept, and the row's rendered line stays good (no repaint of every row)
                self.nodes[i] = node
                if was_stale:
                    self.version[i] += 1
                    changed += 1
                continue
            key = sort_key(node)
            if key != self._keys[i]:
                self._keys[i] = key
                self._moved_row(i)
            else:
                in_place.append(i)
            self.nodes[i] = node
            self._hay[i] = haystack(node)
            reason = out_of_scope_reason(node, self.scope)
            self._outside += bool(reason) - bool(self.scope_reason[i])
            self.scope_reason[i] = reason
            self.version[i] += 1
            upserted.append(node)
            changed += 1
        if self._order_dirty:
            self.refilter()  # new rows or new sort keys: the order is made again
        elif in_place:
            self._refile(in_place)
        # (rows only no longer stale keep their place in the order and in the filter)
        return changed

    def begin_listing(self) -> None:
        """A refresh starts: remember which ids it mentions, to drop the rest at the end."""
        self._seen = set()

    def end_listing(self, complete_regions: Iterable[str]) -> int:
        """Rows of fully listed regions that the refresh never mentioned are gone from AWS; how
        many went (row indexes moved when any did)."""
        seen = self._seen or set()
        self._seen = None
        done = set(complete_regions)
        keep = [i for i, n in enumerate(self.nodes) if n.id in seen or n.region not in done]
        dropped = len(self.nodes) - len(keep)
        if dropped:
            self.nodes = [self.nodes[i] for i in keep]
            self._hay = [self._hay[i] for i in keep]
            self._keys = [self._keys[i] for i in keep]
            self.version = [self.version[i] for i in keep]
            self.stale = [self.stale[i] for i in keep]
            self.scope_reason = [self.scope_reason[i] for i in keep]
            self._outside = sum(1 for r in self.scope_reason if r)
            self._pos = {n.id: i for i, n in enumerate(self.nodes)}
            self._order_dirty, self._moved = True, None  # the rows' indexes moved
            self.refilter()
        return dropped

    def set_query(self, query: Query | str) -> None:
        old = self.query
        self.query = parse_query(query, marks=self.marks) if isinstance(query, str) else query
        if _narrows(old, self.query):
            # a key typed onto the filter's words: only the rows shown can still match. At
            # 50,000 rows the whole pass was 5 ms of each key; the shown rows shrink fast
            self.visible = _with_words(self.visible, self.query.words, self._hay)
        else:
            self.refilter()

    def set_scope(self, scope: Mapping[str, str] | None) -> None:
        self.scope = dict(scope) if scope else None
        self.scope_reason = [out_of_scope_reason(n, self.scope) for n in self.nodes]
        self._outside = sum(1 for r in self.scope_reason if r)
        self.refilter()

    def set_show_out_of_scope(self, value: bool) -> bool:
        """Whether anything changed."""
        if value == self.show_out_of_scope:
            return False
        self.show_out_of_scope = value
        self.refilter()
        return True

    def _moved_row(self, i: int) -> None:
        self._order_dirty = True
        if self._moved is not None:
            self._moved.add(i)

    def refilter(self) -> None:
        if self._order_dirty:
            key = self._keys.__getitem__
            moved = self._moved
            if moved is None or len(moved) * 8 > len(self.nodes):
                self._order = sorted(range(len(self.nodes)), key=key)
            else:
                # a page of a refresh renames or adds a few hundred rows: sorting all 50,000
                # again took 100 ms of a frame, putting those few in place takes about one
                rest = [i for i in self._order if i not in moved]
                self._order = _merged(rest, sorted(moved, key=key), key)
            self._order_dirty, self._moved = False, set()
        order = self._order
        if not self.show_out_of_scope and self._outside:
            reasons = self.scope_reason
            order = [i for i in order if not reasons[i]]
        q = self.query
        if q.empty:
            visible = list(order)
        elif not q.predicates:
            visible = _with_words(order, q.words, self._hay)
        else:
            nodes, hay = self.nodes, self._hay
            visible = [i for i in order if q.matches(nodes[i], hay[i])]
        self.visible = visible

    def _shows(self, i: int) -> bool:
        """Whether row `i` passes the scope and the query: `refilter`'s test for one row."""
        if self.scope_reason[i] and not self.show_out_of_scope:
            return False
        q = self.query
        return q.empty or q.matches(self.nodes[i], self._hay[i])

    def _refile(self, rows: list[int]) -> None:
        """Rows changed in place, their sort keys kept: each one in or out of `visible` at its
        place by its key. At 50,000 rows a whole refilter per page of a refresh cost half a
        millisecond with no filter and five with one, most of a page's turn on the UI thread,
        for the 150 rows that could have changed."""
        visible, key = self.visible, self._keys.__getitem__
        for i in rows:
            at = bisect_left(visible, key(i), key=key)
            there = at < len(visible) and visible[at] == i
            if self._shows(i) != there:
                if there:
                    del visible[at]
                else:
                    visible.insert(at, i)


def _with_words(rows: list[int], words: tuple[str, ...], hay: list[str]) -> list[int]:
    """The rows whose haystack holds every word; one word, the common case, without a generator
    a row (which tripled a pass over 50,000 rows)."""
    if not words:
        return list(rows)
    if len(words) == 1:
        w = words[0]
        return [i for i in rows if w in hay[i]]
    return [i for i in rows if all(w in hay[i] for w in words)]


def _narrows(old: Query, new: Query) -> bool:
    """Every row `new` matches, `old` matched too: both are free words only, and each of the
    old words is within one of the new (a word typed longer, or one more word)."""
    if old.predicates or new.predicates:
        return False
    return all(any(w in n for n in new.words) for w in old.words)


def _merged(
    order: list[int], moved: list[int], key: Callable[[int], tuple[str, str, str]]
) -> list[int]:
    """`order` and `moved`, both sorted by `key`, as one sorted list (keys are unique: they end
    with the node's id, so this is the order a full sort gives)."""
    out: list[int] = []
    start = 0
    for i in moved:
        at = bisect_right(order, key(i), lo=start, key=key)
        out += order[start:at]
        out.append(i)
        start = at
    out += order[start:]
    return out
