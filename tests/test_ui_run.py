"""Run Command in the TUI against the real sandbox: mark, `e`, the dialog's preview, the live grid,
Enter for a node's whole output, `y` copies it, `x` cancels one node or all, `E` opens a kept run
again, a document picked from the account's (paged, searched) with its parameters; output
from a node is shown as text, never markup."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from textual.widgets import DataTable, Input, Static

import test_ui_access
from sandbox_support import client
from sessiontui.ui.app import SessiontuiApp
from sessiontui.ui.screens.documents import DocumentPicker
from sessiontui.ui.screens.run import (
    CancelChoice,
    OutputScreen,
    RecentRunsScreen,
    RunDialog,
    RunScreen,
)
from test_ui_access import Env, services, wait_for
from test_ui_node_access import fleet_admin, select
from test_ui_support import settle

env = test_ui_access.env


def grid_rows(screen: RunScreen) -> dict[str, list[str]]:
    table: DataTable[Any] = screen.query_one("#run-grid", DataTable)
    return {
        str(r[0]): [str(c) for c in r]
        for r in (table.get_row_at(i) for i in range(table.row_count))
    }


def statuses(screen: RunScreen) -> list[str]:
    return [row[3] for row in grid_rows(screen).values()]


async def run_in_dialog(app: SessiontuiApp, pilot: Any, script: str, **fields: str) -> RunScreen:
    await pilot.press("e")
    await wait_for(pilot, lambda: isinstance(app.screen, RunDialog))
    dialog = app.screen
    for name, value in fields.items():
        dialog.query_one(f"#run-{name}", Input).value = value
    dialog.query_one("#run-command", Input).value = script
    dialog.query_one("#run-command", Input).focus()
    await pilot.press("enter")
    await wait_for(pilot, lambda: isinstance(app.screen, RunScreen))
    screen = app.screen
    assert isinstance(screen, RunScreen)
    return screen


async def test_mark_three_run_hostname_open_copy_and_reopen(env: Env) -> None:
    app = SessiontuiApp(services(env, access=fleet_admin(env)))
    async with app.run_test(size=(180, 50)) as pilot:
        await settle(app, pilot)
        for name in ("prod-web-01", "prod-web-02", "prod-cache-01", "prod-web-03"):
            await select(app, pilot, name)
            await pilot.press("space")
        await pilot.press("e")
        await wait_for(pilot, lambda: isinstance(app.screen, RunDialog))
        preview = str(app.screen.query_one("#run-preview", Static).render())
        assert "3 nodes, 1 left out" in preview and "left out prod-cache-01" in preview
        await pilot.press("escape")
        screen = await run_in_dialog(app, pilot, "hostname", reason="TICKET-3")
        await wait_for(pilot, lambda: statuses(screen) == ["Success"] * 3, timeout=30)
        rows = grid_rows(screen)
        assert {n: r[6] for n, r in rows.items()} == {
            "prod-web-01": "prod-web-01",
            "prod-web-02": "prod-web-02",
            "prod-web-03": "prod-web-03",
        }
        assert all(r[4] == "0" and r[5].endswith("s") for r in rows.values())
        assert "3 nodes: 3 Success" in str(screen.query_one("#run-summary", Static).render())
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, OutputScreen))
        shown = str(app.screen.query_one("#run-output", Static).render())
        first = next(iter(rows))
        assert f"{first} (" in shown and "stdout:" in shown and f"\n{first}\n" in shown
        await pilot.press("y")
        assert app.clipboard == f"{first}\n"
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is screen)
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, RunScreen))
        await wait_for(pilot, lambda: bool(_kept(env)), timeout=10)
        await pilot.press("E")
        await wait_for(pilot, lambda: isinstance(app.screen, RecentRunsScreen))
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, RunScreen))
        again = app.screen
        assert isinstance(again, RunScreen)
        assert {n: r[6] for n, r in grid_rows(again).items()} == {n: r[6] for n, r in rows.items()}


def _kept(env: Env) -> list[Any]:
    from sessiontui.stores.runs import RunStore

    return RunStore().recent()


# the done-when: ten nodes of the demo fleet. The filter is how an operator reaches ten at
# once: prod-web-01..06 and prod-worker-01..04, all online Linux in one account and region, so one
# command whose MaxConcurrency is the whole run's (two regions would be two commands, two each)
TEN = {f"prod-web-0{i}" for i in range(1, 7)} | {f"prod-worker-0{i}" for i in range(1, 5)}


class SandboxWatch:
    """The command's invocations as the sandbox reports them (ListCommandInvocations), sampled in
    a thread while the test drives the UI: how many ran at once, and which ever ran."""

    def __init__(self, ssm: Any) -> None:
        self.ssm = ssm
        self.command_id = ""
        self.most_at_once = 0
        self.ran: set[str] = set()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._watch, daemon=True)

    def _watch(self) -> None:
        while not self.stop.wait(0.05):
            if not self.command_id:
                continue
            invs = self.ssm.list_command_invocations(CommandId=self.command_id)
            running = {
                i["InstanceId"] for i in invs["CommandInvocations"] if i["Status"] == "InProgress"
            }
            self.most_at_once = max(self.most_at_once, len(running))
            self.ran |= running


async def test_sleep_on_ten_nodes_runs_two_at_a_time_and_cancels(env: Env) -> None:
    app = SessiontuiApp(services(env, access=fleet_admin(env)))
    admin = client(env.sandbox, "ssm", creds=env.sandbox.role_credentials("FleetAdmin"))
    watch = SandboxWatch(admin)
    async with app.run_test(size=(180, 50)) as pilot:
        await settle(app, pilot)
        app.main_screen.filter_input.value = "prod-w region:us-east-1"
        await pilot.pause()
        app.main_screen.node_list.focus()
        nodes = app.main_screen.node_list
        await wait_for(pilot, lambda: {n.name for n in nodes.visible_nodes()} == TEN)
        screen = await run_in_dialog(app, pilot, "sleep 60", concurrency="2")
        assert screen.run is not None
        await wait_for(pilot, lambda: bool(screen.run and screen.run.commands), timeout=20)
        assert len(screen.run.commands) == 1, "one account, one region: one command"
        watch.command_id = screen.run.commands[0].command_id
        watch.thread.start()
        try:
            await wait_for(pilot, lambda: statuses(screen).count("InProgress") == 2, timeout=20)
            watch_until = time.monotonic() + 1.5
            while time.monotonic() < watch_until:
                assert statuses(screen).count("InProgress") <= 2
                await pilot.pause(0.2)
            # one node cancelled frees its place: AWS starts the next, still two at a time
            grid: DataTable[Any] = screen.query_one("#run-grid", DataTable)
            grid.move_cursor(row=statuses(screen).index("InProgress"))
            await pilot.pause()
            first = screen.selected()
            assert first is not None
            await pilot.press("x")
            await wait_for(pilot, lambda: isinstance(app.screen, CancelChoice))
            await pilot.press("n")
            await wait_for(
                pilot,
                lambda: (
                    grid_rows(screen)[first.name][3] == "Cancelled"
                    and statuses(screen).count("InProgress") == 2
                ),
                timeout=20,
            )
            await wait_for(pilot, lambda: len(watch.ran) >= 3, timeout=10)
            began = time.monotonic()
            await pilot.press("x")
            await wait_for(pilot, lambda: isinstance(app.screen, CancelChoice))
            await pilot.press("a")
            await wait_for(pilot, lambda: set(statuses(screen)) == {"Cancelled"}, timeout=20)
            assert time.monotonic() - began < 15
        finally:
            watch.stop.set()
            watch.thread.join(timeout=5)
        assert watch.most_at_once == 2, "AWS ran at most two at once, and did run two"
        assert 3 <= len(watch.ran) < 10
        (command,) = admin.list_commands(CommandId=watch.command_id)["Commands"]
        assert command["Status"] == "Cancelled" and command["TargetCount"] == 10
        invs = admin.list_command_invocations(CommandId=watch.command_id)["CommandInvocations"]
        assert len(invs) == 10 and {i["Status"] for i in invs} == {"Cancelled"}


@pytest.mark.parametrize("script", ["printf '\\033[31m[b]red[/b] [@click=app.quit]x\\n'"])
async def test_output_is_shown_as_text_never_markup(env: Env, script: str) -> None:
    app = SessiontuiApp(services(env, access=fleet_admin(env)))
    async with app.run_test(size=(180, 50)) as pilot:
        await settle(app, pilot)
        await select(app, pilot, "dev-web-01")
        await pilot.press("space")
        screen = await run_in_dialog(app, pilot, script)
        await wait_for(pilot, lambda: statuses(screen) == ["Success"], timeout=30)
        (row,) = grid_rows(screen).values()
        assert row[6] == "\\x1b[31m[b]red[/b] [@click=app.quit]x"
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, OutputScreen))
        shown = str(app.screen.query_one("#run-output", Static).render())
        assert "\\x1b[31m[b]red[/b] [@click=app.quit]x" in shown
        assert app.is_running


def options(screen: Any) -> list[str]:
    from textual.widgets import OptionList

    found = screen.query_one(OptionList)
    return [str(found.get_option_at_index(i).prompt) for i in range(found.option_count)]


async def test_a_document_picked_from_the_account_runs_with_its_parameters(env: Env) -> None:
    app = SessiontuiApp(services(env, access=fleet_admin(env)))
    async with app.run_test(size=(180, 50)) as pilot:
        await settle(app, pilot)
        for name in ("dev-web-01", "stg-iis-01"):
            await select(app, pilot, name)
            await pilot.press("space")
        await pilot.press("e")
        await wait_for(pilot, lambda: isinstance(app.screen, RunDialog))
        dialog = app.screen
        await pilot.press("ctrl+o")
        await wait_for(pilot, lambda: isinstance(app.screen, DocumentPicker))
        picker = app.screen
        # AWS's first page of 50, and the next one on asking
        await wait_for(pilot, lambda: len(options(picker)) == 51)
        assert options(picker)[-1].startswith("more...")
        picker.query_one("#documents-list").focus()
        await pilot.press("end", "enter")
        await wait_for(
            pilot, lambda: len(options(picker)) > 51 and "more" not in options(picker)[-1]
        )
        picker.query_one("#documents-search", Input).focus()
        await pilot.press(*"collect")
        await wait_for(pilot, lambda: len(options(picker)) == 1)
        assert options(picker)[0].startswith("Ops-CollectFacts")
        await pilot.press("enter", "enter")
        await wait_for(pilot, lambda: app.screen is dialog and bool(dialog.query("#run-param-0")))
        field = dialog.query_one("#run-param-0", Input)
        assert field.value == "all"  # the document's default
        preview = str(dialog.query_one("#run-preview", Static).render())
        assert "left out stg-iis-01" in preview and "does not run on Windows" in preview
        field.value = "os"
        field.focus()
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, RunScreen))
        screen = app.screen
        assert isinstance(screen, RunScreen)
        await wait_for(pilot, lambda: statuses(screen) == ["Success"], timeout=30)
        (row,) = grid_rows(screen).values()
        assert row[6] == "host: dev-web-01"
        admin = client(env.sandbox, "ssm", creds=env.sandbox.role_credentials("FleetAdmin"))
        command_id = screen.run.commands[0].command_id if screen.run else ""
        (command,) = admin.list_commands(CommandId=command_id)["Commands"]
        assert command["DocumentName"] == "Ops-CollectFacts"
        assert command["Parameters"] == {"section": ["os"]}


async def test_a_filter_of_tags_alone_is_sent_by_tag(env: Env) -> None:
    app = SessiontuiApp(services(env, access=fleet_admin(env)))
    async with app.run_test(size=(180, 50)) as pilot:
        await settle(app, pilot)
        app.main_screen.filter_input.value = "project=Staging Role=db"
        await pilot.pause()
        app.main_screen.node_list.focus()
        await wait_for(pilot, lambda: len(app.main_screen.node_list.visible_nodes()) == 2)
        await pilot.press("e")
        await wait_for(pilot, lambda: isinstance(app.screen, RunDialog))
        preview = str(app.screen.query_one("#run-preview", Static).render())
        assert "1 in 123456789012 us-east-1 (by tag project=Staging, Role=db)" in preview
        await pilot.press("escape")
        screen = await run_in_dialog(app, pilot, "hostname")
        await wait_for(pilot, lambda: statuses(screen) == ["Success"] * 2, timeout=30)
        assert screen.run is not None
        for command in screen.run.commands:
            (sent,) = client(
                env.sandbox, "ssm", command.region, env.sandbox.role_credentials("FleetAdmin")
            ).list_commands(CommandId=command.command_id)["Commands"]
            assert sent["InstanceIds"] == [] and sent["Targets"] == [
                {"Key": "tag:project", "Values": ["Staging"]},
                {"Key": "tag:Role", "Values": ["db"]},
            ]
