"""The command palette: every operator action as "category: action"."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider


@dataclass(frozen=True)
class PaletteCommand:
    title: str
    action: str  # an action of the fleet screen (or "app.<name>")
    help: str


PALETTE: tuple[PaletteCommand, ...] = (
    PaletteCommand("session: connect", "connect", "Open a shell on the selected node"),
    PaletteCommand(
        "session: shell in a new window",
        "window_shell",
        "The selected node's shell in a new tmux window (or terminal_command)",
    ),
    PaletteCommand("session: port forward", "forward", "Forward a local port to the node"),
    PaletteCommand("session: forwards panel", "forwards", "Running port forwards"),
    PaletteCommand(
        "session: active sessions", "app.sessions", "Your Active sessions; terminate one or all"
    ),
    PaletteCommand(
        "session: databases",
        "app.databases",
        "RDS, Aurora and ElastiCache behind the fleet: tunnel and signed-in client",
    ),
    PaletteCommand("role: switch", "role", "Choose a role and take it with MFA"),
    PaletteCommand("role: re-authenticate", "reauthenticate", "Take the current role again"),
    PaletteCommand(
        "access: request node access",
        "request_access",
        "Ask for just-in-time access to the selected node, with a reason",
    ),
    PaletteCommand(
        "access: requests panel", "access_requests", "Your just-in-time access requests"
    ),
    PaletteCommand("fleet: refresh", "refresh", "List the fleet again"),
    PaletteCommand("fleet: filter", "focus_filter", "Type a filter"),
    PaletteCommand("fleet: clear filter", "clear_filter", "Show every node"),
    PaletteCommand("fleet: tag facets", "facets", "Filter by tag values"),
    PaletteCommand(
        "view: toggle out-of-scope", "toggle_out_of_scope", "Show nodes outside the role's scope"
    ),
    PaletteCommand("view: toggle details", "toggle_details", "Show or hide the details pane"),
    PaletteCommand(
        "credentials: log out", "logout", "Forget cached role credentials and drop the role"
    ),
    PaletteCommand(
        "app: doctor",
        "app.doctor",
        "What is set up and what is missing: config, sign-in, clock, plugin, each access's abilities",
    ),
    PaletteCommand("app: help", "app.help", "Every key binding"),
    PaletteCommand("app: quit", "app.quit", "Leave sessiontui"),
)


class SessiontuiCommands(Provider):
    def _runner(self, command: PaletteCommand) -> Callable[[], object]:
        app = self.app
        target = getattr(app, "main_screen", None)
        if command.action.startswith("app.") or target is None:
            return partial(app.run_action, command.action)
        return partial(app.run_action, command.action, target)

    async def discover(self) -> Hits:
        for command in PALETTE:
            yield DiscoveryHit(command.title, self._runner(command), help=command.help)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for command in PALETTE:
            score = matcher.match(command.title)
            if score > 0:
                yield Hit(
                    score,
                    matcher.highlight(command.title),
                    self._runner(command),
                    text=command.title,
                    help=command.help,
                )
