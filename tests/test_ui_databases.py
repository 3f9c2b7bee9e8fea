"""The databases panel (D) against the sandbox, with both plugins: the three demo databases with
the bastion chosen for each and why; Enter opens the orders cluster's tunnel through it; `c`
hands the terminal to the real psql, signed in with an RDS IAM token through its environment
(the sandbox's RDS front refuses anything else), and its query answers."""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from sessiontui.access.iam_role import role_access
from sessiontui.config import load_config
from sessiontui.stores.database_cache import DatabaseCache
from sessiontui.ui.app import SessiontuiApp
from sessiontui.ui.screens.databases import DatabasesScreen
from sessiontui.ui.screens.forwards import entry_row
from sessiontui.ui.screens.reason import ReasonScreen
from sessiontui_sandbox import local_postgres
from test_ui_access import Env, messages, role_credentials, services, wait_for
from test_ui_support import settle

env = __import__("test_ui_access").env  # the fixture: the app's FakeClock and the sandbox's
plugin_env = __import__("test_ui_access").plugin_env

pytestmark = [
    pytest.mark.skipif(bool(local_postgres.missing()), reason=local_postgres.missing()),
    pytest.mark.skipif(shutil.which("psql") is None, reason="psql is not installed"),
]


class Terminal:
    """The app's suspend, headless: the client gets the process's own descriptors."""

    def __init__(self) -> None:
        self.events: list[str] = []

    @contextlib.contextmanager
    def suspend(self) -> Iterator[None]:
        self.events.append("suspended")
        yield
        self.events.append("resumed")


@contextlib.contextmanager
def stdin_from_devnull() -> Iterator[None]:
    """psql reads its queries from fd 0 once its psqlrc has run: nothing, so it ends."""
    saved = os.dup(0)
    null = os.open(os.devnull, os.O_RDONLY)
    try:
        os.dup2(null, 0)
        yield
    finally:
        os.dup2(saved, 0)
        os.close(saved)
        os.close(null)


def prod_ops(env: Env) -> Any:
    config = load_config()
    creds = role_credentials(env, "ProdOps", 3600)
    creds = replace(creds, expiration=env.clock.now() + timedelta(seconds=3000))
    return role_access(config.roles["ProdOps"], creds)


async def test_d_lists_the_demo_databases_with_their_bastions_and_c_opens_psql_signed_in(
    plugin_env: Env,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    env = plugin_env
    psqlrc = tmp_path / "psqlrc"
    psqlrc.write_text("SELECT 40 + 2 AS answer;\n")
    monkeypatch.setenv("PSQLRC", str(psqlrc))
    app = SessiontuiApp(services(env, access=prod_ops(env), reason="db test"))
    terminal = Terminal()
    monkeypatch.setattr(app, "suspend", terminal.suspend)
    async with app.run_test(size=(200, 50)) as pilot:
        await settle(app, pilot)
        await pilot.press("D")
        await wait_for(pilot, lambda: isinstance(app.screen, DatabasesScreen))
        screen = app.screen
        assert isinstance(screen, DatabasesScreen)
        await wait_for(pilot, lambda: screen.loaded, timeout=30)
        by_name = {(r.chosen.name, r.chosen.database.role): r for r in screen.rows}
        assert {name for name, _role in by_name} >= {"orders", "sessions", "billing"}, by_name
        orders = by_name[("orders", "writer")]
        assert orders.chosen.database.engine == "aurora-postgresql"
        assert orders.choices[0].node.display_name == "prod-worker-01"
        assert "admits it on port 5432" in orders.choices[0].reason
        for name in ("sessions", "billing"):
            row = next(r for (n, _), r in by_name.items() if n == name)
            assert row.choices, f"{name}: no bastion"
        # the cached discovery is private and holds no secret
        cache = DatabaseCache(screen.cache_key(screen.places()))
        assert cache.path.stat().st_mode & 0o777 == 0o600
        assert cache.path.parent.stat().st_mode & 0o777 == 0o700
        assert "password" not in cache.path.read_text()

        table = screen.query_one("#databases-table")
        table.move_cursor(row=screen.rows.index(orders))  # type: ignore[attr-defined]
        await pilot.press("enter")
        if isinstance(app.screen, ReasonScreen):
            await pilot.press("enter")
        key = orders.chosen.database.key
        await wait_for(pilot, lambda: key in screen.tunnels)
        entry = screen.tunnels[key]
        await wait_for(
            pilot,
            lambda: bool(entry.error) or (entry.forward is not None and entry.forward.is_ready),
            timeout=60,
        )
        assert not entry.error, entry.error
        assert entry.forward.local_port == 15432  # the demo preset's port
        assert entry.request.host == orders.chosen.database.host  # the real endpoint, not a name
        # the forwards panel names the database and its client, with no secret in it
        row = entry_row(entry, env.clock.now())
        assert row[2].startswith("orders: ") and "5432" in row[2], row
        assert row[6] == "psql -h 127.0.0.1 -p 15432 -U app -d orders", row

        capfd.readouterr()
        with stdin_from_devnull():
            await pilot.press("c")
            await wait_for(pilot, lambda: terminal.events == ["suspended", "resumed"], timeout=30)
        out = capfd.readouterr().out
        assert "42" in out, (out, messages(app))
        assert any("psql ended (0)" in m and "rds iam token" in m for m in messages(app))
        assert not entry.forward.ended  # the tunnel outlives its client
        await pilot.press("escape")
        await pilot.press("q")
        await pilot.pause()
        await pilot.press("y")  # the quit question: its forward is running
        await wait_for(pilot, lambda: entry.forward.ended, timeout=20)
