"""Role scope: the tags a node must carry to be reachable with a role."""

from __future__ import annotations

from collections.abc import Mapping

from sessiontui.core.node import Node


def out_of_scope_reason(node: Node, scope: Mapping[str, str] | None) -> str:
    """ "" when the node is in scope; otherwise which tag is missing or different."""
    if not scope:
        return ""
    for key, want in scope.items():
        have = node.tags.get(key)
        if have is None:
            return f"outside role scope: no {key} tag (needs {key}={want})"
        if have != want:
            return f"outside role scope: {key}={have} (needs {key}={want})"
    return ""


def in_scope(node: Node, scope: Mapping[str, str] | None) -> bool:
    return not out_of_scope_reason(node, scope)
