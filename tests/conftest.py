"""Shared fixtures.

Only one Sandbox runs per process (moto's state is process-wide), and some modules start their
own, so the shared one lives per module: started on first use, stopped when the module ends.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from sessiontui_sandbox import Sandbox


@pytest.fixture
def private_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """HOME and the XDG folders in tmp_path: a test never reads or writes the real home."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    for var in ("XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME"):
        monkeypatch.setenv(var, str(tmp_path / var.lower()))
    return home


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox() as sb:
        yield sb


@pytest.fixture(scope="module", params=["stand-in", "real"])
def plugin(sandbox: Sandbox, request: pytest.FixtureRequest) -> Path:
    """The plugin a test drives: the stand-in, then AWS's own (skipped, with one reason, where
    there is none). Pass it as SESSIONTUI_PLUGIN."""
    from test_plugin_support import plugin_for

    return plugin_for(request.param, sandbox)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> object:
    """Every real-half skip reported from one place, so `-ra` folds them into ONE line."""
    outcome = yield
    report: pytest.TestReport = outcome.get_result()
    from test_plugin_support import REAL_SKIP

    longrepr = report.longrepr
    if report.skipped and isinstance(longrepr, tuple) and REAL_SKIP in str(longrepr[2]):
        report.longrepr = (str(Path(__file__).with_name("test_plugin_support.py")), 1, longrepr[2])
    return None
