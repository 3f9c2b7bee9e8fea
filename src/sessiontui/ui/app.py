"""The Textual application: wiring only. Fleet logic lives in MainScreen, roles and sessions in
AccessController, forwards in ForwardBook."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

from textual import events, on
from textual.app import App
from textual.binding import BindingType
from textual.notifications import SeverityLevel
from textual.screen import ModalScreen, Screen

from sessiontui.config import DEFAULT_READY_TIMEOUT
from sessiontui.core.node import Node
from sessiontui.core.untrusted import terminal_text
from sessiontui.ui.access import AccessController
from sessiontui.ui.collector import RECLAIM
from sessiontui.ui.commands import SessiontuiCommands
from sessiontui.ui.favourites import MarksKeeper
from sessiontui.ui.forwarding import ForwardBook
from sessiontui.ui.keys import (
    ACCESS_REQUESTS_BINDINGS,
    APP_BINDINGS,
    DATABASES_BINDINGS,
    FORWARDS_BINDINGS,
    RUN_BINDINGS,
    RUN_CANCEL_BINDINGS,
    RUN_DIALOG_BINDINGS,
    SESSIONS_BINDINGS,
)
from sessiontui.ui.messages import ForwardChanged, ForwardFailed, SessionsStopped
from sessiontui.ui.node_access_flow import AccessRequestChanged, NodeAccessController
from sessiontui.ui.opening import SessionOpener
from sessiontui.ui.screens.main import MainScreen
from sessiontui.ui.services import AppServices
from sessiontui.ui.widgets.dialog_input import hold_early_key
from sessiontui.ui.widgets.node_list import NodeList
from sessiontui.ui.windows import WindowReport, WindowShells

if TYPE_CHECKING:
    from sessiontui.aws.clients import ClientFactory


SWITCH_INTERVAL = 0.001  # seconds a thread may hold the GIL while another waits (Python: 0.005)


class SessiontuiApp(App[int]):
    TITLE = "sessiontui"
    CSS_PATH = "app.tcss"
    BINDINGS: ClassVar[list[BindingType]] = APP_BINDINGS
    COMMANDS = App.COMMANDS | {SessiontuiCommands}

    def __init__(self, services: AppServices) -> None:
        super().__init__()
        self.services = services
        self.keymap: dict[str, str] = services.keymap_overrides()
        self.main_screen = MainScreen(services)
        ready_timeout = getattr(services.config, "ready_timeout", None)
        self.forwards = ForwardBook(
            self,
            supervisor_for=lambda region, held: self.opener.supervisor(region, held),
            held_like=lambda held: self.access.held_like(held),
            ready_timeout=float(ready_timeout or DEFAULT_READY_TIMEOUT),
        )
        self.access = AccessController(self, services, self.forwards, self.main_screen)
        self.opener = SessionOpener(
            self, services, self.access, self.forwards, lambda: self.main_screen.node_list.nodes
        )
        self.node_access = NodeAccessController(
            self,
            services,
            self.access,
            lambda: self.main_screen.node_list.nodes,
            lambda: self.main_screen.node_list.selected_node,
        )
        self.opener.node_access = self.node_access
        self.node_access.on_change = self.main_screen.refresh_details
        self.access.on_book = self.main_screen.refresh_details
        self.marks = MarksKeeper(self, services.marks_store)
        self.opener.on_opened = self.marks.touch
        self.database_panel: Any = None  # ui.screens.databases.DatabasePanelState, once opened
        self.windows = WindowShells(
            self, services, self.access, self.opener, changed=self.main_screen.refresh_details
        )

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = True,
    ) -> None:
        """Every toast is plain text: they quote node names and tags, which are anyone's who may
        tag a node, and a toast's markup would make `[@click=...]` in a Name a live action. Its
        line breaks are kept (errors come as lines); every other control shows as an escape."""
        super().notify(
            "\n".join(terminal_text(line) for line in message.split("\n")),
            title=terminal_text(title),
            severity=severity,
            timeout=timeout,
            markup=False,
        )

    def get_default_screen(self) -> Screen[Any]:
        return self.main_screen

    def binding_groups(self) -> list[tuple[str, list[BindingType]]]:
        return [
            ("everywhere", list(type(self).BINDINGS)),
            ("fleet", list(MainScreen.BINDINGS)),
            ("node list", list(NodeList.BINDINGS)),
            ("forwards panel", list(FORWARDS_BINDINGS)),
            ("access requests panel", list(ACCESS_REQUESTS_BINDINGS)),
            ("sessions panel", list(SESSIONS_BINDINGS)),
            ("databases panel", list(DATABASES_BINDINGS)),
            ("run dialog", list(RUN_DIALOG_BINDINGS)),
            ("run grid", list(RUN_BINDINGS)),
            ("run grid, x", list(RUN_CANCEL_BINDINGS)),
        ]

    def on_mount(self) -> None:
        # Worker threads run Python beside the UI (the listing's reader builds a Node per row,
        # a hundred rows a message): the UI thread, waiting for the GIL, got it back only when
        # the switch interval forced the worker to drop it, up to 5 ms each time, several times
        # a step. 1 ms bounds that wait; the cost is more switches while both threads are busy.
        sys.setswitchinterval(SWITCH_INTERVAL)
        if self.keymap:
            known = {getattr(b, "id", None) for _, group in self.binding_groups() for b in group}
            unknown = sorted(set(self.keymap) - known)
            if unknown:
                self.notify(f"keymap: no binding with id {', '.join(unknown)}", severity="warning")
            self.set_keymap(self.keymap)
        # `--version` of the plugin is a process spawn: not while the first frame is painted
        self.call_after_refresh(self.access.prefetch_plugin)
        self.call_after_refresh(self.marks.load)
        from sessiontui.ui.recovery import start_recovery

        self.call_after_refresh(start_recovery, self)
        self._catch_shutdown_signals()

    def _catch_shutdown_signals(self) -> None:
        """SIGTERM and SIGHUP end the app as `q` does: its forwards are terminated, the terminal
        is restored and what the run holds (a demo's sandbox and its temp folder) is cleaned up
        on the way out, instead of the process ending where it stands."""
        import asyncio
        import contextlib
        import signal

        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGHUP):
            # not on every platform, nor outside the main thread (a test's app)
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(signum, self._end_on_signal, signum)

    def _end_on_signal(self, signum: int) -> None:
        import signal

        name = signal.Signals(signum).name
        code = 128 + int(signum)
        if self.forwards.running_count():
            self.access.end_sessions(f"sessiontui received {name}", then=lambda: self.exit(code))
        else:
            self.exit(code)

    # ---- app-wide actions -------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # a dialog is answered or closed first; q there must not drop the operator out of the app
        return not (action in ("quit", "help") and isinstance(self.screen, ModalScreen))

    # Dialogs and panels are imported when they open: none is needed for the first frame.

    def action_help(self) -> None:
        from sessiontui.ui.screens.help import HelpScreen, binding_rows

        if not isinstance(self.screen, HelpScreen):
            rows = binding_rows(self, self.binding_groups())
            self.push_screen(HelpScreen(rows, note=self.services.demo_help))

    async def action_quit(self) -> None:
        from sessiontui.ui.screens.confirm import ConfirmScreen

        running = self.forwards.running_count()
        windows = self.windows.quit_warning()
        if not running and not windows:
            self.exit(0)
            return

        def answered(yes: bool | None) -> None:
            if yes and running:
                self.access.end_sessions("sessiontui is exiting", then=lambda: self.exit(0))
            elif yes:
                self.exit(0)

        plural = "s" if running != 1 else ""
        question = f"{running} port forward{plural} running. Quit and terminate them?"
        if windows:
            question = f"{question}\n{windows}" if running else f"{windows} Quit?"
        self.push_screen(ConfirmScreen(question, yes="Quit", no="Stay"), answered)

    # ---- what the screens ask for -----------------------------------------------------------

    def listing_factory(self) -> ClientFactory:
        return self.access.listing_factory()

    def stamp_nodes(self, nodes: list[Node]) -> list[Node]:
        return self.access.stamp_nodes(nodes)

    def listings(self) -> list[tuple[ClientFactory, Callable[[list[Node]], list[Node]]]]:
        return self.access.listings()

    def on_tick(self) -> None:
        self.access.tick()
        self.forwards.tick()

    def connect(self, node: Node | None) -> None:
        self.opener.connect(node)

    def forward(self, node: Node | None) -> None:
        self.opener.forward(node)

    def toggle_mark(self, node_list: NodeList) -> None:
        from sessiontui.ui.node_access_flow import mark_target

        mark_target(self, node_list)

    def start_run(self, node_list: NodeList) -> None:
        from sessiontui.ui.run_command import start_run

        start_run(self, node_list)

    def show_recent_runs(self) -> None:
        from sessiontui.ui.run_command import show_recent

        show_recent(self)

    def show_forwards(self) -> None:
        from sessiontui.ui.screens.forwards import ForwardsScreen

        if not isinstance(self.screen, ForwardsScreen):
            self.push_screen(ForwardsScreen(self.forwards, self.services.clock))

    def action_sessions(self) -> None:
        from sessiontui.ui.screens.sessions import open_sessions

        open_sessions(self)

    def action_databases(self) -> None:
        from sessiontui.ui.screens.databases import open_databases

        open_databases(self)

    def action_doctor(self) -> None:
        from sessiontui.ui.screens.doctor import open_doctor

        open_doctor(self)

    def choose_role(self) -> None:
        self.access.choose_role()

    def reauthenticate(self) -> None:
        self.access.reauthenticate()

    def logout(self) -> None:
        self.access.logout()

    # ---- what the workers say ---------------------------------------------------------------

    @on(ForwardChanged)
    def _forward_changed(self, message: ForwardChanged) -> None:
        self.forwards.changed(message)
        self._refresh_panel()

    @on(ForwardFailed)
    def _forward_failed(self, message: ForwardFailed) -> None:
        self.forwards.failed(message)
        self._refresh_panel()

    def _refresh_panel(self) -> None:
        from sessiontui.ui.screens.forwards import ForwardsScreen

        # the panel also redraws each second; a state change should not wait for that
        if isinstance(self.screen, ForwardsScreen):
            self.screen.refresh_rows()

    @on(WindowReport)
    def _window_report(self, message: WindowReport) -> None:
        self.windows.report(message)

    @on(AccessRequestChanged)
    def _access_request_changed(self, message: AccessRequestChanged) -> None:
        self.node_access.changed(message)

    def on_unmount(self) -> None:
        self.node_access.stop()  # waits for a pending request stop polling

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.Key | events.MouseDown):
            RECLAIM.input()  # the operator is here: no long collector pass now
        if isinstance(event, events.Key) and not event.is_forwarded:
            await hold_early_key(self.screen)
        await super().on_event(event)

    @on(SessionsStopped)
    def _sessions_stopped(self, message: SessionsStopped) -> None:
        if message.count:
            self.notify(f"{message.count} session(s) ended: {message.why}", timeout=6)
        if message.then is not None:
            message.then()
