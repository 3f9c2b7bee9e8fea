"""`w` in the TUI, outside tmux: it says how to enable it; with `terminal_command`, it runs the
launcher with `sessiontui --connect` by name, refusing in words when the access cannot be found by
name from another process. (Under a real tmux server: test_windows_tmux.py.)
"""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from sessiontui.access.iam_role import role_access
from sessiontui.config import load_config
from sessiontui.ui.app import SessiontuiApp
from sessiontui.ui.screens.confirm import ConfirmScreen
from sessiontui.ui.windows import HOW_TO_ENABLE
from test_ui_access import Env, env, messages, role_credentials, services, wait_for  # noqa: F401
from test_ui_support import settle

NODE = "stg-web-01"
ROLE = "StagingDev"


def launcher(tmp_path: Path) -> tuple[Path, Path]:
    """A stand-in for `kitty @ launch`: records the argv it was given, NUL-separated."""
    record = tmp_path / "launched"
    script = tmp_path / "launch-window"
    script.write_text(f'#!/bin/sh\nprintf "%s\\0" "$@" > {record}\n')
    script.chmod(0o755)
    return script, record


def details(app: SessiontuiApp) -> str:
    return app.main_screen.details.plain


async def select(app: SessiontuiApp, pilot: Any, name: str) -> None:
    await settle(app, pilot)
    app.main_screen.filter_input.value = name
    await pilot.pause()
    app.main_screen.node_list.focus()
    await wait_for(pilot, lambda: app.main_screen.node_list.selected_node is not None)


async def test_w_outside_tmux_says_how_to_enable_it(
    env: Env,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("TMUX", raising=False)
    app = SessiontuiApp(services(env))
    async with app.run_test(size=(160, 45)) as pilot:
        await select(app, pilot, NODE)
        await pilot.press("w")
        await pilot.pause()
        assert any(HOW_TO_ENABLE in m for m in messages(app))
        assert app.windows.running() == []


async def test_w_with_terminal_command_runs_connect_by_name(
    env: Env,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    monkeypatch.delenv("TMUX", raising=False)
    script, record = launcher(tmp_path)
    config = replace(load_config(), terminal_command=(str(script), "--type=tab"))
    spec = config.roles[ROLE]
    creds = role_credentials(env, ROLE, 3600)
    app = SessiontuiApp(services(env, config=config, access=role_access(spec, creds)))
    async with app.run_test(size=(160, 45)) as pilot:
        await select(app, pilot, NODE)

        # credentials handed in from outside the cache: another process could not find them
        await pilot.press("w")
        await wait_for(pilot, lambda: any("private credential cache" in m for m in messages(app)))
        assert not record.exists()

        # once cached (as taking the role in the TUI does), the window gets the role by name
        base_key = env.sandbox.env()["AWS_ACCESS_KEY_ID"]
        app.access.identity.cache.put(creds, None, base_key)
        await pilot.press("w")
        deadline = time.monotonic() + 15
        while not record.exists() and time.monotonic() < deadline:
            await pilot.pause(0.05)
        argv = record.read_bytes().decode().split("\0")[:-1]
        assert argv[0] == "--type=tab"
        assert argv[argv.index("--connect") + 1].startswith("i-")
        assert argv[argv.index("--role") + 1] == ROLE
        assert argv[argv.index("--region") + 1] == "us-east-1"
        # the base keys are in the sandbox's credentials file: cleared here, read from there
        cleared = argv.index("AWS_SECRET_ACCESS_KEY")
        assert argv[cleared - 1] == "-u"
        assert any(a.startswith("AWS_SHARED_CREDENTIALS_FILE=") for a in argv)
        joined = "\0".join(argv)
        for secret in (
            creds.secret_access_key,
            creds.session_token,
            env.sandbox.env()["AWS_SECRET_ACCESS_KEY"],
            env.sandbox.env()["SESSIONTUI_DEMO_TOTP"],
        ):
            assert secret and secret not in joined
        await wait_for(pilot, lambda: len(app.windows.running()) == 1)
        assert app.windows.on_node(argv[argv.index("--connect") + 1])[0].node_name == NODE
        assert any(f"shell on {NODE} in a launch-window window" in m for m in messages(app))
        await wait_for(pilot, lambda: "shell in a launch-window window since" in details(app))
        assert "until" in details(app)  # the role's end: the window's session ends then

        # quitting says the shell keeps running under its own process
        await pilot.press("q")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        assert "keep running under their own process" in app.screen.question
        await pilot.press("n")
        await pilot.pause()
        assert not isinstance(app.screen, ConfirmScreen)


async def test_w_refuses_base_keys_only_in_the_environment(
    env: Env,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    """Keys that no file holds cannot reach another process without a secret on its argv."""
    monkeypatch.delenv("TMUX", raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-such-file"))
    script, record = launcher(tmp_path)
    config = replace(load_config(), terminal_command=(str(script),))
    spec = config.roles[ROLE]
    creds = role_credentials(env, ROLE, 3600)
    app = SessiontuiApp(services(env, config=config, access=role_access(spec, creds)))
    async with app.run_test(size=(160, 45)) as pilot:
        app.access.identity.cache.put(creds, None, env.sandbox.env()["AWS_ACCESS_KEY_ID"])
        await select(app, pilot, NODE)
        await pilot.press("w")
        await wait_for(
            pilot, lambda: any("only in this process's environment" in m for m in messages(app))
        )
        assert not record.exists()
        assert app.windows.running() == []


async def test_a_terminal_that_stays_is_followed_until_it_exits(
    env: Env,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    """An `xterm -e`-like launcher is the window: when it exits, the TUI says the shell closed."""
    import os
    import signal

    monkeypatch.delenv("TMUX", raising=False)
    pid_file = tmp_path / "terminal.pid"
    script = tmp_path / "stand-in-xterm"
    script.write_text(f"#!/bin/sh\necho $$ > {pid_file}\nexec sleep 60\n")
    script.chmod(0o755)
    config = replace(load_config(), terminal_command=(str(script), "-e"))
    spec = config.roles[ROLE]
    creds = role_credentials(env, ROLE, 3600)
    app = SessiontuiApp(services(env, config=config, access=role_access(spec, creds)))
    async with app.run_test(size=(160, 45)) as pilot:
        app.access.identity.cache.put(creds, None, env.sandbox.env()["AWS_ACCESS_KEY_ID"])
        await select(app, pilot, NODE)
        await pilot.press("w")
        # the launcher is still running after its first seconds: it is the window
        await wait_for(pilot, lambda: len(app.windows.running()) == 1, timeout=20)
        pid = int(pid_file.read_text())
        os.kill(pid, signal.SIGTERM)
        await wait_for(
            pilot,
            lambda: any(
                f"shell on {NODE} in a stand-in-xterm window closed" in m for m in messages(app)
            ),
            timeout=15,
        )
        assert app.windows.running() == []
        assert "shell in" not in details(app)
