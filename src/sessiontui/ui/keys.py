"""Every operator binding, with the id a `[keymap]` entry in the config refers to.

The help screen and the footer are derived from these lists, so a key is documented where it
is defined and a keymap override shows up everywhere.
"""

from __future__ import annotations

from textual.binding import Binding, BindingType

# app-wide: work on every screen
APP_BINDINGS: list[BindingType] = [
    Binding("question_mark", "help", "Help", key_display="?", id="help"),
    Binding("q", "quit", "Quit", id="quit"),
    Binding("ctrl+p", "command_palette", "Palette", priority=True, id="palette"),
]

# the fleet screen: what an operator does to nodes
MAIN_BINDINGS: list[BindingType] = [
    Binding("enter", "connect", "Shell", id="connect"),
    Binding("f", "forward", "Forward", id="forward"),
    Binding("asterisk", "toggle_favourite", "Favourite", key_display="*", id="favourite"),
    Binding("F", "forwards", "Forwards", key_display="F", id="forwards"),
    Binding("r", "role", "Role", id="role"),
    Binding("slash", "focus_filter", "Filter", key_display="/", id="filter"),
    Binding("t", "facets", "Tags", id="facets"),
    Binding("R", "refresh", "Refresh", key_display="R", id="refresh"),
    Binding("o", "toggle_out_of_scope", "Out of scope", id="toggle-out-of-scope"),
    Binding("d", "toggle_details", "Details", show=False, id="toggle-details"),
    Binding("escape", "focus_list", "Back to list", show=False, id="focus-list"),
]

# the forwards panel (F)
FORWARDS_BINDINGS: list[BindingType] = [
    Binding("x", "stop", "Stop forward", id="forwards.stop"),
    Binding("s", "restart", "Restart expired", id="forwards.restart"),
    Binding("c", "copy", "Copy client", id="forwards.copy"),
    Binding("escape,F", "close", "Close", id="forwards.close"),
]
