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
    from sessiontui.operations.run_command import Documents, RunSpec, plan
    from sessiontui.ui.screens.run import RunDialog

    marked = nodes.marked_nodes()
    targets = marked or nodes.visible_nodes()
    tags = () if marked else _tag_intent(nodes)
    if not targets:
        app.notify("no node to run a command on: mark some (space) or widen the filter", timeout=4)
        return
    held = app.access.alive()
    if not held and app.access.has_offers():
        app.notify("choose a role to run a command", timeout=4)
        # the config's [run] role first in the picker, as --run takes it without --role
        default = getattr(getattr(app.services.config, "run", None), "role", None)
        app.access.choose_role(then=lambda: start_run(app, nodes), preselect=default)
        return
    accesses = [h.access for h in held]
    preview, planned = plan(targets, accesses, RunSpec(tags=tags))
    needing = ", ".join(a.name for a in accesses if a.reason_required)
    documents = None
    if planned:  # the documents of the first node's account and region, with its access
        first = planned[0]
        factory = next((h.factory for h in held if h.access is first.access), None)
        documents = Documents(factory or app.services.factory, first.node.region)

    def replan(document: str, platforms: Any) -> Any:
        spec = RunSpec(document=document, tags=tags)
        return plan(targets, accesses, spec, list(platforms) or None)[0]

    def answered(request: Any) -> None:
        if request is not None:
            _run(app, nodes, targets, held, request, tags)

    dialog = RunDialog(preview, needing, app.services.reason or "", documents, replan)
    app.push_screen(dialog, answered)


def _tag_intent(nodes: NodeList) -> tuple[tuple[str, str], ...]:
    """A filter of tags and nothing else means "the nodes with these tags": AWS is asked by
    tag (Targets) where it reaches the same nodes."""
    query = nodes.current_query
    if query.tags and not query.words and len(query.predicates) == len(query.tags):
        return query.tags
    return ()


def _run(
    app: SessiontuiApp,
    nodes: NodeList,
    targets: list[Any],
    held: list[Any],
    request: Any,
    tags: tuple[tuple[str, str], ...] = (),
) -> None:
    from dataclasses import replace

    from sessiontui.operations.run_command import CommandRun, plan
    from sessiontui.ui.screens.run import RunScreen, run_spec

    spec = replace(run_spec(request, app.services.config), tags=tags)
    accesses = [h.access for h in held]
    factories = {h.access.name: h.factory for h in held}
    _, planned = plan(targets, accesses, spec, list(request.platforms) or None)

    def factory_for(access: Access | None) -> Any:
        found = factories.get(access.name) if access is not None else None
        return found or app.services.factory

    run = CommandRun(planned, spec, factory_for, app.access.audit, app.services.clock)
    what = request.script.splitlines()[0] if request.script else request.document
    title = f"run: {what}" + (f"  (reason: {spec.reason})" if spec.reason else "")
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
