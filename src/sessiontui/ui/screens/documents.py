"""The document picker of the run dialog: the account's Command documents (ListDocuments), searched
on AWS's side as the operator types, a page of 50 at a time as AWS pages them.

AWS is called only from thread workers; names and descriptions come from AWS and are shown through
ui/plain.py.
"""

from __future__ import annotations

from typing import Any, ClassVar, Protocol

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.timer import Timer
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from sessiontui.core.errors import SessiontuiError
from sessiontui.ui.plain import plain

MORE = "more"  # the option that asks AWS for the next page
SEARCH_PAUSE = 0.3  # seconds of no typing before AWS is asked again


class DocumentSource(Protocol):
    """Where the dialog reads documents from (blocking: called in workers)."""

    def page(self, search: str, token: str | None) -> tuple[list[dict[str, Any]], str | None]: ...

    def parameters(self, name: str) -> list[dict[str, Any]]: ...


class DocumentPicker(ModalScreen[dict[str, Any] | None]):
    """Enter picks a document (its ListDocuments row); `more` loads AWS's next page."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close", id="documents.close"),
        Binding("down", "to_list", "List", show=False, id="documents.list"),
    ]
    DEFAULT_CSS = """
    DocumentPicker { align: center middle; }
    DocumentPicker > Vertical {
        width: 100; height: 80%; border: thick $primary; background: $surface; padding: 0 1;
    }
    DocumentPicker #documents-note { color: $text-muted; }
    """

    def __init__(self, source: DocumentSource) -> None:
        super().__init__()
        self.source = source
        self.rows: list[dict[str, Any]] = []
        self.token: str | None = None
        self.search = ""
        self._pause: Timer | None = None

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = "Documents (ListDocuments)"
            yield Input(placeholder="search by name, e.g. Patch", id="documents-search")
            yield OptionList(id="documents-list")
            yield Static("asking AWS...", id="documents-note")

    def on_mount(self) -> None:
        self.query_one("#documents-search", Input).focus()
        self._load("", None)

    @on(Input.Changed, "#documents-search")
    def _typed(self, event: Input.Changed) -> None:
        if self._pause is not None:
            self._pause.stop()
        text = event.value.strip()
        self._pause = self.set_timer(SEARCH_PAUSE, lambda: self._load(text, None))

    @on(Input.Submitted, "#documents-search")
    def _submitted(self, event: Input.Submitted) -> None:
        options = self.query_one("#documents-list", OptionList)
        if options.option_count:
            options.focus()
            options.highlighted = 0

    @work(thread=True, exclusive=True, group="documents")
    def _load(self, search: str, token: str | None) -> None:
        try:
            rows, after = self.source.page(search, token)
        except SessiontuiError as exc:
            self.app.call_from_thread(self._show_error, exc.message)
            return
        self.app.call_from_thread(self._show, search, token is not None, rows, after)

    def _show_error(self, message: str) -> None:
        self.query_one("#documents-note", Static).update(plain(message))

    def _show(self, search: str, more: bool, rows: list[dict[str, Any]], after: str | None) -> None:
        if search != self.query_one("#documents-search", Input).value.strip():
            return  # an answer to what was typed before: a newer question is on its way
        self.search = search
        self.rows = (self.rows if more else []) + rows
        self.token = after
        options = self.query_one("#documents-list", OptionList)
        highlighted = options.highlighted
        options.clear_options()
        options.add_options([Option(plain(_label(r))) for r in self.rows])
        if after:
            options.add_option(Option("more... (the next page from AWS)", id=MORE))
        if more and highlighted is not None:
            options.highlighted = min(highlighted, options.option_count - 1)
        shown = f"{len(self.rows)} document{'s' if len(self.rows) != 1 else ''}"
        self.query_one("#documents-note", Static).update(
            shown + (", more on AWS" if after else "") + "  (Enter picks, Esc closes)"
        )

    @on(OptionList.OptionSelected, "#documents-list")
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        if event.option.id == MORE:
            self._load(self.search, self.token)
            return
        if 0 <= event.option_index < len(self.rows):
            self.dismiss(self.rows[event.option_index])

    def action_to_list(self) -> None:
        self.query_one("#documents-list", OptionList).focus()

    def action_close(self) -> None:
        self.dismiss(None)


def _label(row: dict[str, Any]) -> str:
    platforms = "/".join(str(p) for p in row.get("PlatformTypes") or []) or "-"
    owner = str(row.get("Owner") or "")
    return f"{row.get('Name', '')}  ({'AWS' if owner == 'Amazon' else owner}; {platforms})"
