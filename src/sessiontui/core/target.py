"""Resolve a --connect TARGET: exact id, then exact Name, then K=V tag match."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from sessiontui.core.errors import TargetError
from sessiontui.core.node import Node
from sessiontui.core.query import parse_query
from sessiontui.core.untrusted import terminal_text

if TYPE_CHECKING:
    from sessiontui.core.marks import Marks


# a candidate line names the node, it need not carry a whole 256-character tag value
VALUE_MAX = 64


def describe(node: Node, marks: Marks | None = None) -> str:
    """One candidate line: every field is text from AWS, so each stays on it, controls visible."""
    tags = " ".join(
        f"{terminal_text(k, VALUE_MAX)}={terminal_text(v, VALUE_MAX)}"
        for k, v in sorted(node.tags.items())
        if k != "Name"
    )
    fields = (node.id, node.display_name, node.region, node.ping_status or "-")
    line = "  ".join([*(terminal_text(f, VALUE_MAX) for f in fields), tags])
    label = marks.label(node.id) if marks is not None else ""
    return f"{line.rstrip()}  ({label})" if label else line.rstrip()


def _candidates(nodes: Sequence[Node], marks: Marks | None) -> list[str]:
    """Favourites and recent targets first: the node meant is most likely one of them."""
    ordered = marks.first(nodes, lambda n: n.id) if marks is not None else list(nodes)
    return [describe(n, marks) for n in ordered]


def resolve_target(
    nodes: Sequence[Node],
    target: str,
    marks: Marks | None = None,
    list_command: str = "sessiontui --list",
) -> Node:
    """`list_command` is how the operator lists this fleet (with --demo in a demo), for the
    hint when nothing matches."""
    t = target.strip()
    if not t:
        raise TargetError("empty target")
    by_id = [n for n in nodes if n.id == t]
    if len(by_id) == 1:
        return by_id[0]
    by_name = [n for n in nodes if n.name == t]
    if len(by_name) == 1:
        return by_name[0]
    if len(by_name) > 1:
        raise TargetError(
            f"{len(by_name)} nodes are named {t!r}; use an instance id",
            _candidates(by_name, marks),
        )
    if "=" in t:
        matched = parse_query(t).filter(nodes)
        if len(matched) == 1:
            return matched[0]
        if matched:
            raise TargetError(
                f"{len(matched)} nodes match {t!r}; pick one by id", _candidates(matched, marks)
            )
    partial = parse_query(t).filter(nodes) if "=" not in t else []
    if partial:
        raise TargetError(
            f"no node is exactly {t!r}; did you mean one of these?",
            _candidates(partial, marks)[:20],
        )
    close = _close(nodes, t)
    listing = f"list the fleet with: {list_command}"
    if close:
        raise TargetError(
            f"no node matches {t!r}; did you mean one of these?",
            [*_candidates(close, marks), listing],
        )
    raise TargetError(f"no node matches {t!r}", [listing])


def _close(nodes: Sequence[Node], target: str, n: int = 3) -> list[Node]:
    """Nodes whose name or id is a near miss of `target` (a typo, a digit short)."""
    import difflib

    by_word: dict[str, Node] = {}
    for node in nodes:
        for word in (node.name, node.id):
            if word:
                by_word.setdefault(word, node)
    found = difflib.get_close_matches(target, list(by_word), n=n, cutoff=0.8)
    return list({id(by_word[w]): by_word[w] for w in found}.values())
