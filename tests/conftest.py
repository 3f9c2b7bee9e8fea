"""Shared fixtures.

Only one Sandbox runs per process (moto's state is process-wide), and some modules start their
own, so the shared one lives per module: started on first use, stopped when the module ends.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from sessiontui_sandbox import Sandbox

# pytest-xdist's workers set COLUMNS=80 and LINES=24, and Textual sizes an app by them, above the
# size a test's terminal (tmux, a pty) gives it: no test may inherit a terminal size it did not set
for _name in ("COLUMNS", "LINES"):
    os.environ.pop(_name, None)


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


# Modules whose tests bind the demo config's fixed local ports (15432, 16379, 18080: its database
# and forward presets, shown in frames and asserted): one worker runs them all, one at a time.
FIXED_PORT_MODULES = frozenset(
    {"test_cli_db", "test_ui_databases", "test_snapshots", "test_ui_names", "test_e2e_tmux"}
)


# Modules `make test` runs after the two workers, on their own: their MFA codes were refused
# now and then beside another worker's load (a typed code, one AssumeRole, its window spent; the
# cause is not found yet), and never in a serial run
ALONE_MODULES = frozenset({"test_cli_credentials"})


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups off the items
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under pytest-xdist (`make test` runs two workers, `--dist loadgroup`): a module's tests stay
    on one worker, so its sandbox (a module fixture) starts once, and the modules that bind the
    demo's fixed ports share one group."""
    for item in items:
        module = item.path.stem
        group = "fixed-local-ports" if module in FIXED_PORT_MODULES else module
        item.add_marker(pytest.mark.xdist_group(group))
        if module in ALONE_MODULES:
            item.add_marker(pytest.mark.alone)


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
