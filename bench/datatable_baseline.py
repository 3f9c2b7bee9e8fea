"""The baseline issue 5 compares against: Textual's DataTable holding the whole fleet.

Refiltering a DataTable means clearing it and adding the matching rows again, which is what a
DataTable-based design has to do on every keystroke.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from textual.app import App, ComposeResult
from textual.widgets import DataTable, Input

from bench.measure import p95
from sessiontui.core.node import Node
from sessiontui.core.query import haystack, parse_query

QUERY = "web-1"


def _row(n: Node) -> tuple[str, ...]:
    return (
        n.display_name,
        n.id,
        n.ping_status,
        n.platform,
        n.tag("project"),
        n.tag("Role"),
        n.private_ip,
        n.region,
    )


class BaselineApp(App[None]):
    def __init__(self, nodes: Sequence[Node]) -> None:
        super().__init__()
        self.nodes = list(nodes)
        self.hay = [haystack(n) for n in self.nodes]

    def compose(self) -> ComposeResult:
        yield Input(id="filter")
        yield DataTable(id="table", cursor_type="row")

    def fill(self, nodes: Sequence[Node]) -> None:
        table = self.query_one(DataTable)
        table.clear(columns=not table.columns)
        if not table.columns:
            table.add_columns("name", "id", "ping", "platform", "project", "Role", "ip", "region")
        table.add_rows([_row(n) for n in nodes])

    def on_input_changed(self, event: Input.Changed) -> None:
        q = parse_query(event.value)
        self.fill([n for n, h in zip(self.nodes, self.hay, strict=True) if q.matches(n, h)])


async def run(
    nodes: Sequence[Node], keystrokes: int = 12, cursor_steps: int = 40
) -> dict[str, Any]:
    app = BaselineApp(nodes)
    async with app.run_test(size=(160, 48)) as pilot:
        start = time.perf_counter()
        app.fill(nodes)
        await pilot.pause()
        fill_s = time.perf_counter() - start
        app.query_one(DataTable).focus()
        cursor = []
        for _ in range(cursor_steps):
            t = time.perf_counter()
            await pilot.press("down")
            await pilot.pause()
            cursor.append((time.perf_counter() - t) * 1000)
        app.query_one(Input).focus()
        keys = []
        for ch in (QUERY * 3)[:keystrokes]:
            t = time.perf_counter()
            await pilot.press(ch)
            await pilot.pause()
            keys.append((time.perf_counter() - t) * 1000)
            if len(app.query_one(Input).value) >= len(QUERY):
                app.query_one(Input).value = ""
                await pilot.pause()
    return {
        "fill_s": round(fill_s, 3),
        "keystroke_p95_ms": round(p95(keys), 1),
        "cursor_p95_ms": round(p95(cursor), 1),
    }
