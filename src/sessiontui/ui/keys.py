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
    Binding("w", "window_shell", "Shell in a window", id="window-shell"),
    Binding("f", "forward", "Forward", id="forward"),
    Binding("asterisk", "toggle_favourite", "Favourite", key_display="*", id="favourite"),
    Binding("F", "forwards", "Forwards", key_display="F", id="forwards"),
    Binding("S", "app.sessions", "Sessions", key_display="S", id="sessions"),
    Binding("D", "app.databases", "Databases", key_display="D", id="databases"),
    Binding("r", "role", "Role", id="role"),
    Binding("space", "toggle_mark", "Mark", id="mark"),
    Binding("a", "request_access", "Request access", id="request-access"),
    Binding("e", "run_command", "Run command", id="run"),
    Binding("E", "recent_runs", "Runs", key_display="E", show=False, id="recent-runs"),
    Binding("A", "access_requests", "Requests", key_display="A", id="access-requests"),
    Binding("slash", "focus_filter", "Filter", key_display="/", id="filter"),
    Binding("t", "facets", "Tags", id="facets"),
    Binding("R", "refresh", "Refresh", key_display="R", id="refresh"),
    Binding("o", "toggle_out_of_scope", "Out of scope", id="toggle-out-of-scope"),
    Binding("d", "toggle_details", "Details", show=False, id="toggle-details"),
    Binding("escape", "focus_list", "Back to list", show=False, id="focus-list"),
]

# The footer shows the keys that fit, taken in this order (the rest after, in the bindings'
# order), with these pinned at its right end: a narrow terminal keeps the way to every key.
FOOTER_PINNED: frozenset[str] = frozenset({"help", "quit"})
FOOTER_PRIORITY: tuple[str, ...] = (
    "connect",
    "role",
    "filter",
    "forward",
    "forwards",
    "sessions",
    "window-shell",
    "request-access",
    "access-requests",
    "mark",
    "run",
    "facets",
    "favourite",
    "refresh",
    "toggle-out-of-scope",
    "palette",
    "databases",
)

# the run grid (e)
RUN_BINDINGS: list[BindingType] = [
    Binding("enter", "open_output", "Output", id="run.output"),
    # x asks: the node under the cursor, or every node still running; X cancels all at once
    Binding("x", "cancel", "Cancel", id="run.cancel"),
    Binding("X", "cancel_all", "Cancel all", key_display="X", id="run.cancel-all"),
    Binding("y", "copy", "Copy output", id="run.copy"),
    Binding("escape", "close", "Close", id="run.close"),
]

RUN_OUTPUT_BINDINGS: list[BindingType] = [
    Binding("y", "copy", "Copy output", id="run-output.copy"),
    Binding("escape,enter", "close", "Close", id="run-output.close"),
]

RUN_DIALOG_BINDINGS: list[BindingType] = [
    Binding("ctrl+o", "documents", "Document", id="run-dialog.documents"),
    Binding("escape", "cancel", "Cancel", id="run-dialog.cancel"),
]

RUN_CANCEL_BINDINGS: list[BindingType] = [
    Binding("n", "choose('node')", "This node", id="run-cancel.node"),
    Binding("a", "choose('all')", "Every node", id="run-cancel.all"),
    Binding("escape", "choose('')", "Keep running", id="run-cancel.keep"),
]

RUNS_BINDINGS: list[BindingType] = [
    Binding("escape,E", "close", "Close", id="runs.close"),
]

FORWARDS_BINDINGS: list[BindingType] = [
    Binding("x", "stop", "Stop forward", id="forwards.stop"),
    Binding("s", "restart", "Restart expired", id="forwards.restart"),
    Binding("c", "copy", "Copy client", id="forwards.copy"),
    Binding("escape,F", "close", "Close", id="forwards.close"),
]

# the databases panel (D)
DATABASES_BINDINGS: list[BindingType] = [
    Binding("enter", "open", "Open tunnel", id="databases.open"),
    Binding("c", "client", "Client, signed in", id="databases.client"),
    Binding("b", "next_bastion", "Next bastion", id="databases.bastion"),
    Binding("R", "refresh", "Refresh", key_display="R", id="databases.refresh"),
    Binding("escape,D", "close", "Close", id="databases.close"),
]

# the just-in-time access requests panel (A)
ACCESS_REQUESTS_BINDINGS: list[BindingType] = [
    Binding("enter", "use", "Use approved", id="access-requests.use"),
    Binding("a", "new", "New request", id="access-requests.new"),
    Binding("g", "check", "Check now", id="access-requests.check"),
    Binding("escape,A", "close", "Close", id="access-requests.close"),
]

# the sessions panel (S)
SESSIONS_BINDINGS: list[BindingType] = [
    Binding("x", "terminate", "Terminate", id="sessions.terminate"),
    Binding("X", "terminate_all", "Terminate all", key_display="X", id="sessions.terminate-all"),
    Binding("R", "refresh", "Refresh", key_display="R", id="sessions.refresh"),
    Binding("escape,S", "close", "Close", id="sessions.close"),
]
