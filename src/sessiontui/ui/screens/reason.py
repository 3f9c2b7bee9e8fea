"""Why the operator opens this session: recorded on StartSession and in the audit log."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from sessiontui.ui.plain import plain
from sessiontui.ui.widgets.dialog_input import DialogInput


class ReasonScreen(ModalScreen[str | None]):
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="reason.cancel")]

    DEFAULT_CSS = """
    ReasonScreen { align: center middle; }
    ReasonScreen > Vertical {
        width: 72; height: auto; border: thick $primary; background: $surface; padding: 0 1;
    }
    ReasonScreen .error { color: $text-error; }
    """

    def __init__(self, role: str, what: str, default: str | None = None) -> None:
        super().__init__()
        self.role = role
        self.what = what
        self.default = default or ""

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = "Reason"
            yield Static(  # `what` names a node
                plain(f"Role {self.role} asks why you open {self.what} (a ticket, a sentence):")
            )
            yield DialogInput(
                value=self.default, placeholder="TICKET-123: restart the worker", id="reason"
            )
            yield Static("", id="reason-error", classes="error")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    def submit(self, field: Input) -> None:
        text = field.value.strip()
        if len(text) < 3:
            self.query_one("#reason-error", Static).update("a reason is required")
            return
        self.dismiss(text)

    def action_cancel(self) -> None:
        self.dismiss(None)
