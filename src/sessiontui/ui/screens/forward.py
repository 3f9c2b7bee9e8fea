"""The port forward dialog: remote port, optional host behind the node, local port or auto."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from sessiontui.core.forward_spec import host_problem
from sessiontui.core.node import Node
from sessiontui.ui.plain import plain
from sessiontui.ui.widgets.dialog_input import DialogInput, EarlyKeysDialog, StepList


@dataclass(frozen=True)
class ForwardRequest:
    remote_port: int
    host: str | None = None
    local_port: int = 0  # 0: the plugin picks a free one
    preset: str | None = None  # the preset's name when one was used
    preset_target: str | None = None  # the preset's target; the node under the cursor otherwise


def parse_port(text: str, *, allow_zero: bool) -> tuple[int | None, str]:
    value = text.strip()
    if not value:
        return (0, "") if allow_zero else (None, "a port is required")
    if not value.isdigit():
        return None, f"{value!r} is not a port number"
    port = int(value)
    if port == 0 and allow_zero:
        return 0, ""
    if not 1 <= port <= 65535:
        return None, f"{port} is not a port (1-65535)"
    return port, ""


def preset_label(preset: Any) -> str:
    local = preset.local_port or "auto"
    where = f"{preset.host}:{preset.remote_port}" if preset.host else f":{preset.remote_port}"
    return f"{preset.name:<16} {preset.target} {where} -> local {local}"


# Placeholders say "empty" first: a dimmed "5432" in an empty field was read as a value
_HINT = "Enter in a field starts the forward. Esc cancels."


class ForwardScreen(EarlyKeysDialog[ForwardRequest | None]):
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="forward.cancel")]
    # focused as the screen comes up, before the keys typed right behind `f` are routed
    AUTO_FOCUS = "#remote-port"

    DEFAULT_CSS = """
    ForwardScreen { align: center middle; }
    ForwardScreen > Vertical {
        width: 90; max-width: 100%; height: auto; max-height: 90%;
        border: thick $primary; background: $surface; padding: 0 1;
    }
    ForwardScreen Horizontal { height: auto; }
    ForwardScreen Horizontal > Vertical { width: 25; height: auto; padding-right: 1; }
    /* the host's label and its example keep one line: the ports need less room */
    ForwardScreen Horizontal > #host-field { width: 1fr; }
    ForwardScreen OptionList { height: auto; max-height: 8; }
    ForwardScreen .error { color: $text-error; }
    ForwardScreen .hint { color: $text-muted; }
    """

    def __init__(
        self, node: Node, presets: list[Any] | None = None, refused: str | None = None
    ) -> None:
        super().__init__()
        self.node = node
        self.refused = refused  # AWS refused this access a forward already: why, in its words
        self.presets = list(presets or [])
        self.preset: Any = None

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = plain(  # a title is markup unless it is Content
                f"Forward a port through {self.node.display_name} ({self.node.id})"
            )
            if self.refused:
                # before the ports: the operator learns first that AWS will refuse it again
                yield Static(plain(self.refused), id="forward-refused", classes="error")
            if self.presets:
                yield Static("Presets (Enter fills the fields):")
                yield StepList(
                    *[
                        Option(preset_label(p), id=f"preset-{i}")
                        for i, p in enumerate(self.presets)
                    ],
                    id="presets",
                    next_field="#remote-port",
                )
            with Horizontal():
                with Vertical():
                    yield Static("Remote port (required)")
                    yield DialogInput(
                        placeholder="empty, e.g. 5432", restrict=r"\d*", id="remote-port"
                    )
                with Vertical(id="host-field"):
                    yield Static("Host behind the node")
                    yield DialogInput(placeholder="empty: the node", id="host")
                with Vertical():
                    yield Static("Local port")
                    yield DialogInput(
                        placeholder="empty: a free port", restrict=r"\d*", id="local-port"
                    )
            yield Static("", id="forward-error", classes="error")
            yield Static(_HINT, id="forward-hint", classes="hint")

    @on(OptionList.OptionSelected, "#presets")
    def _preset(self, event: OptionList.OptionSelected) -> None:
        preset = self.presets[event.option_index]
        self.preset = preset
        self.query_one("#remote-port", Input).value = str(preset.remote_port)
        self.query_one("#host", Input).value = preset.host or ""
        self.query_one("#local-port", Input).value = str(preset.local_port or "")
        self.query_one("#forward-hint", Static).update(
            f"Preset {preset.name} (target {preset.target}) filled the fields: Enter starts it. "
            "Esc cancels."
        )
        self.set_focus(self.query_one("#remote-port", Input))

    def request(self) -> tuple[ForwardRequest | None, str]:
        remote, why = parse_port(self.query_one("#remote-port", Input).value, allow_zero=False)
        if remote is None:
            return None, f"remote port: {why}"
        local, why = parse_port(self.query_one("#local-port", Input).value, allow_zero=True)
        if local is None:
            return None, f"local port: {why}"
        host = self.query_one("#host", Input).value.strip() or None
        if host and (why := host_problem(host)):
            return None, f"host: {why}"
        preset = self.preset
        if preset is not None and (preset.remote_port != remote or (preset.host or None) != host):
            preset = None  # edited after choosing: the operator's own forward, on this node
        return (
            ForwardRequest(
                remote,
                host,
                local or 0,
                preset.name if preset else None,
                preset.target if preset else None,
            ),
            "",
        )

    def submit(self, field: Input) -> None:
        request, why = self.request()
        if request is None:
            self.query_one("#forward-error", Static).update(why)
            return
        self.dismiss(request)

    def action_cancel(self) -> None:
        self.dismiss(None)
