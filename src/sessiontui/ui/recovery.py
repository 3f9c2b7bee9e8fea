"""At TUI start: end the sessions a killed sessiontui left open, in a worker after the first frame.

The journal read and any DescribeSessions/TerminateSession calls run in a thread, so the first
frame never waits for them (docs/performance.md); the operator is told which sessions were ended
and which could not be.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sessiontui.ui.app import SessiontuiApp


def start_recovery(app: SessiontuiApp) -> None:
    runtime = app.services.runtime
    if runtime is None or not hasattr(runtime, "recover_sessions"):
        return

    def work() -> None:
        try:
            lines = list(runtime.recover_sessions())
        except Exception as exc:  # the journal stays for the next start
            lines = [f"could not check the session journal: {exc}"]
        if lines:
            app.call_from_thread(_tell, app, lines)

    app.run_worker(work, thread=True, group="recovery", exit_on_error=False)


def _tell(app: SessiontuiApp, lines: list[str]) -> None:
    failed = any(line.startswith("could not") for line in lines)
    app.notify(
        "\n".join(lines),
        title="sessions left open by an earlier sessiontui",
        severity="warning" if failed else "information",
        timeout=20,
    )
