"""The forwards panel: every forward of this run, live; stop one, restart those expiry ended."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static

from sessiontui.core.session_end import describe_end
from sessiontui.ui.keys import FORWARDS_BINDINGS
from sessiontui.ui.widgets.row_table import refill, selected

if TYPE_CHECKING:
    from datetime import datetime

    from sessiontui.core.clock import Clock
    from sessiontui.ui.forwarding import ForwardBook, ForwardEntry


def entry_row(entry: ForwardEntry, now: datetime) -> tuple[str, ...]:
    fw = entry.forward
    local = f"127.0.0.1:{fw.local_port}" if fw and fw.local_port else "…"
    if entry.request.local_port and not (fw and fw.local_port):
        local = f"127.0.0.1:{entry.request.local_port}"
    target = f"{entry.node.display_name} ({entry.node.id})"
    remote = f"{entry.request.host or 'node'}:{entry.request.remote_port}"
    if entry.database:
        remote = f"{entry.database}: {remote}"
    if fw is None:
        state = "failed" if entry.error else "starting"
    else:
        state = str(fw.state)
        if fw.ended and fw.how:
            state = f"ended: {fw.how}"
        elif fw.healing:
            state = "healing"
        if fw.heals:
            state += f" (healed {fw.heals})"
    left = describe_end(fw.session_end(), now) if fw is not None and not fw.ended else "-"
    return (
        local,
        target,
        remote,
        state,
        # the plugin says "Connection accepted" for the first client only: a count stayed at 1
        "yes" if fw is not None and fw.connections else "no",
        left,
        (fw.healing or entry.client())
        if fw is not None and not fw.ended
        else (entry.error or (fw.reason if fw else "")),
    )


class ForwardsScreen(ModalScreen[None]):
    BINDINGS = FORWARDS_BINDINGS

    DEFAULT_CSS = """
    ForwardsScreen { align: center middle; }
    ForwardsScreen > Vertical {
        width: 95%; height: 70%; border: round $primary; background: $surface; padding: 0 1;
    }
    ForwardsScreen DataTable { height: 1fr; }
    ForwardsScreen .hint { color: $text-muted; }
    """

    COLUMNS = ("Local", "Target", "Remote", "State", "Used", "Left", "Client / why")

    def __init__(self, book: ForwardBook, clock: Clock) -> None:
        super().__init__()
        self.book = book
        self.clock = clock

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = "Port forwards"
            table: DataTable[Text] = DataTable(cursor_type="row", id="forwards-table")
            table.add_columns(*self.COLUMNS)
            yield table
            yield Static(
                "x stop · s restart forwards that expiry ended (same local ports) · "
                "c copy the client command · Esc close",
                classes="hint",
            )

    def on_mount(self) -> None:
        self.refresh_rows()
        self.set_interval(1.0, self.refresh_rows)
        self.query_one(DataTable).focus()

    def refresh_rows(self) -> None:
        now = self.clock.now()
        rows = ((str(e.key), entry_row(e, now)) for e in self.book.entries())
        refill(self.query_one(DataTable), rows)

    def _selected(self) -> ForwardEntry | None:
        return selected(self.query_one(DataTable), self.book.entries())

    def action_stop(self) -> None:
        entry = self._selected()
        if entry is not None:
            self.book.stop(entry)

    def action_restart(self) -> None:
        if self.book.restart_expired():
            self.refresh_rows()

    def action_copy(self) -> None:
        entry = self._selected()
        client = entry.client() if entry is not None else ""
        if client:
            self.app.copy_to_clipboard(client)
            self.notify(f"copied: {client}", timeout=3)

    def action_close(self) -> None:
        self.dismiss(None)
