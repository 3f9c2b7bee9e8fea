"""`sessiontui --sessions [--json]` and `sessiontui --terminate SESSION_ID|all`.

The CLI owns the terminal: tables and JSON go to stdout through `emit`, warnings and what was
ended to stderr through `say`.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TYPE_CHECKING

from sessiontui.core.errors import ExitCode
from sessiontui.core.untrusted import json_text, terminal_text

if TYPE_CHECKING:
    from sessiontui.runtime import Runtime

Say = Callable[[str], None]


def run_sessions(rt: Runtime, args: argparse.Namespace, say: Say, emit: Say) -> int:
    from sessiontui.operations.operator_sessions import (
        SESSION_COLUMNS,
        OperatorSessions,
        session_rows,
    )

    service = OperatorSessions(rt)
    now = rt.clock.now()
    if args.terminate:
        ended, warnings = service.terminate_ids(args.terminate.strip())
        for w in warnings:
            say(f"warning: {w}")
        failed = [e for e in ended if not e.ok]
        for e in ended:
            s = e.session
            if e.ok:
                say(f"terminated {s.session_id} ({s.target}, {s.region})")
            else:
                say(f"could not terminate {s.session_id} ({s.target}, {s.region}): {e.error}")
        if not ended:
            say("no Active session of yours to terminate")
        return int(ExitCode.AUTH) if failed else int(ExitCode.OK)
    sessions, warnings = service.active()
    for w in warnings:
        say(f"warning: {w}")
    if args.json:
        emit(json_text([s.to_json(now) for s in sessions], indent=2))
        return 0
    if not sessions:
        say(f"no Active session of yours in {', '.join(rt.regions)}")
        return 0
    emit(format_rows(SESSION_COLUMNS, session_rows(sessions, now)).rstrip("\n"))
    return 0


def format_rows(columns: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    # targets and reasons are text from AWS: shown, never obeyed, one row each
    rows = [tuple(terminal_text(c) for c in r) for r in rows]
    widths = [max([len(c)] + [len(r[i]) for r in rows]) for i, c in enumerate(columns)]
    widths[2] = min(widths[2], 40)  # a long reason must not push the ids off the screen

    def cell(text: str, width: int) -> str:
        return text if len(text) <= width else text[: width - 1] + "…"

    def line(cells: tuple[str, ...]) -> str:
        return "  ".join(cell(c, w).ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()

    return "\n".join([line(columns), *(line(r) for r in rows)]) + "\n"
