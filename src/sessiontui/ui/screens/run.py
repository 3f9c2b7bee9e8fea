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
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen, Screen
from textual.widget import Widget
from textual.widgets import Button, DataTable, Input, OptionList, Static
from textual.widgets.option_list import Option

from sessiontui.core.errors import SessiontuiError
from sessiontui.core.run import (
    DEFAULT_CONCURRENCY,
    DEFAULT_ERRORS,
    SCRIPT_DOCUMENTS,
    NodeRun,
    Preview,
    parse_concurrency,
    parse_errors,
    parse_timeout,
    summary,
)
from sessiontui.ui.compositor import CroppedCompositor
from sessiontui.ui.keys import (
    RUN_BINDINGS,
    RUN_CANCEL_BINDINGS,
    RUN_DIALOG_BINDINGS,
    RUN_OUTPUT_BINDINGS,
    RUNS_BINDINGS,
)
from sessiontui.ui.plain import plain, plain_cell, plain_lines
from sessiontui.ui.screens.documents import DocumentPicker, DocumentSource
from sessiontui.ui.widgets.dialog_input import DialogInput
from sessiontui.ui.widgets.run_grid import RunGrid

if TYPE_CHECKING:
    from sessiontui.config import Config
    from sessiontui.operations.run_command import CommandRun, RunSpec

SCRIPTS = "Document: AWS-RunShellScript (AWS-RunPowerShellScript on Windows nodes)"
GRID_COLUMNS = ("NODE", "ACCOUNT", "REGION", "STATUS", "EXIT", "TIME", "OUTPUT")
LINE_MAX = 120  # the grid's output column: the first line, cut
FIXED_WIDTHS = {"STATUS": 13, "EXIT": 4, "TIME": 7, "OUTPUT": 60}


@dataclass(frozen=True)
class RunRequest:
    """What the dialog returns: the command (a script, or a document and its parameters), its
    limits, the reason."""

    script: str
    reason: str
    max_concurrency: str
    max_errors: str
    document: str = ""  # "": the script document for each node's platform
    parameters: Mapping[str, Sequence[str]] = field(default_factory=dict)
    timeout: int | None = None  # the script's execution timeout, in seconds
    platforms: tuple[str, ...] = ()  # what the chosen document runs on


class RunDialog(ModalScreen[RunRequest | None]):
    """`e`: who the run reaches (and who not, and why), the command or a document from the
    account with its parameters, the execution timeout, the limits, the reason."""

    BINDINGS: ClassVar[list[BindingType]] = RUN_DIALOG_BINDINGS
    DEFAULT_CSS = """
    RunDialog { align: center middle; }
    RunDialog > VerticalScroll {
        width: 100; height: auto; max-height: 95%; border: thick $primary;
        background: $surface; padding: 0 1;
    }
    RunDialog #run-preview { height: auto; max-height: 10; }
    RunDialog #run-document-row { height: auto; }
    RunDialog #run-document { width: 1fr; }
    RunDialog #run-params { height: auto; }
    RunDialog .error { color: $text-error; }
    RunDialog .hint { color: $text-muted; }
    """

    def __init__(
        self,
        preview: Preview,
        reason_required: str,
        reason: str = "",
        documents: DocumentSource | None = None,
        replan: Callable[[str, Sequence[str]], Preview] | None = None,
    ) -> None:
        super().__init__()
        self.preview = preview
        self.reason_required = reason_required  # the access that requires one, or ""
        self.reason = reason
        self.documents = documents  # None: scripts only (no account to list documents from)
        self.replan = replan  # the preview again for a chosen document's platforms
        self.document: dict[str, Any] | None = None  # the chosen ListDocuments row
        self.parameters: list[dict[str, Any]] = []

    def compose(self) -> ComposeResult:
        with VerticalScroll() as box:
            box.border_title = "Run command"
            yield Static(plain_lines("\n".join(self.preview.lines())), id="run-preview")
            with Horizontal(id="run-document-row"):
                yield Static(SCRIPTS, id="run-document")
                if self.documents is not None:
                    yield Button("Document... (ctrl+o)", id="run-choose-document")
            yield Static("Command:", id="run-command-label")
            yield DialogInput(placeholder="uptime", id="run-command")
            yield Vertical(id="run-params")
            yield Static("Execution timeout (seconds, or 10m, 2h; AWS's default 3600):")
            yield DialogInput(value="3600", id="run-timeout")
            yield Static(
                "Reason"
                + (f" (required by {self.reason_required}):" if self.reason_required else ":")
                + " the command's comment, and in the audit log"
            )
            yield DialogInput(value=self.reason, placeholder="TICKET-123", id="run-reason")
            yield Static("Max concurrency, max errors (N or N%; AWS's defaults 50 and 0):")
            yield DialogInput(value=DEFAULT_CONCURRENCY, id="run-concurrency")
            yield DialogInput(value=DEFAULT_ERRORS, id="run-errors")
            yield Static("", id="run-error", classes="error")

    def on_mount(self) -> None:
        self.query_one("#run-command", Input).focus()

    @on(Button.Pressed, "#run-choose-document")
    def _choose_pressed(self) -> None:
        self.action_documents()

    def action_documents(self) -> None:
        if self.documents is None:
            return
        self.app.push_screen(DocumentPicker(self.documents), self._picked)

    def _picked(self, row: dict[str, Any] | None) -> None:
        if row is None:
            return
        name = str(row.get("Name", ""))
        if name in SCRIPT_DOCUMENTS:
            self.document, self.parameters = None, []
            self._show_document([])
            return
        self.document = row
        self.query_one("#run-document", Static).update(
            plain(f"Document: {name} (loading its parameters...)")
        )
        self._describe(name)

    @work(thread=True, exclusive=True, group="run-document")
    def _describe(self, name: str) -> None:
        assert self.documents is not None
        try:
            found = self.documents.parameters(name)
        except SessiontuiError as exc:
            self.app.call_from_thread(self._error, exc.message)
            return
        self.app.call_from_thread(self._show_document, found)

    def _error(self, message: str) -> None:
        self.query_one("#run-error", Static).update(plain(message))

    def _show_document(self, parameters: list[dict[str, Any]]) -> None:
        """The chosen document and its parameters as a form (defaults filled in)."""
        self.parameters = parameters
        row = self.document
        label = self.query_one("#run-document", Static)
        command = self.query_one("#run-command", Input)
        form = self.query_one("#run-params", Vertical)
        form.remove_children()
        command.display = row is None
        self.query_one("#run-command-label", Static).display = row is None
        if row is None:
            label.update(SCRIPTS)
            command.focus()
        else:
            runs_on = "/".join(str(p) for p in row.get("PlatformTypes") or []) or "-"
            label.update(plain(f"Document: {row.get('Name', '')} (runs on {runs_on})"))
            fields: list[Widget] = []
            for n, p in enumerate(parameters):
                default = str(p.get("DefaultValue", ""))
                required = "DefaultValue" not in p
                fields.append(
                    Static(
                        plain(
                            f"{p.get('Name', '')}{' (required)' if required else ''}: "
                            f"{p.get('Description', '')}"
                        ),
                        classes="hint",
                    )
                )
                fields.append(DialogInput(value=default, id=f"run-param-{n}"))
            if not fields:
                fields.append(Static("(no parameters)", classes="hint"))
            form.mount(*fields)
            if parameters:
                self.call_after_refresh(lambda: self.query_one("#run-param-0", Input).focus())
        if self.replan is not None:
            name = "" if row is None else str(row.get("Name", ""))
            platforms = [] if row is None else [str(p) for p in row.get("PlatformTypes") or []]
            self.preview = self.replan(name, platforms)
            self.query_one("#run-preview", Static).update(
                plain_lines("\n".join(self.preview.lines()))
            )

    def submit(self, field: Input) -> None:
        def value(name: str) -> str:
            return self.query_one(f"#{name}", Input).value.strip()

        error = self.query_one("#run-error", Static)
        document = str(self.document.get("Name", "")) if self.document else ""
        script = value("run-command") if not document else ""
        if not document and not script:
            error.update("type a command to run")
            return
        parameters: dict[str, list[str]] = {}
        for n, p in enumerate(self.parameters):
            given = self.query_one(f"#run-param-{n}", Input).value
            if given.strip():
                parameters[str(p.get("Name", ""))] = given.splitlines() or [given]
            elif "DefaultValue" not in p:
                error.update(plain(f"{p.get('Name', '')} is required by {document}"))
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
            timeout = parse_timeout(value("run-timeout")) if not document else None
        except SessiontuiError as exc:
            error.update(plain(exc.message))
            return
        platforms = tuple(str(p) for p in (self.document or {}).get("PlatformTypes") or [])
        self.dismiss(
            RunRequest(
                script,
                reason,
                concurrency,
                errors,
                document=document,
                parameters=parameters,
                timeout=timeout,
                platforms=platforms,
            )
        )

    def action_cancel(self) -> None:
        self.dismiss(None)


class RunProgress(Message):
    """From the run's worker: copies of the rows that changed since its last message (every row
    the first time), and what happened. `cells`: the grid's cells that changed, by row (column
    index -> cell), made off the UI thread; None: the screen finds them itself."""

    def __init__(
        self,
        rows: list[NodeRun],
        note: str = "",
        finished: bool = False,
        cells: list[tuple[str, dict[int, Text]]] | None = None,
    ) -> None:
        super().__init__()
        self.rows = rows
        self.note = note
        self.finished = finished
        self.cells = cells


def grid_texts(r: NodeRun) -> tuple[str, ...]:
    """What the grid shows of a node, column by column."""
    took = f"{r.seconds:.1f}s" if r.seconds is not None else ""
    code = "" if r.exit_code is None else str(r.exit_code)
    return (r.name, r.account or "-", r.region, r.status, code, took, r.line[:LINE_MAX])


def changed_cells(was: NodeRun | None, now: NodeRun) -> dict[int, Text]:
    """The grid's cells of `now` that differ from `was`'s, by column index (all of a new row)."""
    old = grid_texts(was) if was is not None else ()
    return {
        n: plain_cell(text)
        for n, text in enumerate(grid_texts(now))
        if n >= len(old) or old[n] != text
    }


class RunScreen(Screen[None]):
    """The live grid: one row a node (status, exit code, duration, first line of output)."""

    BINDINGS: ClassVar[list[BindingType]] = RUN_BINDINGS
    # docked, the title and the summary stay in view over a grid of any length: in the flow, a
    # grid taller than the screen pushed the summary below it and the screen scrolled.
    # No scrollbar on the grid: the cursor's row/count at the title's right stands in for it
    # (as in the fleet list); repainting the bar on every scrolled row was 40% of a step's frame
    # and most of the garbage a step made
    DEFAULT_CSS = """
    RunScreen #run-head { dock: top; height: auto; }
    RunScreen #run-title { width: 1fr; }
    RunScreen #run-position { width: auto; }
    RunScreen #run-grid { scrollbar-size-vertical: 0; }
    RunScreen #run-summary { dock: bottom; height: auto; }
    """

    def __init__(
        self,
        run: CommandRun | None,
        rows: Sequence[NodeRun],
        title: str,
        keep: Callable[[CommandRun], None] | None = None,
    ) -> None:
        super().__init__()
        # as the fleet screen's: a cursor step renders the grid's lines alone, and its frames
        # leave no cyclic garbage behind (ui/compositor.py)
        self._compositor = CroppedCompositor()
        self.run = run  # None: a recent run, opened again from the state folder
        self.rows = [copy.copy(r) for r in rows]
        self.places = {r.node_id: i for i, r in enumerate(self.rows)}  # node id -> its row
        self.counted = 0  # the rows the position figure counts
        self.title_text = title
        self.keep = keep  # called in the worker once the run is over (the runs store)
        self.finished = run is None
        self.notes: list[str] = []
        self._stop = threading.Event()

    def compose(self) -> ComposeResult:
        with Horizontal(id="run-head"):
            yield Static(plain(self.title_text), id="run-title")
            yield Static("", id="run-position")
        yield RunGrid(id="run-grid", zebra_stripes=True)
        yield Static("", id="run-summary")

    def on_mount(self) -> None:
        table = self.grid
        # what changes as the run goes gets its width up front: cells updated in place do not
        # widen their column (names, accounts and regions are there from the start)
        for label in GRID_COLUMNS:
            table.add_column(label, width=FIXED_WIDTHS.get(label))
        for r in self.rows:
            table.add_row(*self._cells(r), key=r.node_id)
        self._show_summary()
        self.call_after_refresh(self._show_position)
        table.focus()
        if self.run is not None:
            self._follow(self.run, {r.node_id: r for r in self.rows})

    def on_unmount(self) -> None:
        self._stop.set()  # the run goes on in AWS; its worker stops polling

    @property
    def grid(self) -> RunGrid:
        return self.query_one("#run-grid", RunGrid)

    @staticmethod
    def _cells(r: NodeRun) -> tuple[Text, ...]:
        return tuple(plain_cell(text) for text in grid_texts(r))

    @on(DataTable.RowHighlighted, "#run-grid")
    def _show_position(self) -> None:
        """`cursor/count`, when the rows are more than the grid shows."""
        grid = self.grid
        header = grid.header_height if grid.show_header else 0
        fits = grid.row_count <= grid.scrollable_content_region.height - header
        count = f"{grid.row_count:,}"
        text = "" if fits else f" {grid.cursor_row + 1:>{len(count)},}/{count}"
        self.counted = grid.row_count
        shown = self.query_one("#run-position", Static)
        # as wide as the count, whatever the row: no new layout of the screen a step
        shown.update(text, layout=len(text) != shown.content_size.width)

    def on_resize(self) -> None:
        self.call_after_refresh(self._show_position)  # once the grid has its new height

    def _show_summary(self) -> None:
        text = summary(self.rows)
        if self.run is not None and not self.finished:
            text += "  (running: x cancels this node or all, X all)"
        if self.notes:
            text += "\n" + "\n".join(self.notes[-3:])
        shown = self.query_one("#run-summary", Static)
        width = shown.content_size.width
        shown.update(plain_lines(text), layout=not width)
        # a new layout repaints the whole screen: only when the summary's height changes
        height = shown.content_size.height
        if width and shown.get_content_height(self.size, self.size, width) != height:
            shown.refresh(layout=True)
            self.call_after_refresh(self._show_position)  # the grid's height changed with it

    @work(thread=True, exclusive=True, group="run")
    def _follow(self, run: CommandRun, posted: dict[str, NodeRun]) -> None:
        """`posted`: each node as the grid last had it (its copy); kept up to date here."""

        def report(note: str = "", finished: bool = False) -> None:
            # what moved since: a poll changes tens of 1,000 rows, and copying (then comparing)
            # all of them every poll was most of the grid's work while a run went on. The cells
            # that changed are made here too: on the UI thread, a poll that finished 900 nodes
            # made and compared 6,300 cells, a 200-330 ms stall (cProfile, bench.run_grid)
            rows = [copy.copy(r) for r in run.runs if posted.get(r.node_id) != r]
            cells = [(r.node_id, changed_cells(posted.get(r.node_id), r)) for r in rows]
            posted.update((r.node_id, r) for r in rows)
            shown = [(key, changed) for key, changed in cells if changed]
            self.post_message(RunProgress(rows, note, finished, shown))

        try:
            if run.commands:  # sent already: watch it
                run.follow(lambda r: None, stop=self._stop, on_poll=report)
            else:
                run.send_and_follow(
                    lambda r: None,
                    stop=self._stop,
                    on_poll=report,
                    on_problem=lambda problem: report(f"not sent: {problem}"),
                )
        except SessiontuiError as exc:
            report("; ".join(exc.lines()), finished=True)
            return
        if self.keep is not None and run.commands:
            self.keep(run)  # closed early too: kept as it stood, for E
        report(finished=True)

    @on(RunProgress)
    def _progress(self, message: RunProgress) -> None:
        table = self.grid
        added: set[str] = set()
        found: list[tuple[str, dict[int, Text]]] = []
        for new in message.rows:
            i = self.places.get(new.node_id)
            if i is None:  # reached by the tag, not in the listing: a row more
                self.places[new.node_id] = len(self.rows)
                self.rows.append(new)
                table.add_row(*self._cells(new), key=new.node_id)
                added.add(new.node_id)
                continue
            if message.cells is None:
                found.append((new.node_id, changed_cells(self.rows[i], new)))
            self.rows[i] = new
        cells = found if message.cells is None else message.cells
        # the rows are the screen's at once (the summary, Enter, y); the grid shows them
        # over the next frames, and the run is over once it has
        table.update_rows(
            [(key, changed) for key, changed in cells if changed and key not in added],
            then=self._finish if message.finished else None,
        )
        if table.row_count != self.counted:  # rows added: the position's count
            self.call_after_refresh(self._show_position)
        if message.note:
            self.notes.append(message.note)
        self._show_summary()

    def _finish(self) -> None:
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

    def action_cancel(self) -> None:
        """`x`: the node under the cursor or every node still running, as the operator says."""
        if self.run is None or self.finished:
            self.notify("nothing left to cancel: the run is over", timeout=3)
            return
        row = self.selected()
        one = row if row is not None and not row.done else None
        running = sum(1 for r in self.rows if not r.done)

        def chosen(answer: str | None) -> None:
            if answer == "node" and one is not None:
                self._cancel(one.node_id)
            elif answer == "all":
                self._cancel(None)

        self.app.push_screen(CancelChoice(one.name if one else "", running), chosen)

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


class CancelChoice(ModalScreen[str | None]):
    """`x` in the grid: cancel this node (when it still runs) or every node still running."""

    BINDINGS: ClassVar[list[BindingType]] = RUN_CANCEL_BINDINGS
    DEFAULT_CSS = """
    CancelChoice { align: center middle; }
    CancelChoice > Vertical {
        width: 70; height: auto; border: thick $warning; background: $surface; padding: 0 1;
    }
    """

    def __init__(self, node: str, running: int) -> None:
        super().__init__()
        self.node = node  # "" when the cursor's node is over
        self.running = running

    def compose(self) -> ComposeResult:
        options = []
        if self.node:
            options.append(Option(plain(f"n  this node: {self.node}"), id="node"))
        options.append(Option(plain(f"a  every node still running ({self.running})"), id="all"))
        options.append(Option("Esc  keep running", id="keep"))
        with Vertical() as box:
            box.border_title = "Cancel (CancelCommand)"
            yield OptionList(*options, id="cancel-choice")

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()

    @on(OptionList.OptionSelected)
    def _picked(self, event: OptionList.OptionSelected) -> None:
        self.action_choose(event.option.id or "")

    def action_choose(self, what: str) -> None:
        if what == "node" and not self.node:
            return
        self.dismiss(what if what in ("node", "all") else None)


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
        if r.log_streams:
            parts += ["", f"CloudWatch Logs: {r.log_streams}"]
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
        document=request.document,
        parameters=request.parameters,
        timeout=request.timeout,
        max_concurrency=request.max_concurrency,
        max_errors=request.max_errors,
        reason=request.reason,
        s3_bucket=getattr(run_config, "s3_bucket", "") or "",
        cloudwatch_log_group=getattr(run_config, "cloudwatch_log_group", "") or "",
    )
