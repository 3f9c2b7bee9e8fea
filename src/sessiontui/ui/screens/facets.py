"""Tag keys and values with counts; choosing one adds a K=V term to the filter."""

from __future__ import annotations

import shlex

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from sessiontui.core.facets import ACCOUNT_KEY
from sessiontui.ui.plain import plain
from sessiontui.ui.widgets.dialog_input import EarlyKeysDialog


def facet_term(key: str, value: str) -> str:
    """A K=V term the query parser reads back exactly, quoting when spaces need it."""
    term = f"account:{value}" if key == ACCOUNT_KEY else f"{key}={value}"
    return shlex.quote(term) if any(c.isspace() or c in "\"'" for c in term) else term


class FacetsScreen(EarlyKeysDialog[str | None]):
    """Returns the chosen term, or None. Typing narrows the list at once (the search box has
    the focus; Up and Down move in the list): it ignored typing until Tab reached the box."""

    BINDINGS = [
        Binding("escape", "cancel", "Close", id="facets.close"),
        Binding("down", "move(1)", "Next tag", show=False, id="facets.down"),
        Binding("up", "move(-1)", "Previous tag", show=False, id="facets.up"),
    ]
    AUTO_FOCUS = "#facet-search"

    DEFAULT_CSS = """
    FacetsScreen { align: center middle; }
    FacetsScreen > Vertical {
        width: 70; height: 80%; border: round $primary; background: $surface; padding: 0 1;
    }
    FacetsScreen OptionList { height: 1fr; border: none; }
    FacetsScreen .hint { color: $text-muted; }
    """

    def __init__(self, counts: dict[str, dict[str, int]], shown: int, unreadable: str = "") -> None:
        super().__init__()
        self.counts = counts
        self.shown = shown
        self.unreadable = unreadable  # hybrid nodes whose tags this access may not read: why
        self.terms: list[tuple[str, str, int]] = [
            (k, v, n)
            # keys that group many nodes are the useful ones; unique names go last
            for k in sorted(counts, key=lambda k: (k == "Name", len(counts[k]), k.casefold()))
            for v, n in sorted(counts[k].items(), key=lambda kv: (-kv[1], kv[0].casefold()))
        ]

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = f"Tags among {self.shown} shown nodes"
            yield Input(placeholder="type to narrow the tags (Name tags too)", id="facet-search")
            yield OptionList(id="facet-options")
            if self.unreadable:
                yield Static(plain(self.unreadable), id="facet-unreadable", classes="hint")
            yield Static(
                "Up/Down choose; Enter adds the tag to the filter; Esc closes.", classes="hint"
            )

    def on_mount(self) -> None:
        self._fill("")

    def action_move(self, step: int) -> None:
        options = self.query_one(OptionList)
        if options.option_count and options.highlighted is not None:
            last = options.option_count - 1
            options.highlighted = max(0, min(last, options.highlighted + step))

    def _fill(self, needle: str) -> None:
        options = self.query_one(OptionList)
        options.clear_options()
        low = needle.casefold()
        items = []
        names = 0
        for k, v, n in self.terms:
            label = f"{k}{v} ({n})" if k == ACCOUNT_KEY else f"{k}={v} ({n})"
            if low and low not in label.casefold():
                continue
            if k == "Name" and not low:
                names += 1  # a name per node crowded out the tags that group nodes
                continue
            items.append(Option(plain(label), id=facet_term(k, v)))
        if not items:
            items.append(Option("no tags", disabled=True))
        if names:
            items.append(Option(f"Name: {names} names, type to find one", disabled=True))
        options.add_options(items)
        options.highlighted = 0 if items and not items[0].disabled else None

    def option_labels(self) -> list[str]:
        options = self.query_one(OptionList)
        return [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]

    def on_input_changed(self, event: Input.Changed) -> None:
        self._fill(event.value)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        options = self.query_one(OptionList)
        if options.highlighted is not None:
            option = options.get_option_at_index(options.highlighted)
            if option.id:
                self.dismiss(option.id)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        if event.option.id:
            self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)
