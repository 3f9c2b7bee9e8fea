"""Choose access (a role, or another source's offer) and how long to hold it; checked against
AWS's limits before any MFA code."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from sessiontui.core.access import Offer
from sessiontui.core.durations import (
    ABSOLUTE_MAX,
    CHAINED_MAX,
    chaining_warning,
    check_duration,
    format_duration,
    format_remaining,
    parse_duration,
)
from sessiontui.core.errors import SessiontuiError
from sessiontui.ui.plain import plain
from sessiontui.ui.widgets.dialog_input import DialogInput, StepList


@dataclass(frozen=True)
class RoleChoice:
    offer: Offer
    duration: int | None  # None where the source fixes it


@dataclass
class RoleLine:
    """What the picker shows per offer (plus what it learns while open)."""

    offer: Offer
    duration: int
    max_duration: int | None
    remaining: float | None  # seconds of access already held


NAME_WIDTH_MAX = 30  # a longer name (an Identity Center ACCOUNT/SET) pushes its own line only


def name_width(lines: list[RoleLine]) -> int:
    """The names' column: the longest name up to NAME_WIDTH_MAX, so the details line up."""
    fitting = [len(line.offer.name) for line in lines if len(line.offer.name) <= NAME_WIDTH_MAX]
    return max(fitting, default=14)


def role_label(line: RoleLine, width: int = 14) -> str:
    offer = line.offer
    if offer.fixed_duration and not line.duration:
        parts = ["duration set by the permission set"] if offer.account_name else []
    elif offer.fixed_duration:
        parts = [f"{format_duration(line.duration)} (set by {offer.source})"]
    else:
        parts = [f"default {format_duration(line.duration)}"]
        parts.append(
            f"max {format_duration(line.max_duration)}" if line.max_duration else "max unknown"
        )
    if line.remaining:
        parts.append(f"cached {format_remaining(line.remaining)} left")
    if offer.scope:
        parts.append("scope " + " ".join(f"{k}={v}" for k, v in offer.scope.items()))
    if offer.reason_required:
        parts.append("reason required")
    if offer.detail:
        parts.append(offer.detail)
    return f"{offer.name:<{width}} " + " · ".join(parts)


def validate_duration(text: str, role_max: int | None, chained: bool) -> tuple[int | None, str]:
    """(seconds, "") when acceptable, else (None, why) in the operator's words."""
    try:
        seconds = parse_duration(text)
        check_duration(seconds, role_max, chained)
    except SessiontuiError as exc:
        return None, exc.message
    return seconds, ""


class RolePickerScreen(ModalScreen[RoleChoice | None]):
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="roles.cancel")]

    DEFAULT_CSS = """
    RolePickerScreen { align: center middle; }
    RolePickerScreen > Vertical {
        width: 96; max-width: 100%; height: auto; max-height: 90%;
        border: round $primary; background: $surface; padding: 0 1;
    }
    RolePickerScreen OptionList { height: auto; max-height: 12; border: none; }
    RolePickerScreen #duration { width: 24; }
    RolePickerScreen .error { color: $text-error; }
    RolePickerScreen .warning { color: $text-warning; }
    RolePickerScreen .hint { color: $text-muted; }
    """

    def __init__(
        self,
        lines: list[RoleLine],
        *,
        preselect: str | None = None,
        duration: int | None = None,
        probe: Callable[[Offer], tuple[bool | None, int | None]] | None = None,
    ) -> None:
        super().__init__()
        self.lines = lines
        self.preselect = preselect
        self.duration_override = duration
        # (chained, role max) learnt from AWS in a worker; the picker works without them
        self.probe = probe
        self.chained: dict[str, bool] = {}  # offer name -> its credentials would chain
        self.search = ""  # typed while the list has focus: narrows it (many accounts' sets)
        self.shown: list[RoleLine] = list(lines)
        self.name_width = name_width(lines)
        self._chosen = False  # dismissed already (Enter, Enter typed at once on a fixed line)

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = "Take a role"
            yield StepList(
                *[Option(plain(self._label(line)), id=line.offer.name) for line in self.lines],
                next_field="#duration",
                typed=self._typed,
                id="role-options",
            )
            yield Static("type to search", id="role-search", classes="hint")
            yield Static("Duration (15m minimum; e.g. 45m, 2h, 1h30m):")
            yield DialogInput(id="duration", placeholder="2h")
            yield Static("", id="duration-check", classes="error")
            yield Static("", id="chaining", classes="warning")
            yield Static(
                "Enter on a role moves to its duration; Enter there takes the role (a fixed one "
                "at once). Esc cancels.",
                classes="hint",
            )

    def on_mount(self) -> None:
        options = self.query_one(OptionList)
        index = 0
        for i, line in enumerate(self.lines):
            if line.offer.name == self.preselect:
                index = i
        options.highlighted = index if self.lines else None
        self._fill_duration()
        options.focus()
        if self.probe is not None:
            self._probe_all()

    def _label(self, line: RoleLine) -> str:
        return role_label(line, self.name_width)

    @property
    def current(self) -> RoleLine | None:
        index = self.query_one(OptionList).highlighted
        return self.shown[index] if index is not None and 0 <= index < len(self.shown) else None

    def _typed(self, event: events.Key) -> bool:
        """Letters typed on the list narrow it; Backspace widens it again."""
        if event.key == "backspace" and self.search:
            self._search(self.search[:-1])
        elif event.is_printable and event.character and event.character not in " ":
            self._search(self.search + event.character)
        else:
            return False
        return True

    def _search(self, text: str) -> None:
        self.search = text
        words = text.casefold().split()
        self.shown = [
            line
            for line in self.lines
            if all(w in f"{line.offer.name} {line.offer.detail}".casefold() for w in words)
        ]
        options = self.query_one(OptionList)
        options.clear_options()
        options.add_options(
            [Option(plain(self._label(line)), id=line.offer.name) for line in self.shown]
        )
        options.highlighted = 0 if self.shown else None
        found = f"{len(self.shown)} of {len(self.lines)}"
        label = f"search: {text}  ({found}; Backspace widens)" if text else "type to search"
        self.query_one("#role-search", Static).update(label)
        self._fill_duration()

    def _fill_duration(self) -> None:
        line = self.current
        if line is None:
            return
        box = self.query_one("#duration", Input)
        # nothing to choose where the source fixes it: Enter on the line takes it at once
        box.disabled = line.offer.fixed_duration
        if line.offer.fixed_duration:
            box.value = ""
            box.placeholder = "fixed"  # the line under it says by whom
            self._check()
            return
        box.placeholder = "2h"
        seconds = self.duration_override or line.duration
        if self.chained.get(line.offer.name) and not self.duration_override:
            seconds = min(seconds, CHAINED_MAX)  # the role's default, cut to AWS's cap
        box.value = format_duration(seconds)
        self._check()

    @work(thread=True, exclusive=True, group="role-probe", exit_on_error=False)
    def _probe_all(self) -> None:
        assert self.probe is not None
        for line in list(self.lines):
            try:
                chained, role_max = self.probe(line.offer)
            except Exception:
                continue  # the picker still works; AWS will judge at AssumeRole
            self.app.call_from_thread(self._learnt, line, chained, role_max)

    def _learnt(self, line: RoleLine, chained: bool | None, role_max: int | None) -> None:
        if chained is not None:
            self.chained[line.offer.name] = chained
        if role_max is not None and line.max_duration is None:
            line.max_duration = role_max
        box = self.query_one("#duration", Input)
        if chained and line is self.current and box.value == format_duration(line.duration):
            self._fill_duration()  # the default untouched: show it cut to the chaining cap
        options = self.query_one(OptionList)
        for i, candidate in enumerate(self.shown):
            if candidate is line:
                options.replace_option_prompt_at_index(i, plain(self._label(line)))
        self._check()

    def _check(self) -> int | None:
        line = self.current
        check = self.query_one("#duration-check", Static)
        chaining = self.query_one("#chaining", Static)
        if line is None:
            return None
        if line.offer.fixed_duration:
            check.update("")
            chaining.update(
                "the permission set's session duration decides (set by the administrator)"
                if line.offer.account_name
                else ""
            )
            return line.duration
        chained = self.chained.get(line.offer.name, False)
        seconds, why = validate_duration(
            self.query_one("#duration", Input).value, line.max_duration, chained
        )
        check.update(why)
        limit = line.max_duration or ABSOLUTE_MAX
        warning = chaining_warning(chained, seconds or 0) or ""
        if warning and line.duration > CHAINED_MAX:
            warning = f"1h instead of its {format_duration(line.duration)}: {warning}"
        if not warning and line.max_duration is None:
            warning = (
                f"the role's maximum is not known; AWS allows at most {format_duration(limit)}"
            )
        chaining.update(warning)
        return seconds

    @on(OptionList.OptionHighlighted)
    def _highlighted(self, _: OptionList.OptionHighlighted) -> None:
        self._fill_duration()

    @on(Input.Changed, "#duration")
    def _duration_changed(self, _: Input.Changed) -> None:
        self._check()

    @on(OptionList.OptionSelected, "#role-options")
    def _selected(self, _: OptionList.OptionSelected) -> None:
        line = self.current
        if line is not None and line.offer.fixed_duration:
            self.submit(self.query_one("#duration", Input))

    def submit(self, field: Input) -> None:
        line = self.current
        seconds = self._check()
        if line is not None and seconds is not None and not self._chosen:
            self._chosen = True
            fixed = line.offer.fixed_duration
            self.dismiss(RoleChoice(line.offer, None if fixed else seconds))

    def action_cancel(self) -> None:
        self.dismiss(None)


def role_lines(offers: list[Offer], remaining: Callable[[Offer], float | None]) -> list[RoleLine]:
    """Picker lines for the offers, with the seconds left on access already held."""
    return [RoleLine(o, o.default_duration or 0, o.max_duration, remaining(o)) for o in offers]
