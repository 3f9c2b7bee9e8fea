"""The requests panel (A): the operator's just-in-time access requests, kept across restarts,
live: id, targets, reason, state, time left. Enter works under an approved one."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static

from sessiontui.core.access_request import APPROVED
from sessiontui.core.durations import format_remaining
from sessiontui.ui.keys import ACCESS_REQUESTS_BINDINGS
from sessiontui.ui.widgets.row_table import refill, selected

if TYPE_CHECKING:
    from datetime import datetime

    from sessiontui.core.access_request import AccessRequest
    from sessiontui.core.clock import Clock
    from sessiontui.ui.node_access_flow import NodeAccessController


def request_row(request: AccessRequest, now: datetime) -> tuple[str, ...]:
    status = request.live_status(now)
    left = request.seconds_left(now) if status == APPROVED else None
    return (
        request.request_id,
        request.targets_text(),
        request.reason,
        status,
        format_remaining(left) if left is not None else "-",
    )


class AccessRequestsScreen(ModalScreen[None]):
    BINDINGS = ACCESS_REQUESTS_BINDINGS

    DEFAULT_CSS = """
    AccessRequestsScreen { align: center middle; }
    AccessRequestsScreen > Vertical {
        width: 95%; height: 60%; border: round $primary; background: $surface; padding: 0 1;
    }
    AccessRequestsScreen DataTable { height: 1fr; }
    AccessRequestsScreen .hint { color: $text-muted; }
    """

    COLUMNS = ("Request", "Targets", "Reason", "State", "Left")

    def __init__(self, controller: NodeAccessController, clock: Clock) -> None:
        super().__init__()
        self.controller = controller
        self.clock = clock

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = "Just-in-time access requests"
            table: DataTable[Text] = DataTable(cursor_type="row", id="access-requests-table")
            table.add_columns(*self.COLUMNS)
            yield table
            yield Static(
                "Enter work under an approved request · a new request · g check states now · "
                "Esc close",
                classes="hint",
            )

    def on_mount(self) -> None:
        self.refresh_rows()
        self.set_interval(1.0, self.refresh_rows)
        self.query_one(DataTable).focus()

    def refresh_rows(self) -> None:
        now = self.clock.now()
        rows = ((r.request_id, request_row(r, now)) for r in self.controller.requests())
        refill(self.query_one(DataTable), rows)

    def _selected(self) -> AccessRequest | None:
        return selected(self.query_one(DataTable), self.controller.requests())

    def action_use(self) -> None:
        request = self._selected()
        if request is not None:
            self.controller.use(request)

    def action_check(self) -> None:
        self.controller.check_all()

    def action_new(self) -> None:
        self.dismiss(None)
        self.controller.request(None)

    def action_close(self) -> None:
        self.dismiss(None)
