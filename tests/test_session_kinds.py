"""Refusals say what kind of session is not allowed (issue 24): StartSession refused for its
document (the seed's ProductionPermissionSet names no document) is told as "this access may
open shells but not port forwards (...)", exit 3 headless, through --connect --forward and
--ssh-proxy; the TUI's forward dialog says so, before the ports, once AWS has refused one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Static

from cli_support import run
from sessiontui.ui.app import SessiontuiApp
from sessiontui.ui.screens.forward import ForwardScreen
from sessiontui.ui.services import AppServices
from sessiontui_sandbox import Sandbox
from test_sso_access import aws_cli_login
from test_ui_access import messages, wait_for
from test_ui_identity_center import _signed_in, app_services  # noqa: F401 (a fixture)

PPS = "Production/ProductionPermissionSet"
FORWARD_REFUSED = (
    "this access may open shells but not port forwards "
    "(ssm:StartSession is not allowed on document/AWS-StartPortForwardingSession)"
)


@pytest.fixture
def home(sandbox: Sandbox, tmp_path: Path) -> Any:
    path = tmp_path / "home"
    path.mkdir()
    aws_cli_login(sandbox, path)
    return path


def test_a_forward_refused_for_its_document_says_so_exit_3(sandbox: Sandbox, home: Path) -> None:
    out = run(sandbox, home, "--connect", "prod-api-01", "--forward", "80", "--role", PPS)
    assert out.returncode == 3, out.stderr
    first = out.stderr.splitlines()[0]
    assert first == f"sessiontui: {FORWARD_REFUSED}"
    assert "ssm:StartSession on arn:aws:ssm:*::document/AWS-StartPortForwardingSession" in (
        out.stderr
    )
    assert "Traceback" not in out.stderr


def test_ssh_through_the_proxy_refused_for_its_document_says_so_exit_3(
    sandbox: Sandbox, home: Path
) -> None:
    out = run(sandbox, home, "--ssh-proxy", "prod-api-01", "22", "--role", PPS)
    assert out.returncode == 3, out.stderr
    assert out.stdout == "", "stdout is ssh's protocol stream"
    assert (
        "this access may open shells but not SSH sessions "
        "(ssm:StartSession is not allowed on document/AWS-StartSSHSession)"
    ) in out.stderr


def test_a_node_out_of_the_policys_tag_scope_is_not_called_a_kind_refusal(
    sandbox: Sandbox, home: Path
) -> None:
    """prod-analytics-01 carries project=Analytics: the refusal is about the node, and says so
    as before, not as a forward the access lacks."""
    out = run(sandbox, home, "--connect", "prod-analytics-01", "--role", PPS)
    assert out.returncode == 3, out.stderr
    assert "may open shells but not" not in out.stderr
    assert "prod-analytics-01" in out.stderr or "instance/" in out.stderr


async def test_the_forward_dialog_says_so_once_known(
    sandbox: Any,
    app_services: AppServices,  # noqa: F811 (the fixture)
) -> None:
    if sandbox.plugin_path is None:
        pytest.skip("the stand-in plugin is not available")
    _signed_in(sandbox)
    app_services.initial_roles = [PPS]
    app = SessiontuiApp(app_services)
    async with app.run_test(size=(180, 50)) as pilot:
        await wait_for(pilot, lambda: len(app.access.held) == 1, timeout=30)
        nodes = app.main_screen.node_list
        await wait_for(pilot, lambda: any(n.name == "prod-api-01" for n in nodes.nodes), 30)
        app.main_screen.filter_input.value = "prod-api-01"
        await pilot.pause()
        assert nodes.select_id(nodes.visible_nodes()[0].id)
        nodes.focus()
        await pilot.press("f")
        await wait_for(pilot, lambda: isinstance(app.screen, ForwardScreen))
        assert not app.screen.query("#forward-refused"), "nothing is known before a refusal"
        await pilot.press(*"80", "enter")
        book = app.forwards
        await wait_for(pilot, lambda: bool(book.entries()) and bool(book.entries()[0].error), 30)
        assert book.entries()[0].error.startswith(FORWARD_REFUSED)
        assert any(FORWARD_REFUSED in m for m in messages(app))
        nodes.focus()
        await pilot.press("f")
        await wait_for(pilot, lambda: isinstance(app.screen, ForwardScreen))
        said = app.screen.query_one("#forward-refused", Static)
        assert str(said.render()) == FORWARD_REFUSED
        # said above the ports it asks for
        assert said.region.y < app.screen.query_one("#remote-port").region.y
