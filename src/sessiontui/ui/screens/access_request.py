"""The just-in-time access request dialog: a reason (required, 1 to 256 characters) and the
targets: the selected node, up to five nodes by name or id, or one tag (`project=Payments`)."""

from __future__ import annotations

from dataclasses import dataclass

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from sessiontui.core.access_request import MAX_REASON, MAX_TARGETS
from sessiontui.ui.plain import plain
from sessiontui.ui.widgets.dialog_input import DialogInput


@dataclass(frozen=True)
class AccessAsk:
    reason: str
    targets: tuple[str, ...]  # names or ids; or a single "K=V" tag target


def split_targets(text: str) -> tuple[str, ...]:
    return tuple(t.strip() for t in text.split(",") if t.strip())


def targets_problem(targets: tuple[str, ...]) -> str:
    """What is wrong with the targets as typed, in words; "" when nothing is."""
    if not targets:
        return "name at least one node (or a tag such as project=Payments)"
    tags = [t for t in targets if "=" in t]
    if tags and len(targets) > 1:
        return "a tag target stands alone: one K=V, or up to five nodes"
    if len(targets) > MAX_TARGETS:
        return f"at most {MAX_TARGETS} nodes in one request, not {len(targets)}"
    return ""


def reason_problem(reason: str) -> str:
    if not reason:
        return "a reason is required (a ticket, a sentence)"
    if len(reason) > MAX_REASON:
        return f"the reason is {len(reason)} characters; AWS takes at most {MAX_REASON}"
    return ""


class AccessRequestScreen(ModalScreen[AccessAsk | None]):
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="access-request.cancel")]

    DEFAULT_CSS = """
    AccessRequestScreen { align: center middle; }
    AccessRequestScreen > Vertical {
        width: 80; height: auto; border: thick $primary; background: $surface; padding: 0 1;
    }
    AccessRequestScreen .error { color: $text-error; }
    AccessRequestScreen .hint { color: $text-muted; }
    """

    def __init__(self, targets: str, why: str = "", reason: str = "") -> None:
        super().__init__()
        self.targets = targets
        self.why = why  # e.g. the StartSession refusal that brought the operator here
        self.default_reason = reason

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = "Request just-in-time node access"
            if self.why:
                yield Static(plain(self.why), id="access-why")  # AWS's words, node names
            yield Static("Reason (1-256 characters; approvers read it):")
            yield DialogInput(
                value=self.default_reason,
                placeholder="INC-1234: disk full on the ledger",
                id="access-reason",
            )
            yield Static(
                "Targets: up to five nodes (names or ids, comma-separated) or one tag K=V:"
            )
            yield DialogInput(value=self.targets, id="access-targets")
            yield Static("", id="access-error", classes="error")
            yield Static("Enter to send · Esc to cancel", classes="hint")

    def on_mount(self) -> None:
        self.query_one("#access-reason", Input).focus()

    def submit(self, field: Input) -> None:
        reason = self.query_one("#access-reason", Input).value.strip()
        targets = split_targets(self.query_one("#access-targets", Input).value)
        problem = reason_problem(reason) or targets_problem(targets)
        if problem:
            self.query_one("#access-error", Static).update(problem)
            return
        self.dismiss(AccessAsk(reason, targets))

    def action_cancel(self) -> None:
        self.dismiss(None)
