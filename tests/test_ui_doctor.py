"""The doctor in the TUI: the palette's "app: doctor" opens the same report as `--doctor`, found
in a worker against the sandbox with a real Runtime behind the app, as the CLI builds it."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from typing import Any

import pytest
from textual.command import CommandPalette
from textual.widgets import Static

from sessiontui.aws.clients import ClientFactory
from sessiontui.config import load_config
from sessiontui.runtime import Runtime
from sessiontui.ui.app import SessiontuiApp
from sessiontui.ui.screens.doctor import DoctorScreen
from sessiontui.ui.services import AppServices
from test_ui_sessions import wait_for
from test_ui_support import settle


@pytest.fixture
def runtime(sandbox: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> Iterator[Runtime]:
    for key, value in sandbox.env().items():
        monkeypatch.setenv(key, value)
    for key in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("SESSIONTUI_FAKE_PLUGIN_VERSION", "1.2.707.0")
    args = argparse.Namespace(role=None, duration=None, mfa_code=None, filter="", tag=[])
    yield Runtime(
        args=args, factory=ClientFactory(), regions=list(sandbox.regions), config=load_config()
    )


async def test_the_palettes_doctor_shows_the_report(sandbox: Any, runtime: Runtime) -> None:
    services = AppServices(
        factory=runtime.factory,
        regions=runtime.regions,
        config=runtime.config,
        clock=runtime.clock,
        runtime=runtime,
    )
    app = SessiontuiApp(services)
    async with app.run_test(size=(200, 60)) as pilot:
        await settle(app, pilot)
        await pilot.press("ctrl+p")
        await wait_for(pilot, lambda: isinstance(app.screen, CommandPalette))
        await pilot.press(*"doctor")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, DoctorScreen))
        screen = app.screen
        assert isinstance(screen, DoctorScreen)
        await wait_for(pilot, lambda: screen.report is not None, timeout=60)
        shown = str(screen.query_one("#doctor-report", Static).render())
        assert "! plugin: session-manager-plugin 1.2.707.0" in shown
        assert "older than 1.2.764.0" in shown
        # the demo operator may look and ask, not open sessions (issue 24's Operator policy)
        assert "✓ base identity: request node access: allowed" in shown
        assert "! base identity: shell: not known" in shown
        assert "! identity center sandbox: not signed in" in shown
        assert shown.rstrip().endswith("something is missing")
        await pilot.press("escape")
        assert not isinstance(app.screen, DoctorScreen)
