"""Run Command in the TUI: the command dialog (with the preview), the live grid, one node's whole
output, and the recent runs.

Every AWS call runs in a thread worker (operations.run_command does the work); the worker reports
back by RunProgress messages carrying copies of the rows, so the grid only ever paints what the
event loop holds. Node names and output are text from AWS: they reach the screen only through
ui/plain.py.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen, Screen
from textual.widgets import DataTable, Input, OptionList, Static
from textual.widgets.option_list import Option

from sessiontui.core.errors import SessiontuiError
from sessiontui.core.run import NodeRun, Preview, parse_concurrency, parse_errors, summary
from sessiontui.ui.keys import RUN_BINDINGS, RUN_OUTPUT_BINDINGS, RUNS_BINDINGS
from sessiontui.ui.plain import plain, plain_cell, plain_lines
from sessiontui.ui.widgets.dialog_input import DialogInput

if TYPE_CHECKING:
    from sessiontui.config import Config
    from sessiontui.operations.run_command import CommandRun, RunSpec

GRID_COLUMNS = ("NODE", "ACCOUNT", "REGION", "STATUS", "EXIT", "TIME", "OUTPUT")
LINE_MAX = 120  # the grid's output column: the first line, cut


@dataclass(frozen=True)
class RunRequest:
    """What the dialog returns: the command and its limits, the reason."""

    script: str
    reason: str
    max_concurrency: str
    max_errors: str


class RunDialog(ModalScreen[RunRequest | None]):
    """`e`: who the run reaches (and who not, and why), the command, the limits, the reason."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="run-dialog.cancel")
    ]
    DEFAULT_CSS = """
    RunDialog { align: center middle; }
    RunDialog > Vertical {
        width: 100; height: auto; max-height: 90%; border: thick $primary;
        background: $surface; padding: 0 1;
    }
    RunDialog #run-preview { max-height: 12; }
    RunDialog .error { color: $text-error; }
    """

    def __init__(self, preview: Preview, reason_required: str, reason: str = "") -> None:
        super().__init__()
        self.preview = preview
        self.reason_required = reason_required  # the access that requires one, or ""
        self.reason = reason

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = "Run command"
            with VerticalScroll(id="run-preview"):
                yield Static(plain_lines("\n".join(self.preview.lines())))
            yield Static("Command (AWS-RunShellScript; AWS-RunPowerShellScript on Windows):")
            yield DialogInput(placeholder="uptime", id="run-command")
            yield Static(
                "Reason"
                + (f" (required by {self.reason_required}):" if self.reason_required else ":")
            )
            yield DialogInput(value=self.reason, placeholder="TICKET-123", id="run-reason")
            yield Static("Max concurrency, max errors (N or N%):")
            yield DialogInput(value="50", id="run-concurrency")
            yield DialogInput(value="0", id="run-errors")
            yield Static("", id="run-error", classes="error")

    def on_mount(self) -> None:
        self.query_one("#run-command", Input).focus()

    def submit(self, field: Input) -> None:
        def value(name: str) -> str:
            return self.query_one(f"#{name}", Input).value.strip()

        error = self.query_one("#run-error", Static)
        script = value("run-command")
        if not script:
            error.update("type a command to run")
            return
        if not self.preview.runs:
            error.update("no node to run it on: see who is left out above")
            return
        reason = value("run-reason")
        if self.reason_required and len(reason) < 3:
            error.update(f"{self.reason_required} requires a reason")
            return
        try:
            concurrency = parse_concurrency(value("run-concurrency"))
            errors = parse_errors(value("run-errors"))
        except SessiontuiError as exc:
            error.update(plain(exc.message))
            return
        self.dismiss(RunRequest(script, reason, concurrency, errors))

    def action_cancel(self) -> None:
        self.dismiss(None)


class RunProgress(Message):
    """From the run's worker: the rows as they are now, and what happened."""

    def __init__(self, rows: list[NodeRun], note: str = "", finished: bool = False) -> None:
        super().__init__()
        self.rows = rows
        self.note = note
        self.finished = finished


class RunScreen(Screen[None]):
    """The live grid: one row a node (status, exit code, duration, first line of output)."""

    BINDINGS: ClassVar[list[BindingType]] = RUN_BINDINGS

    def __init__(
        self,
        run: CommandRun | None,
        rows: Sequence[NodeRun],
        title: str,
        keep: Callable[[CommandRun], None] | None = None,
    ) -> None:
        super().__init__()
        self.run = run  # None: a recent run, opened again from the state folder
        self.rows = [copy.copy(r) for r in rows]
        self.title_text = title
        self.keep = keep  # called in the worker once the run is over (the runs store)
        self.finished = run is None
        self.notes: list[str] = []
        self._stop = threading.Event()

    def compose(self) -> ComposeResult:
        yield Static(plain(self.title_text), id="run-title")
        table: DataTable[Any] = DataTable(id="run-grid", cursor_type="row", zebra_stripes=True)
        yield table
        yield Static("", id="run-summary")

    def on_mount(self) -> None:
        table = self.grid
        table.add_columns(*GRID_COLUMNS)
        for r in self.rows:
            table.add_row(*self._cells(r), key=r.node_id)
        self._show_summary()
        table.focus()
        if self.run is not None:
            self._follow(self.run)

    @property
    def grid(self) -> DataTable[Any]:
        return self.query_one("#run-grid", DataTable)

    @staticmethod
    def _cells(r: NodeRun) -> tuple[Any, ...]:
        took = f"{r.seconds:.1f}s" if r.seconds is not None else ""
        code = "" if r.exit_code is None else str(r.exit_code)
        return (
            plain_cell(r.name),
            plain_cell(r.account or "-"),
            plain_cell(r.region),
            plain_cell(r.status),
            plain_cell(code),
            plain_cell(took),
            plain_cell(r.line[:LINE_MAX]),
        )

    def _show_summary(self) -> None:
        text = summary(self.rows)
        if self.run is not None and not self.finished:
            text += "  (running: x cancels the node, X all)"
        if self.notes:
            text += "\n" + "\n".join(self.notes[-3:])
        self.query_one("#run-summary", Static).update(plain_lines(text))

    @work(thread=True, exclusive=True, group="run")
    def _follow(self, run: CommandRun) -> None:
        def report(note: str = "", finished: bool = False) -> None:
            rows = [copy.copy(r) for r in run.runs]
            self.post_message(RunProgress(rows, note, finished))

        try:
            if not run.commands:
                for problem in run.send():
                    report(f"not sent: {problem}")
                report()
            run.follow(lambda r: None, stop=self._stop, on_poll=report)
        except SessiontuiError as exc:
            report("; ".join(exc.lines()), finished=True)
            return
        if self.keep is not None and run.commands:
            self.keep(run)  # closed early too: kept as it stood, for E
        report(finished=True)

    @on(RunProgress)
    def _progress(self, message: RunProgress) -> None:
        table = self.grid
        by_id = {r.node_id: r for r in message.rows}
        for i, old in enumerate(self.rows):
            new = by_id.get(old.node_id)
            if new is None or (new.status, new.exit_code, new.line, new.ended) == (
                old.status,
                old.exit_code,
                old.line,
                old.ended,
            ):
                continue
            self.rows[i] = new
            for column, cell in zip(table.ordered_columns, self._cells(new), strict=True):
                table.update_cell(new.node_id, column.key, cell)
        if message.note:
            self.notes.append(message.note)
        if message.finished:
            self.finished = True
        self._show_summary()

    def selected(self) -> NodeRun | None:
        table = self.grid
        if not self.rows or table.cursor_row < 0 or table.cursor_row >= len(self.rows):
            return None
        return self.rows[table.cursor_row]

    @on(DataTable.RowSelected, "#run-grid")
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        # the grid takes Enter itself (select_cursor): its selection opens the output
        event.stop()
        self.action_open_output()

    def action_open_output(self) -> None:
        row = self.selected()
        if row is not None:
            self.app.push_screen(OutputScreen(row))

    def action_copy(self) -> None:
        row = self.selected()
        if row is None:
            return
        self.app.copy_to_clipboard(row.output + (row.error and f"\n{row.error}"))
        self.notify(f"output of {row.name} copied", timeout=3)

    def action_cancel_one(self) -> None:
        row = self.selected()
        if row is not None and not row.done:
            self._cancel(row.node_id)

    def action_cancel_all(self) -> None:
        if not self.finished:
            self._cancel(None)

    @work(thread=True, group="run-cancel")
    def _cancel(self, node_id: str | None) -> None:
        if self.run is None:
            return
        problems = self.run.cancel(node_id)
        what = "cancelling " + ("every node" if node_id is None else node_id)
        self.post_message(
            RunProgress([copy.copy(r) for r in self.run.runs], "; ".join(problems) or what)
        )

    def action_close(self) -> None:
        # the run goes on in AWS; its worker stops polling (the grid can be opened again from E)
        self._stop.set()
        self.dismiss(None)


class OutputScreen(ModalScreen[None]):
    """Enter: one node's whole output, stdout and stderr, with AWS's cut said as such."""

    BINDINGS: ClassVar[list[BindingType]] = RUN_OUTPUT_BINDINGS
    DEFAULT_CSS = """
    OutputScreen { align: center middle; }
    OutputScreen > VerticalScroll {
        width: 90%; height: 90%; border: thick $primary; background: $surface; padding: 0 1;
    }
    """

    def __init__(self, row: NodeRun) -> None:
        super().__init__()
        self.row = row

    def text(self) -> str:
        r = self.row
        code = "" if r.exit_code is None else f", exit {r.exit_code}"
        parts = [f"{r.name} ({r.node_id}, {r.account or '-'} {r.region}): {r.status}{code}", ""]
        parts += ["stdout:", r.output or "(nothing)"]
        if r.output_cut:
            parts.append("(AWS keeps only the first 24,000 characters of stdout)")
        parts += ["", "stderr:", r.error or "(nothing)"]
        if r.error_cut:
            parts.append("(AWS keeps only the first 8,000 characters of stderr)")
        if r.output_url or r.error_url:
            parts += ["", f"whole output: {r.output_url or r.error_url}"]
        if r.note:
            parts += ["", r.note]
        return "\n".join(parts)

    def compose(self) -> ComposeResult:
        with VerticalScroll() as box:
            box.border_title = "Output"
            yield Static(plain_lines(self.text()), id="run-output")

    def action_copy(self) -> None:
        self.app.copy_to_clipboard(self.row.output + (self.row.error and f"\n{self.row.error}"))
        self.notify(f"output of {self.row.name} copied", timeout=3)

    def action_close(self) -> None:
        self.dismiss(None)


class RecentRunsScreen(ModalScreen[dict[str, Any] | None]):
    """`E`: the runs kept in the state folder, newest first; Enter opens one's grid."""

    BINDINGS: ClassVar[list[BindingType]] = RUNS_BINDINGS
    DEFAULT_CSS = """
    RecentRunsScreen { align: center middle; }
    RecentRunsScreen > Vertical {
        width: 100; height: 80%; border: thick $primary; background: $surface; padding: 0 1;
    }
    """

    def __init__(self, runs: list[dict[str, Any]]) -> None:
        super().__init__()
        self.runs = runs

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = "Recent runs"
            options = [Option(plain(_run_label(r))) for r in self.runs]
            if not options:
                yield Static("no run kept yet: `e` runs a command on the marked or listed nodes")
            yield OptionList(*options, id="runs-list")

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(self.runs[event.option_index])

    def action_close(self) -> None:
        self.dismiss(None)


def _run_label(record: dict[str, Any]) -> str:
    nodes = [NodeRun.from_json(n) for n in record.get("nodes", []) if isinstance(n, dict)]
    when = str(record.get("started") or "")[:19].replace("T", " ")
    what = str(record.get("script") or record.get("document") or "")
    return f"{when}  {what.splitlines()[0] if what else '-'}  ({summary(nodes)})"


def saved_rows(record: dict[str, Any]) -> list[NodeRun]:
    return [NodeRun.from_json(n) for n in record.get("nodes", []) if isinstance(n, dict)]


def run_spec(request: RunRequest, config: Config | None) -> RunSpec:
    from sessiontui.operations.run_command import RunSpec

    run_config = config.run if config is not None else None
    return RunSpec(
        script=request.script,
        max_concurrency=request.max_concurrency,
        max_errors=request.max_errors,
        reason=request.reason,
        s3_bucket=getattr(run_config, "s3_bucket", "") or "",
        cloudwatch_log_group=getattr(run_config, "cloudwatch_log_group", "") or "",
    )
