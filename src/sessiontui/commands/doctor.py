"""`sessiontui --doctor [--json]`: the doctor's report on stdout, exit 0 when all is well, else 1."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from sessiontui.core.untrusted import json_text, terminal_text

if TYPE_CHECKING:
    from sessiontui.runtime import Runtime


def run_doctor(
    rt: Runtime,
    as_json: bool,
    emit: Callable[[str], None],
    ask: Callable[[str], str | None] | None = None,
) -> int:
    from sessiontui.operations.doctor import diagnose

    report = diagnose(rt, ask)
    if as_json:
        emit(json_text(report.to_json()))
    else:
        # the lines quote ARNs, tags and messages from AWS: one line each, controls visible
        for line in report.lines():
            emit(terminal_text(line))
    return report.exit_code
