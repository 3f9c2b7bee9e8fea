"""The sessions panel (S): the operator's Active sessions in the regions in view, wherever they
were started; end one (x) or all (X). DescribeSessions and TerminateSession run in workers."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static

from sessiontui.ui.keys import SESSIONS_BINDINGS
from sessiontui.ui.widgets.row_table import refill, selected

if TYPE_CHECKING:
    from sessiontui.core.active_sessions import ActiveSession
    from sessiontui.operations.operator_sessions import OperatorSessions


class SessionsScreen(ModalScreen[None]):
    BINDINGS = SESSIONS_BINDINGS

    DEFAULT_CSS = """
    SessionsScreen { align: center middle; }
    SessionsScreen > Vertical {
        width: 95%; height: 70%; border: round $primary; background: $surface; padding: 0 1;
    }
    SessionsScreen DataTable { height: 1fr; }
    SessionsScreen .hint { color: $text-muted; }
    """

    COLUMNS = (
        "Target",
        "Document",
        "Reason",
        "Started",
        "Left",
        "Region",
        "Role",
        "Session",
        "Note",
    )

    def __init__(self, service: OperatorSessions, clock: Any) -> None:
        super().__init__()
        self.service = service
        self.clock = clock
        self.sessions: list[ActiveSession] = []
        self.loaded = False

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = "Active sessions (yours)"
            table: DataTable[Text] = DataTable(cursor_type="row", id="sessions-table")
            table.add_columns(*self.COLUMNS)
            yield table
            yield Static("loading…", id="sessions-status")
            yield Static("x terminate · X terminate all · R refresh · Esc close", classes="hint")

    def on_mount(self) -> None:
        self.query_one(DataTable).focus()
        self.reload()
        self.set_interval(1.0, self._redraw)

    @work(thread=True, group="sessions", exclusive=True, exit_on_error=False)
    def reload(self) -> None:
        try:
            sessions, warnings = self.service.active()
        except Exception as exc:  # denied, unreachable: say so in the panel, keep it open
            self.app.call_from_thread(self._show, [], [getattr(exc, "message", str(exc))])
            return
        self.app.call_from_thread(self._show, sessions, warnings)

    def _show(self, sessions: list[ActiveSession], warnings: list[str]) -> None:
        self.sessions = sessions
        self.loaded = True
        count = f"{len(sessions)} Active session{'s' if len(sessions) != 1 else ''}"
        status = "; ".join([count, *warnings])
        self.query_one("#sessions-status", Static).update(status)
        self._redraw()

    def _redraw(self) -> None:
        from sessiontui.operations.operator_sessions import session_rows

        rows = session_rows(self.sessions, self.clock.now())
        keyed = ((s.session_id, row) for s, row in zip(self.sessions, rows, strict=True))
        refill(self.query_one(DataTable), keyed)

    def _selected(self) -> ActiveSession | None:
        return selected(self.query_one(DataTable), self.sessions)

    @work(thread=True, group="sessions-end", exit_on_error=False)
    def _terminate(self, targets: list[ActiveSession]) -> None:
        ended = [self.service.terminate(s) for s in targets]
        lines = [
            f"terminated {e.session.session_id} ({e.session.target})"
            if e.ok
            else f"could not terminate {e.session.session_id}: {e.error}"
            for e in ended
        ]
        failed = any(not e.ok for e in ended)
        self.app.call_from_thread(
            self.app.notify,
            "\n".join(lines) or "nothing to terminate",
            title="sessions",
            severity="error" if failed else "information",
            timeout=8,
        )
        self.app.call_from_thread(self.reload)

    def action_terminate(self) -> None:
        selected = self._selected()
        if selected is not None:
            # as X asks: the session may be a shell someone is typing in, in another terminal
            self._confirm(
                [selected], f"Terminate session {selected.session_id} on {selected.target}?"
            )

    def action_terminate_all(self) -> None:
        targets = list(self.sessions)
        if not targets:
            return
        plural = "s" if len(targets) != 1 else ""
        self._confirm(targets, f"Terminate {len(targets)} Active session{plural} of yours?")

    def _confirm(self, targets: list[ActiveSession], question: str) -> None:
        from sessiontui.ui.screens.confirm import ConfirmScreen

        def answered(yes: bool | None) -> None:
            if yes:
                self._terminate(targets)

        self.app.push_screen(ConfirmScreen(question, yes="Terminate", no="Keep"), answered)

    def action_refresh(self) -> None:
        self.reload()

    def action_close(self) -> None:
        self.dismiss(None)


def open_sessions(app: Any) -> None:
    """The panel for the run's runtime (the CLI builds one; without it there is nothing to ask)."""
    if isinstance(app.screen, SessionsScreen):
        return
    runtime = app.services.runtime
    if runtime is None:
        app.notify("the sessions panel needs sessiontui's runtime", severity="warning")
        return
    from sessiontui.operations.operator_sessions import OperatorSessions

    app.push_screen(SessionsScreen(OperatorSessions(runtime), app.services.clock))
