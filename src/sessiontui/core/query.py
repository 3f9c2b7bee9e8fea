"""One query language for `--filter`, `--tag` and the TUI's filter box.

Terms are separated by spaces and all must hold:
  word          free text, case-insensitive, found in the name, id or private IP
  K=V           tag K equals V (case-insensitive; `*` and `?` are wildcards; `K=*` any value)
  iam:ROLE      the node's IAM role contains ROLE
  ping:STATUS   ping status starts with STATUS (online, connectionlost, inactive)
  region:R      region starts with R
  type:ec2|hybrid
  account:A     the node's account: its name or id equals A (case-insensitive; wildcards too)
  is:fav        a favourite (`*` in the TUI)
  is:recent     a recently used target (a shell or forward opened on it)
Quotes group words with spaces: `Name="web 01"` or `"web 01"`.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING

from sessiontui.core.node import Node

if TYPE_CHECKING:
    from sessiontui.core.marks import Marks

Predicate = Callable[[Node], bool]


def _split(text: str) -> list[str]:
    try:
        return shlex.split(text)
    except ValueError:
        # an unfinished quote while typing: fall back to plain words
        return text.replace('"', " ").replace("'", " ").split()


def _haystack(node: Node) -> str:
    return f"{node.name}\n{node.id}\n{node.private_ip}\n{node.computer_name}".casefold()


def _tag_predicate(key: str, value: str) -> Predicate:
    k = key.casefold()
    v = value.casefold()
    wild = any(c in v for c in "*?[")

    def match(node: Node) -> bool:
        for tk, tv in node.tags.items():
            if tk.casefold() == k:
                tvf = tv.casefold()
                return fnmatchcase(tvf, v) if wild else tvf == v
        return False

    return match


def _contains(attr: str, text: str) -> Predicate:
    return lambda n: text in str(getattr(n, attr)).casefold()


def _starts(attr: str, text: str) -> Predicate:
    return lambda n: str(getattr(n, attr)).casefold().startswith(text)


def _account(text: str) -> Predicate:
    wild = any(c in text for c in "*?[")

    def match(node: Node) -> bool:
        for value in (node.account_name.casefold(), node.account_id):
            if fnmatchcase(value, text) if wild else value == text:
                return True
        return False

    return match


def _hybrid(want: bool) -> Predicate:
    return lambda n: n.is_hybrid == want


@dataclass(frozen=True)
class Query:
    text: str = ""
    words: tuple[str, ...] = ()
    tags: tuple[tuple[str, str], ...] = ()
    predicates: tuple[Predicate, ...] = field(default=(), compare=False, repr=False)

    @property
    def empty(self) -> bool:
        return not self.words and not self.predicates

    def matches(self, node: Node, haystack: str | None = None) -> bool:
        if self.words:
            hay = haystack if haystack is not None else _haystack(node)
            if not all(w in hay for w in self.words):
                return False
        return all(p(node) for p in self.predicates)

    def filter(self, nodes: Iterable[Node]) -> list[Node]:
        if self.empty:
            return list(nodes)
        return [n for n in nodes if self.matches(n)]


def _marked(marks: Marks | None, recent: bool) -> Predicate:
    # the marks object is read at match time: the TUI changes it in place, then refilters
    if marks is None:
        return lambda n: False
    if recent:
        return lambda n: marks.is_recent(n.id)
    return lambda n: marks.is_favourite(n.id)


def parse_query(text: str, extra_tags: Iterable[str] = (), marks: Marks | None = None) -> Query:
    words: list[str] = []
    tags: list[tuple[str, str]] = []
    preds: list[Predicate] = []
    for term in [*_split(text), *extra_tags]:
        low = term.casefold()
        if "=" in term and not term.startswith("="):
            key, value = term.split("=", 1)
            tags.append((key, value))
            preds.append(_tag_predicate(key, value))
        elif low.startswith("iam:") and len(term) > 4:
            preds.append(_contains("iam_role", low[4:]))
        elif low.startswith("ping:") and len(term) > 5:
            preds.append(_starts("ping_status", low[5:]))
        elif low.startswith("region:") and len(term) > 7:
            preds.append(_starts("region", low[7:]))
        elif low.startswith("account:") and len(term) > 8:
            preds.append(_account(low[8:]))
        elif low in ("type:ec2", "type:hybrid"):
            preds.append(_hybrid(low == "type:hybrid"))
        elif low in ("is:fav", "is:favourite", "is:favorite", "is:recent"):
            preds.append(_marked(marks, low == "is:recent"))
        else:
            words.append(low)
    return Query(text=text, words=tuple(words), tags=tuple(tags), predicates=tuple(preds))


def haystack(node: Node) -> str:
    """The precomputable text free words are searched in (the node list caches it)."""
    return _haystack(node)


def tag_terms(pairs: Iterable[str]) -> list[str]:
    """Validate `--tag K=V` values."""
    out = []
    for p in pairs:
        if "=" not in p or p.startswith("="):
            from sessiontui.core.errors import UsageError

            raise UsageError(f"--tag needs KEY=VALUE, got {p!r}")
        out.append(p)
    return out
