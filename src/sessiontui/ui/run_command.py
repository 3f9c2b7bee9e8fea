"""`e` and `E` on the fleet screen: which nodes a run reaches, the dialog, the grid, the recent
runs. The run itself is operations.run_command's; AWS is only ever called from thread workers."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sessiontui.core.access import Access
    from sessiontui.operations.run_command import CommandRun
    from sessiontui.ui.app import SessiontuiApp
    from sessiontui.ui.widgets.node_list import NodeList


def start_run(app: SessiontuiApp, nodes: NodeList) -> None:
    """The marked nodes, else every node the filter shows: preview and dialog, then the grid."""
    from sessiontui.operations.run_command import RunSpec, plan
    from sessiontui.ui.screens.run import RunDialog

    targets = nodes.marked_nodes() or nodes.visible_nodes()
    if not targets:
        app.notify("no node to run a command on: mark some (space) or widen the filter", timeout=4)
        return
    held = app.access.alive()
    if not held and app.access.has_offers():
        app.notify("choose a role to run a command", timeout=4)
        app.access.choose_role(then=lambda: start_run(app, nodes))
        return
    accesses = [h.access for h in held]
    preview, _ = plan(targets, accesses, RunSpec())
    needing = ", ".join(a.name for a in accesses if a.reason_required)

    def answered(request: Any) -> None:
        if request is not None:
            _run(app, nodes, targets, held, request)

    app.push_screen(RunDialog(preview, needing, app.services.reason or ""), answered)


def _run(
    app: SessiontuiApp, nodes: NodeList, targets: list[Any], held: list[Any], request: Any
) -> None:
    from sessiontui.operations.run_command import CommandRun, plan
    from sessiontui.ui.screens.run import RunScreen, run_spec

    spec = run_spec(request, app.services.config)
    accesses = [h.access for h in held]
    factories = {h.access.name: h.factory for h in held}
    _, planned = plan(targets, accesses, spec)

    def factory_for(access: Access | None) -> Any:
        found = factories.get(access.name) if access is not None else None
        return found or app.services.factory

    run = CommandRun(planned, spec, factory_for, app.access.audit, app.services.clock)
    title = f"run: {request.script.splitlines()[0]}" + (
        f"  (reason: {spec.reason})" if spec.reason else ""
    )
    nodes.clear_marks()
    app.push_screen(RunScreen(run, run.runs, title, keep=_keep))


def _keep(run: CommandRun) -> None:
    """In the run's worker: the finished run into the state folder (E opens it again)."""
    from sessiontui.stores.runs import RunStore

    with contextlib.suppress(OSError):
        key = run.commands[0].command_id if run.commands else "run"
        RunStore().save(key, run.started or run.clock.now(), run.record())


def show_recent(app: SessiontuiApp) -> None:
    """`E`: read the kept runs in a worker, then the list; Enter opens one's grid."""
    from sessiontui.stores.runs import RunStore
    from sessiontui.ui.screens.run import RecentRunsScreen, RunScreen, saved_rows

    def opened(record: dict[str, Any] | None) -> None:
        if record is not None:
            what = str(record.get("script") or record.get("document") or "")
            title = f"run of {str(record.get('started') or '')[:19]}: {what.splitlines()[0] if what else '-'}"
            app.push_screen(RunScreen(None, saved_rows(record), title))

    def read() -> None:
        runs = RunStore().recent()
        app.call_from_thread(app.push_screen, RecentRunsScreen(runs), opened)

    app.run_worker(read, thread=True, group="recent-runs")
