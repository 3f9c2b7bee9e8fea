"""The doctor's report in the TUI (palette: "app: doctor"): the same lines as `--doctor`, found
in a worker (it calls AWS), shown as plain text (they quote ARNs and messages from AWS)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from sessiontui.ui.plain import plain

if TYPE_CHECKING:
    from sessiontui.core.abilities import Report
    from sessiontui.runtime import Runtime


class DoctorScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        ("escape", "close", "Close"),
        ("R", "refresh", "Check again"),
    ]

    DEFAULT_CSS = """
    DoctorScreen { align: center middle; }
    DoctorScreen > Vertical {
        width: 95%; height: 85%; border: round $primary; background: $surface; padding: 0 1;
    }
    DoctorScreen VerticalScroll { height: 1fr; }
    DoctorScreen .hint { color: $text-muted; }
    """

    def __init__(self, runtime: Runtime) -> None:
        super().__init__()
        self.runtime = runtime
        self.report: Report | None = None

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = "Doctor: what is set up and what is missing"
            with VerticalScroll():
                yield Static("checking…", id="doctor-report")
            yield Static("R check again · Esc close", classes="hint")

    def on_mount(self) -> None:
        self.check()

    @work(thread=True, group="doctor", exclusive=True, exit_on_error=False)
    def check(self) -> None:
        from sessiontui.operations.doctor import diagnose

        try:
            # no prompt from a worker: accesses not held yet are reported, not obtained
            report = diagnose(self.runtime, None)
        except Exception as exc:  # the report is for the operator: words, never a crash
            self.app.call_from_thread(self._failed, getattr(exc, "message", str(exc)))
            return
        self.app.call_from_thread(self._show, report)

    def _show(self, report: Report) -> None:
        self.report = report
        summary = "all is well" if report.ok else "something is missing"
        text = "\n".join([*report.lines(), "", summary])
        self.query_one("#doctor-report", Static).update(plain(text))

    def _failed(self, why: str) -> None:
        self.query_one("#doctor-report", Static).update(plain(f"the doctor failed: {why}"))

    def action_refresh(self) -> None:
        self.query_one("#doctor-report", Static).update("checking…")
        self.check()

    def action_close(self) -> None:
        self.dismiss(None)


def open_doctor(app: Any) -> None:
    if isinstance(app.screen, DoctorScreen):
        return
    runtime = app.services.runtime
    if runtime is None:
        app.notify("the doctor needs sessiontui's runtime", severity="warning")
        return
    app.push_screen(DoctorScreen(runtime))
