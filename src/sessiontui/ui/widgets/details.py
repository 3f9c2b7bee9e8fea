"""Everything known about the selected node, and why it cannot be reached when it cannot."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from rich.segment import Segment
from rich.style import Style
from textual.geometry import Region
from textual.strip import Strip
from textual.widget import Widget

from sessiontui.core.node import Node

Line = list[tuple[str, str]]  # (text, rich style name) runs


@lru_cache(maxsize=64)
def _style(name: str) -> Style:
    return Style.parse(name) if name else Style()


def _pref_lines(prefs: Any) -> list[tuple[str, str]]:
    """Session Manager preferences, whatever fields the sessions module gives us."""
    if prefs is None:
        return []
    fields = getattr(prefs, "__dataclass_fields__", None)
    if fields:
        items = [(k, getattr(prefs, k)) for k in fields]
    elif isinstance(prefs, dict):
        items = list(prefs.items())
    else:
        return []
    labels = {"idle_minutes": ("idle timeout", " min"), "max_minutes": ("max session", " min")}
    out = []
    for key, value in items:
        if value in (None, "", {}):
            continue
        label, unit = labels.get(key, (key.replace("_", " "), ""))
        out.append((label, f"{value}{unit}"))
    return out


def describe_node(
    node: Node | None,
    *,
    scope_reason: str = "",
    stale: bool = False,
    preferences: Any = None,
) -> list[Line]:
    if node is None:
        return [[("no node selected", "dim")]]
    lines: list[Line] = [[(node.display_name, "bold")]]
    why = node.why
    if why:
        lines.append([("not connectable: ", "bold yellow"), (why, "yellow")])
    else:
        lines.append([("connectable", "green")])
    if scope_reason:
        lines.append([(scope_reason, "bold red")])
    if stale:
        lines.append([("from the cache; not yet confirmed by a refresh", "italic dim")])
    lines.append([])
    rows = [
        ("id", node.id),
        ("type", "hybrid (on-premises)" if node.is_hybrid else node.resource_type),
        ("region", node.region),
        ("ping", node.ping_status or "-"),
        ("last ping", node.last_ping),
        ("state", node.state),
        ("platform", " ".join(p for p in (node.platform_name, node.platform_version) if p)),
        ("platform type", node.platform),
        ("private IP", node.private_ip),
        ("computer", node.computer_name),
        ("agent", node.agent_version),
        ("IAM role", node.iam_role),
        ("managed", "yes" if node.managed else "no"),
    ]
    lines += [[(f"{label:<14}", "dim"), (value, "")] for label, value in rows if value]
    if node.tags:
        lines += [[], [("tags", "bold")]]
        for k in sorted(node.tags, key=str.casefold):
            lines.append([(f"  {k}", "cyan"), (f" = {node.tags[k]}", "")])
    prefs = _pref_lines(preferences)
    if prefs:
        lines += [[], [("Session Manager preferences", "bold")]]
        lines += [[(f"  {label:<22}", "dim"), (value, "")] for label, value in prefs]
    return lines


class NodeDetails(Widget):
    """Drawn line by line: the pane changes on every cursor step, and rich Text wrapping
    costs several milliseconds a frame where plain segments cost a fraction of one."""

    DEFAULT_CSS = """
    NodeDetails {
        width: 44;
        height: 1fr;
        padding: 0 1;
        border: round $primary-muted;
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.border_title = "Details"
        self.node: Node | None = None
        self.preferences: Any = None
        self._scope_reason = ""
        self._stale = False
        self._lines: list[Line] = describe_node(None)
        self._base: Style | None = None

    @property
    def plain(self) -> str:
        return "\n".join("".join(text for text, _ in line) for line in self._lines)

    def show(self, node: Node | None, *, scope_reason: str = "", stale: bool = False) -> None:
        self.node = node
        self._scope_reason, self._stale = scope_reason, stale
        old = self._lines
        self._lines = new = describe_node(
            node, scope_reason=scope_reason, stale=stale, preferences=self._prefs_for(node)
        )
        # repaint only the lines that differ: neighbouring nodes share most labels and tags
        width = self.size.width
        dirty = [
            Region(0, y, width, 1)
            for y in range(max(len(old), len(new)))
            if y >= len(old) or y >= len(new) or old[y] != new[y]
        ]
        if dirty:
            self.refresh(*dirty)

    def set_preferences(self, preferences: Any) -> None:
        """Per-region preferences {region: SessionPreferences}; shown for the node's region."""
        self.preferences = preferences
        self.show(self.node, scope_reason=self._scope_reason, stale=self._stale)

    def _prefs_for(self, node: Node | None) -> Any:
        if node is None or not isinstance(self.preferences, dict):
            return None
        return self.preferences.get(node.region)

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._base = None

    def render_line(self, y: int) -> Strip:
        width = self.content_region.width
        # rich_style walks every ancestor; once per style change is enough
        base = self._base
        if base is None:
            base = self._base = self.rich_style
        if y >= len(self._lines):
            return Strip.blank(width, base)
        segs = [Segment(text, base + _style(style)) for text, style in self._lines[y] if text]
        return Strip(segs).crop_extend(0, width, base)
