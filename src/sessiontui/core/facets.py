"""Tag facets: how many nodes carry each tag value, for narrowing the list."""

from __future__ import annotations

from collections.abc import Sequence

from sessiontui.core.node import Node

# The accounts' facet, beside the tags' (a fleet across accounts): chosen, it adds `account:NAME`.
ACCOUNT_KEY = "account:"


def facet_counts(nodes: Sequence[Node]) -> dict[str, dict[str, int]]:
    """key -> value -> how many of `nodes` carry it; what the tag facets panel lists."""
    out: dict[str, dict[str, int]] = {}
    for node in nodes:
        for k, v in node.tags.items():
            values = out.setdefault(k, {})
            values[v] = values.get(v, 0) + 1
        if account := node.account_label:
            values = out.setdefault(ACCOUNT_KEY, {})
            values[account] = values.get(account, 0) + 1
    return out
