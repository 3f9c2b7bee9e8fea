"""Every key, read from the bindings themselves, with the keymap applied."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static


@dataclass(frozen=True)
class KeyRow:
    key: str
    description: str
    binding_id: str
    where: str


def _as_binding(item: BindingType) -> Binding | None:
    return item if isinstance(item, Binding) else None


def binding_rows(app: App[Any], groups: list[tuple[str, list[BindingType]]]) -> list[KeyRow]:
    keymap: dict[str, str] = dict(getattr(app, "keymap", {}) or {})
    rows: list[KeyRow] = []
    for where, bindings in groups:
        for item in bindings:
            binding = _as_binding(item)
            if binding is None or not binding.id:
                continue
            keys = keymap.get(binding.id)
            if keys:
                shown = ", ".join(
                    app.get_key_display(Binding(k.strip(), binding.action)) for k in keys.split(",")
                )
            else:
                shown = ", ".join(
                    app.get_key_display(Binding(k.strip(), binding.action, key_display=None))
                    if not binding.key_display or "," in binding.key
                    else binding.key_display
                    for k in binding.key.split(",")
                )
            rows.append(KeyRow(shown, binding.description or binding.action, binding.id, where))
    return rows


class KeyTable(DataTable[str]):
    """The keys, one a row. Home and End go to the first and last row: DataTable's own Home and
    End scroll sideways, which in a table of rows only cut off its Key column."""

    BINDINGS = [
        Binding("home", "scroll_top", "First", show=False, id="help.top"),
        Binding("end", "scroll_bottom", "Last", show=False, id="help.bottom"),
    ]


class HelpScreen(ModalScreen[None]):
    BINDINGS = [
        Binding("escape,q,question_mark", "dismiss", "Close", id="help.close"),
    ]

    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > Vertical {
        width: 100%; max-width: 120; height: 80%;
        border: round $primary; background: $surface; padding: 0 1;
    }
    HelpScreen DataTable { height: 1fr; }
    HelpScreen .hint { color: $text-muted; }
    """

    def __init__(self, rows: list[KeyRow], note: str | None = None) -> None:
        super().__init__()
        self.rows = rows
        self.note = note  # --demo: its sandbox's endpoint and the ways in

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = "Keys"
            # the Key column stays put when a narrow terminal scrolls the others sideways
            table = KeyTable(cursor_type="row", zebra_stripes=True, fixed_columns=1, id="keys")
            table.add_columns("Key", "Action", "Binding id", "Where")
            for r in self.rows:
                table.add_row(r.key, r.description, r.binding_id, r.where)
            yield table
            yield Static(
                'Change a key in config.toml: [keymap] followed by  binding-id = "key".  '
                "Esc closes.",
                classes="hint",
                markup=False,  # `[keymap]` is the config's table, not a Rich style
            )
            if self.note:
                yield Static(self.note, id="demo-note", classes="hint", markup=False)

    def action_dismiss(self, result: None = None) -> None:  # type: ignore[override]
        self.dismiss(None)
