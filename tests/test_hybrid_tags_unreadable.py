"""Hybrid tags an access may not read (issue 24): with tag:GetResources and
ssm:ListTagsForResource both refused (the SSO guide's permission sets grant neither), the listing
still lists the mi- nodes, marks each with why, and says so: a warning and "?" cells in
`--list`, `tags_unreadable` in `--list --json`, a line in the TUI's tag facets."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from textual.widgets import Static

from cli_support import run
from sessiontui.runtime import Runtime
from sessiontui.ui.app import SessiontuiApp
from sessiontui.ui.screens.facets import FacetsScreen
from sessiontui.ui.services import AppServices
from sessiontui_sandbox import Sandbox
from test_ui_doctor import runtime  # noqa: F401 (a fixture)
from test_ui_sessions import wait_for
from test_ui_support import settle

WHY = (
    "tag:GetResources (AccessDeniedException) and "
    "ssm:ListTagsForResource (AccessDeniedException) are refused"
)


@pytest.fixture
def refused(sandbox: Sandbox) -> Iterator[None]:
    sandbox.faults.denied_actions = {"tagging:GetResources", "ssm:ListTagsForResource"}
    try:
        yield
    finally:
        sandbox.faults.denied_actions = set()


def test_the_cli_says_hybrid_tags_are_not_readable_and_why(
    sandbox: Sandbox, tmp_path: Path, refused: None
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    out = run(sandbox, home, "--list", "--json")
    assert out.returncode == 0, out.stderr
    nodes = json.loads(out.stdout)
    hybrid = [n for n in nodes if n["id"].startswith("mi-")]
    assert hybrid, "the demo fleet has hybrid nodes"
    assert all(n["tags_unreadable"] == WHY and n["tags"] == {} for n in hybrid), hybrid[0]
    assert all(n["tags_unreadable"] is None for n in nodes if n["id"].startswith("i-"))
    assert f"the tags of {len(hybrid)} hybrid (mi-) nodes are not readable" in out.stderr
    assert WHY in out.stderr
    table = run(sandbox, home, "--list")
    row = next(line for line in table.stdout.splitlines() if hybrid[0]["id"] in line)
    cells = row.split()
    assert cells[cells.index(hybrid[0]["id"]) + 3] == "?", row  # PROJECT: not "-"


async def test_the_tui_facets_say_hybrid_tags_are_not_readable(
    sandbox: Sandbox,
    runtime: Runtime,  # noqa: F811 (the fixture)
    refused: None,
) -> None:
    services = AppServices(
        factory=runtime.factory,
        regions=runtime.regions,
        config=runtime.config,
        clock=runtime.clock,
        runtime=runtime,
    )
    app = SessiontuiApp(services)
    async with app.run_test(size=(180, 50)) as pilot:
        await settle(app, pilot)
        nodes = app.main_screen.node_list
        await wait_for(
            pilot,
            lambda: any(n.tags_unreadable for n in nodes.nodes),
            timeout=30,
        )
        nodes.focus()
        await pilot.press("t")
        await wait_for(pilot, lambda: isinstance(app.screen, FacetsScreen))
        said = str(app.screen.query_one("#facet-unreadable", Static).render())
        assert "hybrid (mi-) node" in said and WHY in said
